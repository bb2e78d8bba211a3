"""Tenant-aware rows for `dbarch secure test`: two tenants, A and B, and every row of every
tenant table (and of the tables hanging off them, and of the tables they reference) put in
A's bucket or B's, with parents taken from the same bucket.

Values are SQL literals cast to the column's own type, so the same text serves the seeding,
the attacks and the pgTAP file. Only the columns we must know (keys, foreign keys, the tenant
column) or must fill (NOT NULL without a default) are given; the rest keep their defaults.
A table whose rows the database refuses is reported with the reason, never fatal.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from dbarchitect.dialects.postgres.quoting import qname, quote
from dbarchitect.model import Schema, Table
from dbarchitect.model.schema import Column, ForeignKey
from dbarchitect.security.tenancy import Tenancy

TENANTS = ("A", "B")
BASE = 7_000_000  # generated numbers start high, away from the rows a live copy already has

Row = dict[str, str]  # column → SQL literal


@dataclass
class Seeding:
    """What was generated: per table, per tenant, the literal values of each row."""

    tenancy: Tenancy
    tables: dict[str, Table]  # qualified name → table, in insert order
    tenant_value: dict[str, str]  # "A"/"B" → the tenant key's literal
    rows: dict[str, dict[str, list[Row]]] = field(default_factory=dict)
    statements: list[str] = field(default_factory=list)  # the INSERTs that succeeded
    unfilled: dict[str, str] = field(default_factory=dict)  # table → why it has no rows
    counter: int = BASE

    def bucket(self, table: str, tenant: str) -> list[Row]:
        """The rows of `table` that belong to `tenant`."""
        return self.rows.get(table, {}).get(tenant, [])

    def root_column(self) -> str | None:
        """The root table's column the tenant column references (tenants.id)."""
        root = self.tenancy.root
        if root is None:
            return None
        for t in self.tenancy.tables:
            for fk in t.foreign_keys:
                if fk.columns == (self.tenancy.column,) and _ref(fk) == root.qualified:
                    return fk.ref_columns[0]
        return root.primary_key.columns[0] if root.primary_key else None

    def tenant_column(self, table: Table) -> str | None:
        """The column holding the tenant in `table` (the root's key for the root), if any."""
        root = self.tenancy.root
        if root is not None and table.qualified == root.qualified:
            return self.root_column()
        return self.tenancy.column if table.column(self.tenancy.column) else None

    def next_number(self) -> int:
        self.counter += 1
        return self.counter


def _ref(fk: ForeignKey) -> str:
    return fk.ref_qualified


def lit(value: str, type_: str) -> str:
    """`'value'::type`, the one literal form used everywhere."""
    return "'" + value.replace("'", "''") + "'::" + type_


def tenant_literal(type_: str, tenant: str) -> str:
    """A's or B's key for a tenant column of `type_` (A/B differ only in the last digit)."""
    digit = str(TENANTS.index(tenant) + 1) if tenant in TENANTS else "9"
    t = type_.lower()
    if t == "uuid":
        return lit(f"00000000-0000-4000-8000-00000000000{digit}", type_)
    if t in ("smallint", "integer", "bigint") or t.startswith("numeric"):
        return lit(f"3100{digit}", type_)
    return lit(f"tenant-{tenant.lower()}", type_)


def plan_tables(schema: Schema, tenancy: Tenancy) -> list[Table]:
    """The tables to fill, parents first: root, tenant tables, indirect tables, and every
    table they reference (transitively)."""
    wanted: dict[str, Table] = {}
    todo = [t for t in tenancy.tables] + [i.table for i in tenancy.indirect]
    if tenancy.root is not None:
        todo.insert(0, tenancy.root)
    while todo:
        t = todo.pop()
        if t.qualified in wanted:
            continue
        wanted[t.qualified] = t
        for fk in t.foreign_keys:
            parent = schema.table(_ref(fk))
            if parent is not None and parent.qualified not in wanted:
                todo.append(parent)
    return _topological(wanted)


def _topological(tables: dict[str, Table]) -> list[Table]:
    done: list[Table] = []
    seen: set[str] = set()

    def visit(name: str, path: frozenset[str]) -> None:
        if name in seen or name in path:  # a cycle: its nullable key stays NULL
            return
        t = tables[name]
        for fk in t.foreign_keys:
            if _ref(fk) in tables and _ref(fk) != name:
                visit(_ref(fk), path | {name})
        seen.add(name)
        done.append(t)

    for name in sorted(tables):
        visit(name, frozenset())
    return done


_LENGTH = re.compile(r"\((\d+)\)")


def column_literal(
    schema: Schema, table: Table, col: Column, n: int, *, alt: bool = False
) -> str | None:
    """A value of `col`'s type made from the number `n` (unique per call), or None when
    we have nothing for the type."""
    t = col.type.lower()
    enum = next((e for e in schema.enums if t in (e.name, f"{e.schema}.{e.name}")), None)
    if enum is not None and enum.values:
        return lit(enum.values[-1 if alt else 0], col.type)
    domain = next((d for d in schema.domains if t in (d.name, f"{d.schema}.{d.name}")), None)
    if domain is not None:
        base = Column(name=col.name, type=domain.base_type)
        inner = column_literal(schema, table, base, n, alt=alt)
        return None if inner is None else f"({inner})::{col.type}"
    if t.endswith("[]"):
        return lit("{}", col.type)
    if t in ("smallint", "integer", "bigint", "real", "double precision") or t.startswith(
        "numeric"
    ):
        return lit(str(n % 30000 + 1 if t == "smallint" else n), col.type)
    if t == "boolean":
        return lit("true" if alt else "false", col.type)
    if t == "uuid":
        return lit(f"00000000-0000-4000-9000-{n:012d}", col.type)
    if t.startswith("timestamp"):
        # Recent, as policies like `created_at > now() - interval '24 hours'` expect.
        return f"(now() - interval '{n % 3600} seconds')::{col.type}"
    if t == "date":
        return f"current_date::{col.type}"
    if t.startswith("time"):
        return lit("12:00:00", col.type)
    if t == "interval":
        return lit("1 day", col.type)
    if t in ("json", "jsonb"):
        return lit("{}", col.type)
    if t == "bytea":
        return lit("\\x00", col.type)
    if t in ("inet", "cidr"):
        return lit(f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}", col.type)
    if t.startswith(("text", "character", "varchar", "citext", "name")):
        return lit(_text(col.name, n, t), col.type)
    return None


def _text(name: str, n: int, type_: str) -> str:
    m = _LENGTH.search(type_)
    if "email" in name:
        value = f"u{n}@example.com"
    elif "url" in name:
        value = f"https://example.com/{n}"
    else:
        value = f"{name.replace('_', '-')[:20]}-{n}"
    if m:
        limit = int(m.group(1))
        value = value[-limit:] if len(value) > limit else value
    return value


def make_row(
    seeding: Seeding, schema: Schema, table: Table, tenant: str, i: int, *, alt: bool = False
) -> Row | str:
    """Row `i` of `table` for `tenant`, or the reason it cannot be made."""
    row: Row = {}
    tcol = seeding.tenant_column(table)
    if tcol is not None:
        row[tcol] = seeding.tenant_value[tenant]
    for fk in table.foreign_keys:
        ref = _ref(fk)
        if ref not in seeding.tables:
            continue
        parents = seeding.bucket(ref, tenant)
        if ref == table.qualified or not parents:
            if all(_nullable(table, c) for c in fk.columns):
                continue
            return f"no rows in {ref} for tenant {tenant}"
        parent = parents[i % len(parents)]
        for name, rcol in zip(fk.columns, fk.ref_columns, strict=True):
            if name not in row and rcol in parent:
                row[name] = parent[rcol]
    keys = set(table.primary_key.columns if table.primary_key else ())
    for u in table.uniques:
        keys.update(u.columns)
    for col in table.columns:
        if col.name in row or col.generated is not None:
            continue
        required = not col.nullable and col.default is None and col.identity is None
        # Timestamps a trigger would have set (triggers are off) are filled: policies such
        # as `created_at > now() - interval '24 hours'` read them.
        stamp = col.default is None and col.type.lower().startswith("timestamp")
        if col.name not in keys and not required and not stamp:
            continue
        value = column_literal(schema, table, col, seeding.next_number(), alt=alt)
        if value is None:
            if required:
                return f"no value for {col.name} of type {col.type}"
            continue
        row[col.name] = value
    return row


def _nullable(table: Table, name: str) -> bool:
    col = table.column(name)
    return col is None or col.nullable


def insert_sql(table: Table, row: Row) -> str:
    """INSERT of one generated row (explicit keys even for identity columns)."""
    cols = ", ".join(quote(c) for c in row)
    vals = ", ".join(row.values())
    return (
        f"INSERT INTO {qname(table.schema, table.name)} ({cols}) "
        f"OVERRIDING SYSTEM VALUE VALUES ({vals})"
    )


def seed(
    schema: Schema,
    tenancy: Tenancy,
    run: Callable[[str], str | None],
    *,
    rows_per_tenant: int,
) -> Seeding:
    """Fill the tables through `run` (executes one statement, returns an error message or
    None). The root gets one row per tenant: the tenant itself."""
    order = plan_tables(schema, tenancy)
    tenant_type = _tenant_type(tenancy)
    seeding = Seeding(
        tenancy=tenancy,
        tables={t.qualified: t for t in order},
        tenant_value={k: tenant_literal(tenant_type, k) for k in TENANTS},
    )
    for table in order:
        is_root = tenancy.root is not None and table.qualified == tenancy.root.qualified
        count = 1 if is_root else rows_per_tenant
        seeding.rows[table.qualified] = {k: [] for k in TENANTS}
        for tenant in TENANTS:
            for i in range(count):
                reason = _insert_one(seeding, schema, table, tenant, i, run)
                if reason is not None:
                    if not seeding.bucket(table.qualified, tenant):
                        seeding.unfilled[table.qualified] = reason
                    break
    return seeding


def _insert_one(
    seeding: Seeding,
    schema: Schema,
    table: Table,
    tenant: str,
    i: int,
    run: Callable[[str], str | None],
) -> str | None:
    reason: str | None = None
    for alt in (False, True):  # a CHECK may want the other boolean or enum value
        row = make_row(seeding, schema, table, tenant, i, alt=alt)
        if isinstance(row, str):
            return row
        sql = insert_sql(table, row)
        reason = run(sql)
        if reason is None:
            seeding.rows[table.qualified][tenant].append(row)
            seeding.statements.append(sql)
            return None
    return reason


def _tenant_type(tenancy: Tenancy) -> str:
    for t in tenancy.tables:
        col = t.column(tenancy.column)
        if col is not None:
            return col.type
    return "text"


__all__ = [
    "TENANTS",
    "Row",
    "Seeding",
    "column_literal",
    "insert_sql",
    "lit",
    "make_row",
    "plan_tables",
    "seed",
    "tenant_literal",
]
