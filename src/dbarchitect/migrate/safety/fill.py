"""Fill a scratch database's tables with generated rows, for rehearsals.

Parents are filled before the tables that reference them (child rows join existing parent
rows); values are generated from each column's type. A table that cannot be filled is left
empty and noted, never an error: a rehearsal measures locks and rewrites, not contents.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql as pgsql

Conn = psycopg.Connection[tuple[Any, ...]]


def error_message(exc: BaseException) -> str:
    """The server's primary message, or the first line of any other error."""
    if isinstance(exc, psycopg.Error) and exc.diag.message_primary:
        return exc.diag.message_primary
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


_COLUMNS = """
SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       a.attidentity <> '' OR a.attgenerated <> ''
         OR coalesce(pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval(%%', false),
       d.adbin IS NOT NULL,
       coalesce(nullif(t.typbasetype, 0), t.oid), CASE WHEN t.typbasetype <> 0
         THEN t.typtypmod ELSE a.atttypmod END
FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum
"""
_TABLES = """
SELECT c.oid, format('%I.%I', n.nspname, c.relname) FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg_toast%%' AND n.nspname NOT LIKE 'pg_temp%%'
ORDER BY 2
"""
_FKEYS = """
SELECT conrelid, confrelid,
       ARRAY(SELECT attname FROM unnest(conkey) WITH ORDINALITY k(n, i)
             JOIN pg_attribute ON attrelid = conrelid AND attnum = k.n ORDER BY i),
       ARRAY(SELECT attname FROM unnest(confkey) WITH ORDINALITY k(n, i)
             JOIN pg_attribute ON attrelid = confrelid AND attnum = k.n ORDER BY i)
FROM pg_constraint WHERE contype = 'f' ORDER BY conrelid, conname
"""


def fill_tables(conn: Conn, rows: int) -> list[str]:
    """Insert `rows` generated rows into every user table, FK parents first (partitioned
    tables through their parent). Returns notes about what could not be filled."""
    tables: dict[int, str] = dict(conn.execute(_TABLES).fetchall())
    fkeys: dict[int, list[tuple[int, list[str], list[str]]]] = {}
    for child, parent, cols, refcols in conn.execute(_FKEYS).fetchall():
        fkeys.setdefault(child, []).append((parent, list(cols), list(refcols)))
    notes: list[str] = []
    counts: dict[int, int] = {}
    for oid in _parents_first(tables, fkeys):
        name = tables[oid]
        sql, why = _insert_sql(conn, oid, name, rows, fkeys.get(oid, []), counts, tables)
        if sql is None:
            notes.append(f"{name} left empty: {why}")
            continue
        try:
            conn.execute(sql.encode())
        except psycopg.Error as exc:
            notes.append(f"{name} left empty: {error_message(exc)}")
            continue
        counts[oid] = rows
    conn.execute("ANALYZE")
    return notes


def _parents_first(
    tables: dict[int, str], fkeys: dict[int, list[tuple[int, list[str], list[str]]]]
) -> list[int]:
    order: list[int] = []
    state: dict[int, int] = {}

    def visit(oid: int) -> None:
        if state.get(oid):  # done, or on the stack (an FK cycle: break it here)
            return
        state[oid] = 1
        for parent, _, _ in fkeys.get(oid, []):
            if parent in tables:
                visit(parent)
        state[oid] = 2
        order.append(oid)

    for oid in sorted(tables, key=lambda o: tables[o]):
        visit(oid)
    return order


def _insert_sql(
    conn: Conn,
    oid: int,
    name: str,
    rows: int,
    fks: list[tuple[int, list[str], list[str]]],
    counts: dict[int, int],
    tables: dict[int, str],
) -> tuple[str | None, str]:
    joins: list[str] = []
    fk_value: dict[str, str] = {}
    for i, (parent, cols, refcols) in enumerate(fks):
        if parent == oid or not counts.get(parent) or any(c in fk_value for c in cols):
            continue  # self-references and empty parents get NULL (or the table is skipped)
        alias = f"fk{i}"
        picked = ", ".join(_ident(conn, c) for c in refcols)
        joins.append(
            f" JOIN (SELECT row_number() OVER () AS rn, {picked} FROM {tables[parent]}) {alias}"
            f" ON {alias}.rn = 1 + (s.g - 1) % {counts[parent]}"
        )
        for col, ref in zip(cols, refcols, strict=True):
            fk_value[col] = f"{alias}.{_ident(conn, ref)}"
    fk_cols = {c for _, cols, _ in fks for c in cols}
    names: list[str] = []
    values: list[str] = []
    for col, typ, notnull, automatic, has_default, base, typmod in conn.execute(
        _COLUMNS, (oid,)
    ).fetchall():
        if automatic:
            continue
        expr = fk_value.get(col) if col in fk_cols else _value(conn, base, typmod)
        if expr is None:
            if has_default:
                continue
            if not notnull:
                expr = "NULL"
            else:
                return None, f"no value for NOT NULL column {col} ({typ})"
        names.append(_ident(conn, col))
        values.append(f"({expr})::{typ}")
    if not names:
        return f"INSERT INTO {name} SELECT FROM generate_series(1, {rows}) s(g)", ""
    return (
        f"INSERT INTO {name} ({', '.join(names)}) SELECT {', '.join(values)}"
        f" FROM generate_series(1, {rows}) s(g){''.join(joins)}",
        "",
    )


def _value(conn: Conn, base: int, typmod: int) -> str | None:
    """A generic expression of `s.g` (1…rows) that fits the base type, or None."""
    row = conn.execute(
        "SELECT typname, typcategory, typtype FROM pg_type WHERE oid = %s", (base,)
    ).fetchone()
    if row is None:
        return None
    typname, category, typtype = row
    if typtype == "e":
        label = conn.execute(
            "SELECT quote_literal(enumlabel) FROM pg_enum WHERE enumtypid = %s"
            " ORDER BY enumsortorder LIMIT 1",
            (base,),
        ).fetchone()
        return f"{label[0]}" if label else None
    by_name = {
        "uuid": "gen_random_uuid()",
        "json": "json_build_object('g', s.g)",
        "jsonb": "jsonb_build_object('g', s.g)",
        "bytea": "convert_to(s.g::text, 'UTF8')",
        "inet": "'10.0.0.0'::inet + s.g",
        "cidr": "'10.0.0.0'::inet + s.g",
        "tsvector": "to_tsvector('simple', 'w' || s.g)",
        "date": "date '2020-01-01' + s.g",
        "time": "time '00:00' + s.g * interval '1 second'",
        "timetz": "time '00:00' + s.g * interval '1 second'",
        "int2": "s.g % 32000",
        "point": "point(s.g, s.g)",
        "money": "s.g",
        "bool": "s.g % 2 = 0",
        "numeric": _numeric(typmod),
    }
    if typname in by_name:
        return by_name[typname]
    by_category = {
        "N": "s.g",
        "S": f"substr('v' || s.g, 1, {typmod - 4})" if typmod > 4 else "'v' || s.g",
        "D": "timestamp '2020-01-01' + s.g * interval '1 minute'",
        "T": "s.g * interval '1 second'",
        "A": "'{}'",
        "R": "'empty'",
    }
    return by_category.get(category)


def _numeric(typmod: int) -> str:
    if typmod < 4:
        return "s.g"
    precision, scale = ((typmod - 4) >> 16) & 0xFFFF, (typmod - 4) & 0xFFFF
    return f"s.g % {10 ** max(precision - scale, 0)}" if precision > scale else "0"


def _ident(conn: Conn, name: str) -> str:
    return pgsql.Identifier(name).as_string(conn)
