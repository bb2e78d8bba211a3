"""Tables and their columns as migration statements for PostgreSQL.

`create table` carries what CREATE TABLE can (columns, keys, checks, exclusions, partitioning,
inheritance, options, RLS flags, comments); foreign keys, indexes, triggers and policies come
as operations of their own (migrate_constraints.py, migrate_objects.py).
"""

from __future__ import annotations

import re

from dbarchitect.dialects.postgres import ddl, ddl_objects
from dbarchitect.dialects.postgres.ddl_objects import COMPRESSION
from dbarchitect.dialects.postgres.migrate_context import Context, comment_sql, fit
from dbarchitect.dialects.postgres.normalize import stable
from dbarchitect.dialects.postgres.quoting import literal, qname, quote
from dbarchitect.model import Column, Identity, Table

_STORAGE = {"p": "PLAIN", "e": "EXTERNAL", "m": "MAIN", "x": "EXTENDED"}
_PLAIN_FAMILIES = {
    "boolean",
    "smallint",
    "integer",
    "bigint",
    "real",
    "double",
    "money",
    "date",
    "time",
    "timetz",
    "timestamp",
    "timestamptz",
    "interval",
    "uuid",
    "enum",
}
_NEXTVAL = re.compile(r"^nextval\('((?:[^']|'')+)'::regclass\)$")


# --- tables -------------------------------------------------------------------------------
def create_table(ctx: Context, t: Table) -> None:
    """CREATE TABLE with everything that belongs to the table itself."""
    name = qname(t.schema, t.name)
    parent = ctx.table_by_qname(t.partition_of, ctx.after) if t.partition_of else None
    if t.partition_of and parent is None:
        parent = ctx.table_by_qname(t.partition_of)
    ctx.emit(ddl_objects.create_table(t, parent))
    ctx.created.add(t.qualified)
    ctx.dropped.discard(t.qualified)
    for col in t.columns:
        if not (col.inherited or parent is not None):
            for sql in ddl_objects.column_alters(t, col):
                ctx.emit(sql)
    for chk in t.checks:
        if chk.not_valid and not chk.inherited:
            no_inherit = " NO INHERIT" if chk.no_inherit else ""
            ctx.emit(
                f"ALTER TABLE {name} ADD CONSTRAINT {quote(chk.name)} "
                f"CHECK ({stable(chk.expression)}){no_inherit} NOT VALID;"
            )
    keys: list[tuple[str, str, bool]] = []
    if t.primary_key:
        pk = t.primary_key
        keys.append((pk.name, ddl.primary_key_clause(pk), pk.inherited))
    keys += [(u.name, ddl.unique_clause(u), u.inherited) for u in t.uniques]
    keys += [(x.name, x.definition, x.inherited) for x in t.exclusions]
    for cname, clause, inherited in keys:
        if not inherited:
            ctx.emit(f"ALTER TABLE {name} ADD CONSTRAINT {quote(cname)} {clause};")
    if t.rls_enabled:
        ctx.emit(f"ALTER TABLE {name} ENABLE ROW LEVEL SECURITY;")
    if t.rls_forced:
        ctx.emit(f"ALTER TABLE {name} FORCE ROW LEVEL SECURITY;")
    if t.comment is not None:
        ctx.emit(comment_sql(f"TABLE {name}", t.comment))
    for col in t.columns:
        if col.comment is not None:
            ctx.emit(comment_sql(f"COLUMN {name}.{quote(col.name)}", col.comment))
    constraints = [t.primary_key, *t.uniques, *t.checks, *t.exclusions]
    for c in constraints:
        if c is not None and c.comment is not None and not c.inherited:
            ctx.emit(comment_sql(f"CONSTRAINT {quote(c.name)} ON {name}", c.comment))
    for col in t.columns:
        ctx.column_created(t.qualified, col)


def drop_table(ctx: Context, t: Table) -> None:
    """DROP TABLE (never CASCADE: the plan drops dependents first)."""
    parent = ctx.table_by_qname(t.partition_of, ctx.before) if t.partition_of else None
    # A partition goes with its partitioned parent; dropping it again would fail.
    if not (parent is not None and parent.qualified in ctx.dropped):
        ctx.emit(f"DROP TABLE {qname(t.schema, t.name)};")
    ctx.dropped.add(t.qualified)
    ctx.created.discard(t.qualified)
    for col in t.columns:
        ctx.column_dropped(t.qualified, col.name)
    for child in ctx.before.tables:
        if child.partition_of == qname(t.schema, t.name):
            ctx.dropped.add(child.qualified)
            for col in child.columns:
                ctx.column_dropped(child.qualified, col.name)


def rename_table(ctx: Context, b: Table, a: Table) -> None:
    """ALTER TABLE … SET SCHEMA and/or RENAME TO."""
    current = qname(b.schema, b.name)
    if b.schema != a.schema:
        ctx.emit(f"ALTER TABLE {current} SET SCHEMA {quote(a.schema)};")
        current = qname(a.schema, b.name)
    if b.name != a.name:
        ctx.emit(f"ALTER TABLE {current} RENAME TO {quote(a.name)};")
    ctx.renamed.add(a.qualified)


def alter_table(ctx: Context, b: Table, a: Table) -> None:
    """The table's own attributes: RLS, persistence, storage options, partition bound,
    inheritance and comment."""
    name = qname(a.schema, a.name)
    if b.partition_of != a.partition_of or b.partition_bound != a.partition_bound:
        if b.partition_of:
            ctx.emit(f"ALTER TABLE {b.partition_of} DETACH PARTITION {name};")
        if a.partition_of:
            ctx.emit(f"ALTER TABLE {a.partition_of} ATTACH PARTITION {name} {a.partition_bound};")
    for p in b.inherits:
        if p not in a.inherits:
            ctx.emit(f"ALTER TABLE {name} NO INHERIT {p};")
    for p in a.inherits:
        if p not in b.inherits:
            ctx.emit(f"ALTER TABLE {name} INHERIT {p};")
    if b.rls_enabled != a.rls_enabled:
        verb = "ENABLE" if a.rls_enabled else "DISABLE"
        ctx.emit(f"ALTER TABLE {name} {verb} ROW LEVEL SECURITY;")
    if b.rls_forced != a.rls_forced:
        verb = "FORCE" if a.rls_forced else "NO FORCE"
        ctx.emit(f"ALTER TABLE {name} {verb} ROW LEVEL SECURITY;")
    if b.unlogged != a.unlogged:
        ctx.emit(f"ALTER TABLE {name} SET {'UNLOGGED' if a.unlogged else 'LOGGED'};")
    for sql in storage_options(f"ALTER TABLE {name}", b.options, a.options):
        ctx.emit(sql)
    if b.comment != a.comment:
        ctx.emit(comment_sql(f"TABLE {name}", a.comment))


def storage_options(
    target: str, before: tuple[tuple[str, str], ...], after: tuple[tuple[str, str], ...]
) -> list[str]:
    """SET (…) for options added or changed, RESET (…) for options removed."""
    old, new = dict(before), dict(after)
    out = []
    gone = [k for k in old if k not in new]
    if gone:
        out.append(f"{target} RESET ({', '.join(gone)});")
    changed = tuple((k, v) for k, v in new.items() if old.get(k) != v)
    if changed:
        out.append(f"{target} SET {ddl_objects.with_options(changed)};")
    return out


# --- columns ------------------------------------------------------------------------------
def create_column(ctx: Context, owner: str, col: Column) -> None:
    """ALTER TABLE … ADD COLUMN with its storage settings and comment."""
    if ctx.propagated_column(owner, col.name, ctx.after):
        ctx.column_created(owner, col)
        return
    table = ctx.owner_sql(owner)
    ctx.emit(f"ALTER TABLE {table} ADD COLUMN {ddl_objects.column_sql(col)};")
    t = ctx.table(owner)
    if t is not None:
        for sql in ddl_objects.column_alters(t, col):
            ctx.emit(sql)
    if col.comment is not None:
        ctx.emit(comment_sql(f"COLUMN {table}.{quote(col.name)}", col.comment))
    ctx.column_created(owner, col)


def drop_column(ctx: Context, owner: str, col: Column) -> None:
    """ALTER TABLE … DROP COLUMN (a partition's columns go with the parent's)."""
    if not ctx.propagated_column(owner, col.name, ctx.before):
        ctx.emit(f"ALTER TABLE {ctx.owner_sql(owner)} DROP COLUMN {quote(col.name)};")
    ctx.column_dropped(owner, col.name)


def rename_column(ctx: Context, owner: str, b: Column, a: Column) -> None:
    """ALTER TABLE … RENAME COLUMN (partitions follow their parent)."""
    if not ctx.propagated_column(owner, b.name, ctx.before):
        ctx.emit(
            f"ALTER TABLE {ctx.owner_sql(owner)} RENAME COLUMN {quote(b.name)} TO {quote(a.name)};"
        )
    ctx.column_dropped(owner, b.name)
    ctx.column_created(owner, a)


def alter_column(ctx: Context, owner: str, b: Column, a: Column) -> None:
    """Type (USING col::type), default, nullability, identity, collation, options, comment.

    The steps run in the order PostgreSQL accepts them: a default that may not cast is
    dropped before the type changes and set again after; NOT NULL comes before an identity
    (which requires it); a serial's counter moves into the new identity sequence.
    """
    table = ctx.owner_sql(owner)
    col = quote(a.name)
    target = f"ALTER TABLE {table} ALTER COLUMN {col}"
    inherited = ctx.propagated_column(owner, a.name)
    retype = not inherited and (b.type != a.type or b.collation != a.collation)
    identity = None if inherited else a.identity
    old_identity = None if inherited else b.identity
    adds_identity = identity is not None and old_identity is None
    drops_identity = old_identity is not None and identity is None
    if b.generated and not a.generated:
        ctx.emit(f"{target} DROP EXPRESSION;")
    if drops_identity:
        seq = _nextval_sequence(a.default)
        if seq is not None:
            # identity → serial: the new sequence continues where the identity stopped.
            ctx.emit(
                f"SELECT setval({literal(seq)}, nextval({_identity_sequence(table, a.name)}), "
                "false);"
            )
        ctx.emit(f"{target} DROP IDENTITY;")
    default_dropped = b.default is not None and (
        retype or adds_identity or a.default is None or drops_identity
    )
    if default_dropped:
        ctx.emit(f"{target} DROP DEFAULT;")
    if retype:
        sql = f"{target} TYPE {a.type}"
        if a.collation:
            sql += f" COLLATE {a.collation}"
        elif b.collation:
            sql += ' COLLATE "default"'
        if b.type != a.type:
            sql += f" USING {col}::{a.type}"
        ctx.emit(sql + ";")
    # SET / DROP NOT NULL on a parent recurse to its children; the child's own change is
    # needed only where it ends up different from the parent's.
    parent_col = ctx.parent_column(owner, a.name) if inherited else None
    nullability = parent_col is None or parent_col.nullable != a.nullable
    if b.nullable and not a.nullable and nullability:
        _set_not_null(ctx, owner, table, a.name)
    if adds_identity and identity is not None:
        _add_identity(ctx, owner, table, b, a, identity)
    elif identity is not None and old_identity is not None and identity != old_identity:
        ctx.emit(f"{target} {_identity_changes(old_identity, identity)};")
    if not b.nullable and a.nullable and nullability:
        ctx.emit(f"{target} DROP NOT NULL;")
    if a.default is not None and (default_dropped or a.default != b.default):
        ctx.emit(f"{target} SET DEFAULT {a.default};")
        _catch_up_sequence(ctx, owner, table, b, a)
    for sql in _column_options(target, b, a):
        ctx.emit(sql)
    if b.comment != a.comment:
        ctx.emit(comment_sql(f"COLUMN {table}.{col}", a.comment))


def _catch_up_sequence(ctx: Context, owner: str, table: str, b: Column, a: Column) -> None:
    """A column switched to another (ascending) sequence must not be handed ids it holds:
    a serial whose table was renamed gets a sequence of the new name, started at 1."""
    seq = _nextval_sequence(a.default)
    if seq is None or seq == _nextval_sequence(b.default) or not ctx.existing(owner):
        return
    if any(f"{s.schema}.{s.name}" == seq and s.increment < 0 for s in ctx.after.sequences):
        return
    col = quote(a.name)
    ctx.emit(
        f"SELECT setval({literal(seq)}, max({col})) FROM {table} "
        f"HAVING max({col}) >= (SELECT last_value FROM {seq});"
    )


def _identity_sequence(table: str, column: str) -> str:
    # pg_get_serial_sequence() may answer with the serial sequence the column still owns;
    # the identity sequence is the one with an internal dependency on the column.
    return (
        "(SELECT d.objid::regclass FROM pg_depend d JOIN pg_attribute a "
        "ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid "
        "WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass "
        f"AND d.deptype = 'i' AND d.refobjid = {literal(table)}::regclass "
        f"AND a.attname = {literal(column)})"
    )


def _nextval_sequence(default: str | None) -> str | None:
    m = _NEXTVAL.match(default or "")
    return m.group(1).replace("''", "'") if m else None


def _set_not_null(ctx: Context, owner: str, table: str, name: str) -> None:
    target = f"ALTER TABLE {table} ALTER COLUMN {quote(name)}"
    if not (ctx.online and ctx.existing(owner)) or ctx.propagated_column(owner, name):
        ctx.emit(f"{target} SET NOT NULL;")
        return
    # A validated CHECK (col IS NOT NULL) lets SET NOT NULL skip its scan (PG 12+); the
    # check is validated under SHARE UPDATE EXCLUSIVE, which blocks no reads or writes.
    check = quote(fit(f"{name}_not_null_tmp"))
    ctx.emit(
        f"ALTER TABLE {table} ADD CONSTRAINT {check} CHECK ({quote(name)} IS NOT NULL) NOT VALID;"
    )
    ctx.emit(f"ALTER TABLE {table} VALIDATE CONSTRAINT {check};", transactional=False)
    ctx.emit(f"{target} SET NOT NULL;")
    ctx.emit(f"ALTER TABLE {table} DROP CONSTRAINT {check};")


def _add_identity(
    ctx: Context, owner: str, table: str, b: Column, a: Column, identity: Identity
) -> None:
    target = f"ALTER TABLE {table} ALTER COLUMN {quote(a.name)}"
    opts = ddl_objects.sequence_options(
        a.type,
        identity.start,
        identity.increment,
        identity.min_value,
        identity.max_value,
        identity.cache,
        identity.cycle,
    )
    when = "ALWAYS" if identity.always else "BY DEFAULT"
    ctx.emit(
        f"{target} ADD GENERATED {when} AS IDENTITY"
        + (f" ({' '.join(opts)})" if opts else "")
        + ";"
    )
    if not ctx.existing(owner):
        return
    new_seq = _identity_sequence(table, a.name)
    old_seq = _nextval_sequence(b.default)
    if old_seq is not None:
        # serial → identity: continue the old counter, not restart at START.
        ctx.emit(f"SELECT setval({new_seq}, last_value, is_called) FROM {old_seq};")
    else:
        ctx.emit(
            f"SELECT setval({new_seq}, max({quote(a.name)})) FROM {table} "
            f"HAVING max({quote(a.name)}) IS NOT NULL;"
        )


def _identity_changes(b: Identity, a: Identity) -> str:
    parts = []
    if b.always != a.always:
        parts.append("SET GENERATED " + ("ALWAYS" if a.always else "BY DEFAULT"))
    if b.start != a.start:
        parts.append(f"SET START WITH {a.start}")
    if b.increment != a.increment:
        parts.append(f"SET INCREMENT BY {a.increment}")
    if b.min_value != a.min_value:
        parts.append("SET NO MINVALUE" if a.min_value is None else f"SET MINVALUE {a.min_value}")
    if b.max_value != a.max_value:
        parts.append("SET NO MAXVALUE" if a.max_value is None else f"SET MAXVALUE {a.max_value}")
    if b.cache != a.cache:
        parts.append(f"SET CACHE {a.cache}")
    if b.cycle != a.cycle:
        parts.append("SET CYCLE" if a.cycle else "SET NO CYCLE")
    return " ".join(parts)


def _column_options(target: str, b: Column, a: Column) -> list[str]:
    old, new = dict(b.options), dict(a.options)
    out = []
    if old.get("storage") != new.get("storage"):
        value = new.get("storage") or _default_storage(a)
        out.append(f"{target} SET STORAGE {_STORAGE.get(value, value)};")
    if old.get("statistics") != new.get("statistics"):
        out.append(f"{target} SET STATISTICS {new.get('statistics', '-1')};")
    if old.get("compression") != new.get("compression"):
        method = new.get("compression")
        out.append(f"{target} SET COMPRESSION {COMPRESSION.get(method or '', 'default')};")
    special = ("storage", "statistics", "compression")
    plain_old = tuple((k, v) for k, v in old.items() if k not in special)
    plain_new = tuple((k, v) for k, v in new.items() if k not in special)
    out.extend(storage_options(target, plain_old, plain_new))
    return out


def _default_storage(col: Column) -> str:
    # The model records storage only where it differs from the type's; going back needs the
    # type's own (PostgreSQL 16's SET STORAGE DEFAULT is not available on 13–15).
    if col.type.endswith("[]") or col.logical == "array":
        return "x"
    if col.logical in _PLAIN_FAMILIES:
        return "p"
    return "m" if col.logical == "decimal" else "x"
