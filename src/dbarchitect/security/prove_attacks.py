"""The attacks of `dbarch secure test`: what tenant A tries against B's rows, as SQL.

Each attack says how its outcome reads: `rows` (a count; above `limit` is a leak),
`changed` (DML; any row changed is a leak), `accepted` (a write that succeeds is a leak) or
`unique` (a unique violation tells A that B's value exists). They are data, so the same list
is run by prove.py and written out by prove_pgtap.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from dbarchitect.dialects.postgres.quoting import qname, quote
from dbarchitect.model import Schema, Table
from dbarchitect.model.schema import ForeignKey, Function, View
from dbarchitect.security.prove_seed import Row, Seeding, insert_sql, make_row

Mode = Literal["rows", "changed", "accepted", "unique"]


@dataclass(frozen=True)
class Attack:
    """One attempt by tenant A on tenant B's data."""

    object: str  # the table, view or function attacked
    kind: str  # read-by-key, read-by-tenant, count, update, delete, insert, move, view, ...
    sql: str
    mode: Mode
    limit: int = 0  # for `rows`: how many rows A may see
    na: str | None = None  # why the attack does not apply (sql is then empty)


def _ref(fk: ForeignKey) -> str:
    return fk.ref_qualified


def _key(table: Table) -> tuple[str, ...]:
    if table.primary_key is not None:
        return table.primary_key.columns
    for u in table.uniques:
        return u.columns
    return ()


def _where(row: Row, cols: tuple[str, ...]) -> str | None:
    if not cols or any(c not in row for c in cols):
        return None
    return " AND ".join(f"{quote(c)} = {row[c]}" for c in cols)


def _owner_fk(seeding: Seeding, table: Table) -> ForeignKey | None:
    """For an indirect table, the key to its tenant parent."""
    for ind in seeding.tenancy.indirect:
        if ind.table.qualified == table.qualified:
            return ind.via
    return None


def table_attacks(seeding: Seeding, schema: Schema, table: Table, expected_a: int) -> list[Attack]:
    """Every attack on one tenant, indirect or root table."""
    name = qname(table.schema, table.name)
    obj = table.qualified
    a_rows, b_rows = seeding.bucket(obj, "A"), seeding.bucket(obj, "B")
    if not a_rows or not b_rows:
        why = seeding.unfilled.get(obj, "no rows generated")
        return [Attack(obj, "all", "", "rows", na=f"table not filled: {why}")]
    a, b = a_rows[0], b_rows[0]
    tcol = seeding.tenant_column(table)
    is_root = seeding.tenancy.root is not None and obj == seeding.tenancy.root.qualified
    owner = _owner_fk(seeding, table)
    key = _key(table) or ((tcol,) if tcol else owner.columns if owner else ())
    b_key, a_key = _where(b, key), _where(a, key)
    out: list[Attack] = []

    def add(kind: str, sql: str | None, mode: Mode, limit: int = 0, na: str = "") -> None:
        if sql:
            out.append(Attack(obj, kind, sql, mode, limit))
        else:
            out.append(Attack(obj, kind, "", mode, na=na or "no key to aim at"))

    add("read-by-key", b_key and f"SELECT count(*) FROM {name} WHERE {b_key}", "rows")
    if tcol:
        by_tenant = f"{quote(tcol)} = {seeding.tenant_value['B']}"
    elif owner is not None:
        parents = seeding.bucket(_ref(owner), "B")
        tuples = [_tuple(p, owner.ref_columns) for p in parents]
        lhs = "(" + ", ".join(quote(c) for c in owner.columns) + ")"
        by_tenant = f"{lhs} IN ({', '.join(t for t in tuples if t)})" if parents else ""
    else:
        by_tenant = ""
    add(
        "read-by-tenant",
        by_tenant and f"SELECT count(*) FROM {name} WHERE {by_tenant}",
        "rows",
    )
    add("count", f"SELECT count(*) FROM {name}", "rows", limit=expected_a)
    set_col = _settable(table, tcol)
    if set_col and b_key:
        add(
            "update",
            f"UPDATE {name} SET {quote(set_col)} = {quote(set_col)} WHERE {b_key}",
            "changed",
        )
    else:
        add("update", None, "changed")
    add("delete", b_key and f"DELETE FROM {name} WHERE {b_key}", "changed")
    if is_root:
        out.append(Attack(obj, "insert", "", "accepted", na="the tenants table itself"))
        out.append(Attack(obj, "move", "", "changed", na="the tenants table itself"))
    else:
        fresh = make_row(seeding, schema, table, "B", len(b_rows))
        add(
            "insert",
            insert_sql(table, fresh) if isinstance(fresh, dict) else None,
            "accepted",
            na=fresh if isinstance(fresh, str) else "",
        )
        move = _move(seeding, table, name, tcol, owner, a_key)
        out.append(move)
        if move.sql:
            # Without a WHERE the UPDATE needs no SELECT right, so the SELECT policies do not
            # check the new row: only the UPDATE policy's WITH CHECK stands in the way.
            every = move.sql[: move.sql.rindex(" WHERE ")]
            out.append(Attack(obj, "move-all", every, "changed"))
    out.extend(_joins(seeding, table, name, tcol))
    out.extend(_unique_probes(seeding, schema, table, tcol, is_root, b))
    out.extend(_fk_probes(seeding, schema, table, tcol))
    return out


def _settable(table: Table, tcol: str | None) -> str | None:
    """A column an UPDATE may SET to itself: the tenant column, else one neither generated
    nor GENERATED ALWAYS AS IDENTITY (those refuse any value but DEFAULT)."""
    ok = [
        c.name
        for c in table.columns
        if c.generated is None and not (c.identity is not None and c.identity.always)
    ]
    return tcol if tcol in ok else (ok[0] if ok else None)


def _tuple(row: Row, cols: tuple[str, ...]) -> str | None:
    if any(c not in row for c in cols):
        return None
    return "(" + ", ".join(row[c] for c in cols) + ")"


def _move(
    seeding: Seeding,
    table: Table,
    name: str,
    tcol: str | None,
    owner: ForeignKey | None,
    a_key: str | None,
) -> Attack:
    obj = table.qualified
    if not a_key:
        return Attack(obj, "move", "", "changed", na="no key to aim at")
    if tcol:
        sets = f"{quote(tcol)} = {seeding.tenant_value['B']}"
        # A composite key (tenant_id, parent_id) must move whole, or the FK alone refuses it.
        for fk in table.foreign_keys:
            if tcol in fk.columns and len(fk.columns) > 1:
                parent = seeding.bucket(_ref(fk), "B")
                if parent:
                    pairs = zip(fk.columns, fk.ref_columns, strict=True)
                    sets = ", ".join(
                        f"{quote(c)} = {parent[0][r]}" for c, r in pairs if r in parent[0]
                    )
                break
        return Attack(obj, "move", f"UPDATE {name} SET {sets} WHERE {a_key}", "changed")
    if owner is not None:
        parents = seeding.bucket(_ref(owner), "B")
        if parents:
            pairs = zip(owner.columns, owner.ref_columns, strict=True)
            sets = ", ".join(f"{quote(c)} = {parents[0][r]}" for c, r in pairs)
            return Attack(obj, "move", f"UPDATE {name} SET {sets} WHERE {a_key}", "changed")
    return Attack(obj, "move", "", "changed", na="no tenant column or parent key")


def _joins(seeding: Seeding, table: Table, name: str, tcol: str | None) -> list[Attack]:
    """A's side of a key joined to B's rows on the other side."""
    out = []
    for fk in table.foreign_keys:
        parent = seeding.tables.get(_ref(fk))
        if parent is None or parent.qualified == table.qualified:
            continue
        pcol = seeding.tenant_column(parent)
        if pcol is None:
            continue
        on = " AND ".join(
            f"x.{quote(c)} = y.{quote(r)}" for c, r in zip(fk.columns, fk.ref_columns, strict=True)
        )
        sql = (
            f"SELECT count(*) FROM {name} x JOIN {qname(parent.schema, parent.name)} y ON {on}"
            f" WHERE y.{quote(pcol)} = {seeding.tenant_value['B']}"
        )
        out.append(Attack(table.qualified, f"join:{fk.name}", sql, "rows"))
    return out


def _unique_probes(
    seeding: Seeding, schema: Schema, table: Table, tcol: str | None, is_root: bool, b: Row
) -> list[Attack]:
    """Insert an A row (or a new tenant) carrying B's value of each unique key that does not
    include the tenant: a unique violation tells A that B has that value."""
    out = []
    keys: list[tuple[str, tuple[str, ...]]] = []
    if table.primary_key is not None:
        keys.append((table.primary_key.name, table.primary_key.columns))
    keys.extend((u.name, u.columns) for u in table.uniques)
    for cname, cols in keys:
        kind = f"unique:{cname}"
        if tcol is not None and tcol in cols:
            continue  # scoped to the tenant: nothing to learn
        surrogate = all(_generated(table, c) for c in cols)
        if surrogate and table.primary_key is not None and cols == table.primary_key.columns:
            continue  # a generated surrogate key is no business value
        base = make_row(seeding, schema, table, "A", 0)
        if not isinstance(base, dict) or any(c not in b for c in cols):
            out.append(Attack(table.qualified, kind, "", "unique", na="cannot build the row"))
            continue
        if is_root and tcol is not None:
            base[tcol] = _third_tenant(seeding.tenant_value["A"])
        base.update({c: b[c] for c in cols})
        out.append(Attack(table.qualified, kind, insert_sql(table, base), "unique"))
    return out


def _third_tenant(a_literal: str) -> str:
    return a_literal.replace("1'::", "3'::", 1)


def _generated(table: Table, name: str) -> bool:
    col = table.column(name)
    return col is not None and (col.identity is not None or col.default is not None)


def _fk_probes(seeding: Seeding, schema: Schema, table: Table, tcol: str | None) -> list[Attack]:
    """A new A row whose foreign key points at B's parent: accepted means a child of A can
    hang off B's row (and A learns the row exists)."""
    if tcol is None:
        return []
    out = []
    for fk in table.foreign_keys:
        parent = seeding.tables.get(_ref(fk))
        if parent is None or fk.columns == (tcol,) or seeding.tenant_column(parent) is None:
            continue
        b_parents = seeding.bucket(parent.qualified, "B")
        row = make_row(seeding, schema, table, "A", 0)
        if not b_parents or not isinstance(row, dict):
            continue
        for c, r in zip(fk.columns, fk.ref_columns, strict=True):
            if c != tcol and r in b_parents[0]:
                row[c] = b_parents[0][r]
        out.append(Attack(table.qualified, f"fk:{fk.name}", insert_sql(table, row), "accepted"))
    return out


def view_attacks(seeding: Seeding, view: View) -> list[Attack]:
    """B's rows through a view (or materialized view) over tenant tables."""
    obj = view.qualified
    col = seeding.tenancy.column
    if not any(c.name == col for c in view.columns):
        return [Attack(obj, "view", "", "rows", na=f"the view shows no {col} column")]
    sql = (
        f"SELECT count(*) FROM {qname(view.schema, view.name)}"
        f" WHERE {quote(col)} = {seeding.tenant_value['B']}"
    )
    return [Attack(obj, "view", sql, "rows")]


_SETOF = re.compile(r"^(?:SETOF\s+)?(.+)$", re.IGNORECASE)


def function_attacks(seeding: Seeding, fn: Function) -> list[Attack]:
    """B's rows through a function returning rows that carry the tenant column. A function
    of one argument is called with B's tenant key, and with each value of B's first row
    (of the returned table) whose type is the argument's."""
    obj = f"{fn.schema}.{fn.name}({fn.identity or fn.arguments})"
    col = seeding.tenancy.column
    args = [a.strip() for a in (fn.identity or fn.arguments).split(",") if a.strip()]
    if len(args) > 1:
        return [Attack(obj, "function", "", "rows", na="takes more than one argument")]
    calls = [("function", seeding.tenant_value["B"] if args else "")]
    table = _returned_table(seeding, fn)
    if args and table is not None and seeding.bucket(table.qualified, "B"):
        arg_type = args[0].split()[-1].lower()
        b = seeding.bucket(table.qualified, "B")[0]
        for c in table.columns:
            if c.name != col and c.name in b and c.type.lower() == arg_type:
                calls.append((f"function:{c.name}", b[c.name]))
    name = qname(fn.schema, fn.name)
    where = f"r.{quote(col)} = {seeding.tenant_value['B']}"
    return [
        Attack(obj, kind, f"SELECT count(*) FROM {name}({arg}) r WHERE {where}", "rows")
        for kind, arg in calls
    ]


def _returned_table(seeding: Seeding, fn: Function) -> Table | None:
    m = _SETOF.match((fn.returns or "").strip())
    target = (m.group(1) if m else "").strip().strip('"')
    return next((t for t in seeding.tenancy.tables if target in (t.qualified, t.name)), None)


def exposes_tenant_rows(seeding: Seeding, fn: Function) -> bool:
    """Whether `fn` returns a set of tenant-table rows or a table with the tenant column."""
    if fn.kind != "function" or not fn.returns:
        return False
    ret = fn.returns.strip()
    col = seeding.tenancy.column
    if ret.upper().startswith("TABLE(") and re.search(rf"\b{re.escape(col)}\b", ret):
        return True
    m = _SETOF.match(ret)
    target = (m.group(1) if m else ret).strip().strip('"')
    for t in seeding.tenancy.tables:
        if target in (t.qualified, t.name):
            return ret.upper().startswith("SETOF")
    return False


def sequence_attacks(seeding: Seeding, schema: Schema) -> list[Attack]:
    """Reading a tenant table's shared sequence (SELECT on it) shows how many rows every
    tenant has made."""
    names = {t.qualified for t in seeding.tenancy.tables}
    out = []
    for seq in schema.sequences:
        table = (seq.owned_by or "").rsplit(".", 1)[0]
        if table in names:
            sql = f"SELECT count(*) FROM (SELECT last_value FROM {qname(seq.schema, seq.name)}) s"
            out.append(Attack(f"{seq.schema}.{seq.name}", "sequence", sql, "rows"))
    return out


def view_over_tenant(seeding: Seeding, view: View) -> bool:
    """Whether `view` reads a tenant table (by its dependencies, else by its text)."""
    names = {t.qualified for t in seeding.tenancy.tables} | {
        i.table.qualified for i in seeding.tenancy.indirect
    }
    if view.depends_on:  # "rel:schema.name"
        return any(d.split(":", 1)[-1] in names for d in view.depends_on)
    text = view.definition
    return any(re.search(rf"\b{re.escape(n.split('.')[-1])}\b", text) for n in names)


__all__ = [
    "Attack",
    "exposes_tenant_rows",
    "function_attacks",
    "sequence_attacks",
    "table_attacks",
    "view_attacks",
    "view_over_tenant",
]
