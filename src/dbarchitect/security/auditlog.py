"""`dbarch secure audit-log`: a generic audit trail — one partitioned table, one trigger function.

Every audited row change lands in `audit.log` as who (database role and application user),
when, which tenant, which table and key, the operation, and the row as jsonb (for UPDATE only
the columns that changed). The trigger function is SECURITY DEFINER with a pinned search_path:
the application role writes audit rows through it without any privilege on the audit schema,
so it can neither read nor rewrite the trail.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from dbarchitect.dialects.postgres.quoting import literal as _literal
from dbarchitect.dialects.postgres.quoting import qname as _qname
from dbarchitect.dialects.postgres.quoting import quote
from dbarchitect.errors import InputError
from dbarchitect.model import Schema, Table
from dbarchitect.security.tenancy import Tenancy

TRIGGER_NAME = "dbarch_audit"
TRUNCATE_TRIGGER = "dbarch_audit_truncate"
FUNCTION_NAME = "log_row"
USER_SETTING = "app.user_id"


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditLogPlan:
    """The migration (`up`, `down`), what to know to run it for years (`notes`), and the
    tables it audits (qualified names)."""

    up: str
    down: str
    notes: tuple[str, ...]
    tables: tuple[str, ...] = ()


def _month_start(day: date) -> date:
    return date(day.year, day.month, 1)


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def partition_name(month: date) -> str:
    """The partition holding `month`'s rows, e.g. log_y2026m11."""
    return f"log_y{month.year:04d}m{month.month:02d}"


def partition_sql(audit_schema: str, month: date) -> str:
    """CREATE TABLE … PARTITION OF for one month. Bounds carry +00 so they are UTC months
    whatever the session's TimeZone."""
    month = _month_start(month)
    nxt = _next_month(month)
    return (
        f"CREATE TABLE {_qname(audit_schema, partition_name(month))} PARTITION OF "
        f"{_qname(audit_schema, 'log')}\n"
        f"    FOR VALUES FROM ('{month.isoformat()} 00:00:00+00') "
        f"TO ('{nxt.isoformat()} 00:00:00+00');"
    )


def _chosen(schema: Schema, tables: Sequence[str] | None, audit_schema: str) -> list[Table]:
    """The tables to audit: the named ones, or every table with a primary key. Partitions
    are covered by their parent's trigger, the audit schema never audits itself."""
    if tables is None:
        return [
            t
            for t in schema.tables
            if t.primary_key is not None and t.partition_of is None and t.schema != audit_schema
        ]
    out: list[Table] = []
    for name in tables:
        t = schema.table(name)
        if t is None and "." not in name:
            t = schema.table(f"public.{name}")
        if t is None:
            raise InputError(f"audit-log: no table {name!r} in the schema")
        if t.partition_of is not None:
            raise InputError(f"audit-log: {t.qualified} is a partition; audit {t.partition_of}")
        if t.schema == audit_schema:
            raise InputError(f"audit-log: {t.qualified} is in the audit schema {audit_schema!r}")
        if t not in out:
            out.append(t)
    return out


def _tenant_column(table: Table, tenancy: Tenancy | None) -> str:
    """The column whose value is the row's tenant: the tenant column, or the tenants table's
    own key; '' when the row carries none."""
    if tenancy is None:
        return ""
    if tenancy.is_tenant_table(table):
        return tenancy.column
    root = tenancy.root
    key = table.primary_key.columns if table.primary_key else ()
    if root is not None and root.qualified == table.qualified and len(key) == 1:
        return key[0]
    return ""


def _function_sql(audit_schema: str) -> str:
    """The one trigger function. TG_ARGV: [0] the tenant column ('' when none), [1:] the
    primary key columns. The actor is the role that ran the statement: inside SECURITY
    DEFINER current_user is the owner, so it is read from the `role` setting (SET ROLE) and
    falls back to the login role."""
    log = _qname(audit_schema, "log")
    fn = _qname(audit_schema, FUNCTION_NAME)
    return f"""CREATE FUNCTION {fn}() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    old_j jsonb := CASE WHEN TG_OP IN ('UPDATE', 'DELETE') THEN to_jsonb(OLD) END;
    new_j jsonb := CASE WHEN TG_OP IN ('INSERT', 'UPDATE') THEN to_jsonb(NEW) END;
    row_j jsonb := coalesce(new_j, old_j);
    key_j jsonb;
    tenant_v text;
    schema_v name := TG_TABLE_SCHEMA;
    table_v name := TG_TABLE_NAME;
BEGIN
    IF pg_partition_root(TG_RELID) IS NOT NULL THEN
        -- A partition's row is recorded under the partitioned table that was audited.
        SELECT n.nspname, c.relname INTO schema_v, table_v
          FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
         WHERE c.oid = pg_partition_root(TG_RELID);
    END IF;
    IF TG_OP = 'UPDATE' THEN
        -- Only what changed: the key is kept in key_j, the rest can be rebuilt from history.
        SELECT coalesce(jsonb_object_agg(o.key, o.value), '{{}}'::jsonb),
               coalesce(jsonb_object_agg(o.key, new_j -> o.key), '{{}}'::jsonb)
          INTO old_j, new_j
          FROM jsonb_each(old_j) AS o
         WHERE o.value IS DISTINCT FROM new_j -> o.key;
    END IF;
    IF row_j IS NOT NULL THEN  -- TRUNCATE (a statement trigger) has no row
        SELECT jsonb_object_agg(k, row_j -> k) INTO key_j
          FROM unnest(TG_ARGV[1:]) AS k;
    END IF;
    IF TG_ARGV[0] <> '' THEN
        tenant_v := row_j ->> TG_ARGV[0];
    END IF;
    INSERT INTO {log} (actor, app_user, tenant, schema_name, table_name, operation,
                       row_key, old_row, new_row, txid)
    VALUES (coalesce(nullif(current_setting('role'), 'none'), session_user::text),
            nullif(current_setting('{USER_SETTING}', true), ''),
            tenant_v, schema_v, table_v, TG_OP,
            key_j, old_j, new_j, txid_current());
    RETURN NULL;
END
$fn$;"""


def audit_log(
    schema: Schema,
    tables: Sequence[str] | None = None,
    *,
    tenancy: Tenancy | None = None,
    audit_schema: str = "audit",
    months: int = 12,
    start: date | None = None,
) -> AuditLogPlan:
    """The migration adding an audit trail to `tables` (default: every table with a primary
    key). `audit.log` is range-partitioned by month from `start` (default: this UTC month)
    for `months` months, plus a DEFAULT partition; tenant tables of `tenancy` record their
    tenant. InputError for a non-PostgreSQL schema, an unknown table, or an audit schema that
    already exists (the down migration drops it)."""
    if schema.dialect != "postgres":
        raise InputError("secure audit-log is available for PostgreSQL only")
    if months < 1:
        raise InputError(f"audit-log: --months must be at least 1, got {months}")
    if any(n.name == audit_schema for n in schema.namespaces) or any(
        t.schema == audit_schema for t in schema.tables
    ):
        raise InputError(f"audit-log: schema {audit_schema!r} already exists; choose another")
    chosen = _chosen(schema, tables, audit_schema)
    if not chosen:
        raise InputError("audit-log: no table to audit (none has a primary key)")
    for t in chosen:
        taken = {tr.name for tr in t.triggers} & {TRIGGER_NAME, TRUNCATE_TRIGGER}
        if taken:
            raise InputError(f"audit-log: {t.qualified} already has a trigger {min(taken)}")
    first = _month_start(start or datetime.now(UTC).date())
    month_list = [first]
    while len(month_list) < months:
        month_list.append(_next_month(month_list[-1]))

    s = quote(audit_schema)
    log = _qname(audit_schema, "log")
    fn = _qname(audit_schema, FUNCTION_NAME)
    up: list[str] = [
        f"CREATE SCHEMA {s};",
        f"REVOKE ALL ON SCHEMA {s} FROM PUBLIC;",
        f"""CREATE TABLE {log} (
    id bigint GENERATED ALWAYS AS IDENTITY,
    at timestamptz NOT NULL DEFAULT now(),
    actor text NOT NULL DEFAULT session_user,
    app_user text DEFAULT nullif(current_setting('{USER_SETTING}', true), ''),
    tenant text,
    schema_name text NOT NULL,
    table_name text NOT NULL,
    operation text NOT NULL CHECK (operation IN ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE')),
    row_key jsonb,
    old_row jsonb,
    new_row jsonb,
    txid bigint NOT NULL DEFAULT txid_current(),
    PRIMARY KEY (id, at)
) PARTITION BY RANGE (at);""",
        *(partition_sql(audit_schema, m) for m in month_list),
        f"CREATE TABLE {_qname(audit_schema, 'log_default')} PARTITION OF {log} DEFAULT;",
        f"CREATE INDEX log_table_at_idx ON {log} (schema_name, table_name, at);",
        f"CREATE INDEX log_at_brin ON {log} USING brin (at);",
        f"REVOKE ALL ON TABLE {log} FROM PUBLIC;",
        _function_sql(audit_schema),
        # Triggers fire whoever holds EXECUTE: nobody needs to call this function directly.
        f"REVOKE ALL ON FUNCTION {fn}() FROM PUBLIC;",
    ]
    down: list[str] = []
    for t in chosen:
        tenant_col = _tenant_column(t, tenancy)
        key = t.primary_key.columns if t.primary_key else ()
        args = ", ".join(_literal(a) for a in (tenant_col, *key))
        target = _qname(t.schema, t.name)
        up.append(
            f"CREATE TRIGGER {TRIGGER_NAME} AFTER INSERT OR UPDATE OR DELETE ON {target}\n"
            f"    FOR EACH ROW EXECUTE FUNCTION {fn}({args});"
        )
        # TRUNCATE fires no row trigger: without this one a whole table could vanish unseen.
        up.append(
            f"CREATE TRIGGER {TRUNCATE_TRIGGER} AFTER TRUNCATE ON {target}\n"
            f"    FOR EACH STATEMENT EXECUTE FUNCTION {fn}({args});"
        )
        down.append(f"DROP TRIGGER {TRIGGER_NAME} ON {target};")
        down.append(f"DROP TRIGGER {TRUNCATE_TRIGGER} ON {target};")
    down += [f"DROP FUNCTION {fn}();", f"DROP TABLE {log};", f"DROP SCHEMA {s};"]
    return AuditLogPlan(
        up="\n\n".join(up) + "\n",
        down="\n".join(down) + "\n",
        notes=_notes(audit_schema, month_list, chosen, tenancy),
        tables=tuple(t.qualified for t in chosen),
    )


def _notes(
    audit_schema: str, month_list: list[date], chosen: list[Table], tenancy: Tenancy | None
) -> tuple[str, ...]:
    log = _qname(audit_schema, "log")
    nxt = _next_month(month_list[-1])
    oldest = _qname(audit_schema, partition_name(month_list[0]))
    notes = [
        "Add next month's partition before the month starts (rows of a month without one land "
        "in log_default, and a partition cannot be created over rows already there):\n"
        + partition_sql(audit_schema, nxt),
        "Or run monthly (cron, pg_cron) to keep a month ahead:\n"
        "DO $$ DECLARE m date := date_trunc('month', now() AT TIME ZONE 'UTC' "
        "+ interval '1 month')::date; BEGIN\n"
        f"  EXECUTE format('CREATE TABLE IF NOT EXISTS {quote(audit_schema)}.%I PARTITION OF "
        f"{log} FOR VALUES FROM (%L) TO (%L)',\n"
        "    'log_y' || to_char(m, 'YYYY') || 'm' || to_char(m, 'MM'),\n"
        "    m::text || ' 00:00:00+00', (m + interval '1 month')::date::text || ' 00:00:00+00');\n"
        "END $$;",
        "Retention: drop whole months, never DELETE (instant, no bloat). DETACH … CONCURRENTLY "
        "is refused while a DEFAULT partition exists, so detach plainly:\n"
        f"ALTER TABLE {log} DETACH PARTITION {oldest};\nDROP TABLE {oldest};",
        "Rows in log_default mean a partition was missing: "
        f"SELECT count(*) FROM {_qname(audit_schema, 'log_default')};",
        "The application user comes from the session setting "
        f"{USER_SETTING} (SET LOCAL {USER_SETTING} = '…' per transaction on pooled connections); "
        "the actor is the database role.",
        "The application role needs no grant on the audit schema: the trigger function is "
        "SECURITY DEFINER (owned by whoever runs this migration). Grant SELECT on "
        f"{log} only to auditors.",
    ]
    if tenancy is not None:
        indirect = [
            i.table.qualified
            for i in tenancy.indirect
            if any(t.qualified == i.table.qualified for t in chosen)
        ]
        if indirect:
            notes.append(
                "No tenant is recorded for tables that reach their tenant through a key: "
                + ", ".join(indirect)
                + " (their row_key and the parent's audit rows identify it)."
            )
    return tuple(notes)


__all__ = ["AuditLogPlan", "audit_log", "partition_name", "partition_sql"]
