"""`dbarch secure test`: prove tenant isolation by attacking it.

On a scratch copy (a live URL is cloned or dumped into our scratch cluster; SQL files are
loaded into a scratch database — the user's database is never written), rows are generated
for tenants A and B (prove_seed), a LOGIN role with a unique name is given the application
role's rights (prove_context), and, connected as that role and become tenant A, every attack
of prove_attacks is run in a SAVEPOINT that is rolled back. The role is dropped at the end.

Outcomes: blocked, leaked (the SQL and what it saw or changed), not applicable, error.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

import psycopg
from psycopg import sql as pgsql

from dbarchitect.dialects import get_dialect
from dbarchitect.dialects.postgres.quoting import qname, quote
from dbarchitect.dialects.postgres.tune.verify import _copy_of
from dbarchitect.engines.postgres import PostgresEngine, conninfo
from dbarchitect.engines.url import DatabaseURL, looks_like_url, parse_url
from dbarchitect.errors import InputError
from dbarchitect.model import Schema, Table
from dbarchitect.security.prove_attacks import (
    Attack,
    exposes_tenant_rows,
    function_attacks,
    sequence_attacks,
    table_attacks,
    view_attacks,
    view_over_tenant,
)
from dbarchitect.security.prove_context import (
    Context,
    find_app_role,
    grant_statements,
    tenant_context,
)
from dbarchitect.security.prove_seed import Seeding, seed
from dbarchitect.security.tenancy import DEFAULT_SETTING, find_tenancy
from dbarchitect.sources import sql_files

Status = Literal["blocked", "leaked", "not applicable", "error"]
# A refusal by the database: RLS / privilege, a view's CHECK OPTION, a foreign key.
_REFUSED = {"42501", "44000", "23503"}
ATTACK_TIMEOUT = "5s"


@dataclass(frozen=True)
class Outcome:
    """What one attack did."""

    object: str
    attack: str
    status: Status
    sql: str = ""
    evidence: str = ""  # rows seen / rows changed / the error that told A something


@dataclass(frozen=True)
class ProofReport:
    """The whole proof: who attacked, as which tenant, and each outcome."""

    source: str
    role: str
    app_role: str | None
    as_owner: bool
    context: str
    tenants: dict[str, str]
    rows: dict[str, tuple[int, int]]  # table → rows generated for A and B
    unfilled: dict[str, str]
    notes: tuple[str, ...]
    outcomes: tuple[Outcome, ...]
    # What prove_pgtap needs to replay the proof in one transaction.
    seed_sql: tuple[str, ...] = ()
    grant_sql: tuple[str, ...] = ()
    context_sql: tuple[str, ...] = ()
    attacks: tuple[Attack, ...] = field(default=(), repr=False)

    def count(self, status: Status) -> int:
        """How many outcomes have `status`."""
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def leaks(self) -> list[Outcome]:
        """The outcomes that leaked."""
        return [o for o in self.outcomes if o.status == "leaked"]

    def to_json(self) -> str:
        """The report as JSON (the replay material left out)."""
        doc: dict[str, Any] = {
            k: v for k, v in asdict(self).items() if k not in ("seed_sql", "attacks")
        }
        doc["summary"] = {
            s: self.count(s) for s in ("blocked", "leaked", "not applicable", "error")
        }
        return json.dumps(doc, indent=2, sort_keys=True, default=list)

    def render_text(self) -> str:
        """The report for a terminal: leaks first, with their SQL."""
        lines = [
            f"secure test on {self.source}",
            f"  attacker: role {self.role}"
            + (f" (member of {self.app_role})" if self.app_role else "")
            + (" owning the tenant tables" if self.as_owner else ""),
            f"  tenant A: {self.context}",
        ]
        lines += [f"  note: {n}" for n in self.notes]
        lines += [f"  not filled: {t}: {why}" for t, why in sorted(self.unfilled.items())]
        order = {"leaked": 0, "error": 1, "blocked": 2, "not applicable": 3}
        for o in sorted(self.outcomes, key=lambda o: (order[o.status], o.object, o.attack)):
            lines.append(f"{o.status.upper():15} {o.object} {o.attack}")
            if o.status in ("leaked", "error"):
                if o.sql:
                    lines.append(f"    {o.sql}")
                lines.append(f"    {o.evidence}")
            elif o.status == "not applicable":
                lines.append(f"    {o.evidence}")
        summary = ", ".join(
            f"{self.count(s)} {s}" for s in ("leaked", "blocked", "error", "not applicable")
        )
        lines.append(summary)
        return "\n".join(lines) + "\n"


def prove(
    source: str | Sequence[str],
    tenancy_column: str | None = None,
    *,
    as_owner: bool = False,
    rows_per_tenant: int = 20,
    app_role: str | None = None,
    setting: str = DEFAULT_SETTING,
    as_tenant_sql: str | None = None,
) -> ProofReport:
    """Attack tenant isolation of SOURCE (a PostgreSQL URL or SQL files) on a scratch copy.

    `app_role`: the role whose rights the attacker gets (default: the role with the most DML
    grants on the tenant tables; none → DML granted directly, said in the notes).
    `as_tenant_sql`: how to become tenant A, with `{tenant}` (and `{user}`, a member of A)."""
    items = [source] if isinstance(source, str) else list(source)
    if not items:
        raise InputError("no source given")
    with _scratch_copy(items) as (url, where):
        return _prove_on(
            url,
            where,
            tenancy_column,
            as_owner=as_owner,
            rows_per_tenant=rows_per_tenant,
            app_role=app_role,
            setting=setting,
            as_tenant_sql=as_tenant_sql,
        )


@contextmanager
def _scratch_copy(items: list[str]) -> Iterator[tuple[DatabaseURL, str]]:
    engine = PostgresEngine()
    if len(items) == 1 and looks_like_url(items[0]):
        url = parse_url(items[0])
        if url.dialect != "postgres":
            raise InputError(f"{url}: secure test is available for PostgreSQL only")
        with engine.scratch() as scratch, _copy_of(url, scratch) as copy:
            yield copy, str(url)
        return
    files = sql_files(items)
    with engine.scratch() as scratch:
        yield engine.load_files(scratch, files), ", ".join(str(f) for f in files)


def _prove_on(
    url: DatabaseURL,
    where: str,
    column: str | None,
    *,
    as_owner: bool,
    rows_per_tenant: int,
    app_role: str | None,
    setting: str,
    as_tenant_sql: str | None,
) -> ProofReport:
    dialect = get_dialect("postgres")
    with dialect.engine().connect(url, read_only=True) as session:
        schema = dialect.introspect(session)
    tenancy = find_tenancy(schema, column, setting=setting)
    role = f"dbarch_prove_{secrets.token_hex(6)}"
    password = secrets.token_hex(16)
    with psycopg.connect(conninfo(url), autocommit=True) as admin:
        seeding = seed(schema, tenancy, _runner(admin), rows_per_tenant=rows_per_tenant)
        refresh_notes = _refresh(admin, seeding, schema)
        expected = {name: _expected_a(admin, seeding, t) for name, t in seeding.tables.items()}
        attacks = _attacks(seeding, schema, expected, as_owner=as_owner)
        if app_role is None:
            app_role = find_app_role(admin, [qname(t.schema, t.name) for t in tenancy.tables])
        elif not admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [app_role]).fetchone():
            raise InputError(f"--app-role {app_role}: no such role")
        grants, notes = grant_statements(role, app_role, seeding, schema, as_owner=as_owner)
        context = tenant_context(schema, seeding, as_tenant_sql)
        admin.execute(
            pgsql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                pgsql.Identifier(role), pgsql.Literal(password)
            )
        )
        try:
            for stmt in grants:
                admin.execute(stmt.encode())
            outcomes = _attack_as(url, role, password, context, attacks)
        finally:
            # Tables it was given (as_owner) go back first: views depend on them.
            admin.execute(
                pgsql.SQL("REASSIGN OWNED BY {} TO CURRENT_USER").format(pgsql.Identifier(role))
            )
            admin.execute(pgsql.SQL("DROP OWNED BY {}").format(pgsql.Identifier(role)))
            admin.execute(pgsql.SQL("DROP ROLE {}").format(pgsql.Identifier(role)))
    return ProofReport(
        source=where,
        role=role,
        app_role=app_role,
        as_owner=as_owner,
        context=context.how,
        tenants=dict(seeding.tenant_value),
        rows={
            name: (len(seeding.bucket(name, "A")), len(seeding.bucket(name, "B")))
            for name in seeding.tables
        },
        unfilled=dict(seeding.unfilled),
        notes=(
            "triggers were disabled while the rows were generated",
            *notes,
            *refresh_notes,
            *_blind_spots(attacks, outcomes),
        ),
        outcomes=tuple(outcomes),
        seed_sql=tuple(seeding.statements),
        grant_sql=tuple(grants),
        context_sql=context.statements,
        attacks=tuple(attacks),
    )


def _refresh(
    admin: psycopg.Connection[tuple[Any, ...]], seeding: Seeding, schema: Schema
) -> list[str]:
    """REFRESH the materialized views over tenant tables, so they hold the new rows."""
    notes = []
    for v in schema.views:
        if v.materialized and view_over_tenant(seeding, v):
            try:
                admin.execute(f"REFRESH MATERIALIZED VIEW {qname(v.schema, v.name)}".encode())
            except psycopg.Error as exc:
                notes.append(f"{v.qualified} could not be refreshed: {_first(exc)}")
    return notes


def _blind_spots(attacks: list[Attack], outcomes: list[Outcome]) -> list[str]:
    """Tables where tenant A sees none of its own rows: their read attacks prove little
    (the way of becoming A may be wrong, or a policy hides A's rows too)."""
    out = []
    for a, o in zip(attacks, outcomes, strict=True):
        if a.kind == "count" and a.limit > 0 and o.evidence.startswith("0 row"):
            out.append(f"tenant A sees none of its own {a.limit} rows in {a.object}")
    return out


def _runner(admin: psycopg.Connection[tuple[Any, ...]]) -> Any:
    """Run one generated INSERT with triggers (and so FK checks) off; the seeder gets the
    parents right itself. Returns the error's first line, or None."""
    admin.execute("SET session_replication_role = replica")

    def run(stmt: str) -> str | None:
        try:
            admin.execute(stmt.encode())
        except psycopg.Error as exc:
            return exc.diag.message_primary or str(exc).splitlines()[0]
        return None

    return run


def _expected_a(admin: psycopg.Connection[tuple[Any, ...]], seeding: Seeding, t: Table) -> int:
    """How many rows of `t` belong to tenant A (what A may count)."""
    name = qname(t.schema, t.name)
    tcol = seeding.tenant_column(t)
    if tcol is not None:
        where = f"{quote(tcol)} = {seeding.tenant_value['A']}"
    else:
        via = next((i for i in seeding.tenancy.indirect if i.table.qualified == t.qualified), None)
        if via is None:
            return -1
        pcol = seeding.tenant_column(via.parent)
        lhs = ", ".join(quote(c) for c in via.via.columns)
        rhs = ", ".join(quote(c) for c in via.via.ref_columns)
        parent = qname(via.parent.schema, via.parent.name)
        where = (
            f"({lhs}) IN (SELECT {rhs} FROM {parent}"
            f" WHERE {quote(pcol or '')} = {seeding.tenant_value['A']})"
        )
    row = admin.execute(f"SELECT count(*) FROM {name} WHERE {where}".encode()).fetchone()
    return int(row[0]) if row else 0


def _attacks(
    seeding: Seeding, schema: Schema, expected: dict[str, int], *, as_owner: bool
) -> list[Attack]:
    out: list[Attack] = []
    targets = [seeding.tenancy.root] if seeding.tenancy.root is not None else []
    targets += list(seeding.tenancy.tables) + [i.table for i in seeding.tenancy.indirect]
    for t in targets:
        out.extend(table_attacks(seeding, schema, t, expected.get(t.qualified, 0)))
    for v in schema.views:
        if view_over_tenant(seeding, v):
            out.extend(view_attacks(seeding, v))
    for f in schema.functions:
        if exposes_tenant_rows(seeding, f):
            out.extend(function_attacks(seeding, f))
    for a in sequence_attacks(seeding, schema):
        # A table's owner owns its serial's sequence too: reading it proves nothing.
        out.append(replace(a, sql="", na="the owner owns the sequence") if as_owner else a)
    return out


def _attack_as(
    url: DatabaseURL, role: str, password: str, context: Context, attacks: list[Attack]
) -> list[Outcome]:
    target = conninfo(url, user=role, password=password)
    with psycopg.connect(target, autocommit=False) as conn:
        conn.execute(f"SET LOCAL statement_timeout = '{ATTACK_TIMEOUT}'".encode())
        for stmt in context.statements:
            try:
                conn.execute(stmt.encode())
            except psycopg.Error as exc:
                raise InputError(f"becoming tenant A failed: {stmt}: {_first(exc)}") from None
        out = [_run(conn, a) for a in attacks]
        conn.rollback()
    return out


def _run(conn: psycopg.Connection[tuple[Any, ...]], a: Attack) -> Outcome:
    if a.na is not None:
        return Outcome(a.object, a.kind, "not applicable", evidence=a.na)
    conn.execute("SAVEPOINT dbarch_attack")
    try:
        cur = conn.execute(a.sql.encode())
        if a.mode == "rows":
            row = cur.fetchone()
            seen = int(row[0]) if row else 0
            if seen > a.limit:
                return Outcome(a.object, a.kind, "leaked", a.sql, _seen(seen, a.limit))
            return Outcome(a.object, a.kind, "blocked", a.sql, _seen(seen, a.limit))
        if a.mode == "unique":
            return Outcome(a.object, a.kind, "blocked", a.sql, "accepted: no collision")
        changed = cur.rowcount
        if changed > 0:
            verb = "inserted" if a.mode == "accepted" else "changed"
            return Outcome(a.object, a.kind, "leaked", a.sql, f"{changed} row(s) {verb}")
        return Outcome(a.object, a.kind, "blocked", a.sql, "0 rows changed")
    except psycopg.Error as exc:
        state = exc.sqlstate or ""
        msg = f"{state}: {_first(exc)}"
        if a.mode == "unique" and state == "23505":
            return Outcome(a.object, a.kind, "leaked", a.sql, f"B's value exists: {msg}")
        if state in _REFUSED or (a.mode == "unique" and state.startswith("23")):
            return Outcome(a.object, a.kind, "blocked", a.sql, f"refused: {msg}")
        return Outcome(a.object, a.kind, "error", a.sql, msg)
    finally:
        conn.execute("ROLLBACK TO SAVEPOINT dbarch_attack")


def _seen(seen: int, limit: int) -> str:
    return f"{seen} row(s) seen" + (f" (A's own: {limit})" if limit else "")


def _first(exc: psycopg.Error) -> str:
    return exc.diag.message_primary or (str(exc).splitlines() or [type(exc).__name__])[0]


__all__ = ["Outcome", "ProofReport", "prove"]
