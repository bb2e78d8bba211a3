"""information_schema → Schema for MySQL/MariaDB, in a fixed number of bulk queries.

Ten queries read one database inside one snapshot (queries/*.sql). Two kinds of objects need a
statement each because information_schema lacks them: sequences (MariaDB; one UNION ALL query
over all of them) and the partition clause of partitioned tables (SHOW CREATE TABLE, one per
partitioned table). The model's schema is "" for the introspected database, since a MySQL
database is the namespace; names of other databases stay as they are.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

from dbarchitect.dialects.mysql.quoting import backtick, quote_literal
from dbarchitect.dialects.mysql.routines import build_functions, build_triggers
from dbarchitect.dialects.mysql.sqltext import split_options, unqualify
from dbarchitect.dialects.mysql.types import logical_type
from dbarchitect.engines.base import Session
from dbarchitect.errors import InputError
from dbarchitect.model import (
    CheckConstraint,
    Column,
    ForeignKey,
    Identity,
    Index,
    IndexKey,
    Partitioning,
    PrimaryKey,
    Schema,
    Table,
    Trigger,
    UniqueConstraint,
    View,
)
from dbarchitect.model import (
    Sequence as SequenceModel,
)
from dbarchitect.model.schema import Action

Row = dict[str, Any]
QUERIES = (
    "database",
    "tables",
    "columns",
    "indexes",
    "foreign_keys",
    "checks",
    "views",
    "triggers",
    "routines",
    "parameters",
)
_ACTIONS: dict[str, Action] = {
    "NO ACTION": "NO ACTION",
    "RESTRICT": "RESTRICT",
    "CASCADE": "CASCADE",
    "SET NULL": "SET NULL",
    "SET DEFAULT": "SET DEFAULT",
}
_NOT_TABLES = frozenset({"VIEW", "SEQUENCE"})
_STRATEGIES: dict[str, Literal["RANGE", "LIST", "HASH"]] = {
    "RANGE": "RANGE",
    "RANGE COLUMNS": "RANGE",
    "LIST": "LIST",
    "LIST COLUMNS": "LIST",
    "HASH": "HASH",
    "LINEAR HASH": "HASH",
    "KEY": "HASH",
    "LINEAR KEY": "HASH",
}


@cache
def query(name: str) -> str:
    """The text of queries/<name>.sql."""
    return resources.files(__package__).joinpath("queries", f"{name}.sql").read_text("utf-8")


def current_database(session: Session, schemas: Sequence[str] | None) -> str:
    """The database to read: the one named in `schemas` (at most one), else the session's."""
    if schemas:
        if len(schemas) != 1:
            raise InputError("MySQL/MariaDB: name one database (a database is the namespace)")
        return schemas[0]
    rows = session.fetch("SELECT DATABASE() AS db")
    db = rows[0]["db"] if rows else None
    if not db:
        raise InputError("MySQL/MariaDB: no database selected (put one in the URL path)")
    return str(db)


def introspect(session: Session, schemas: Sequence[str] | None = None) -> Schema:
    """Read one database's schema through `session` in one snapshot."""
    db = current_database(session, schemas)
    with session.transaction():
        rows = {name: session.fetch(query(name), {"db": db}) for name in QUERIES}
        if not rows["database"]:
            raise InputError(f"MySQL/MariaDB: no database named {db!r}")
        kinds = {r["name"]: r["kind"] for r in rows["tables"]}
        sequences = _fetch_sequences(session, [n for n, k in kinds.items() if k == "SEQUENCE"])
        partitioned = [
            r["name"]
            for r in rows["tables"]
            if "partitioned" in (r["create_options"] or "").split()
        ]
        clauses = {name: _partition_clause(session, name) for name in partitioned}
    return _build(db, rows, sequences, clauses)


def _fetch_sequences(session: Session, names: list[str]) -> list[Row]:
    if not names:
        return []
    parts = [
        f"SELECT {quote_literal(n)} AS name, start_value, minimum_value, maximum_value,"
        f" increment, cache_size, cycle_option FROM {backtick(n)}"
        for n in sorted(names)
    ]
    return session.fetch(" UNION ALL ".join(parts))


_PARTITION = re.compile(r"\n\s*(?:/\*!\d+\s*)?(PARTITION BY .*?)(?:\s*\*/)?\s*$", re.DOTALL)


def _partition_clause(session: Session, table: str) -> str:
    rows = session.fetch(f"SHOW CREATE TABLE {backtick(table)}")
    text = str(rows[0].get("Create Table", "")) if rows else ""
    m = _PARTITION.search(text)
    return m.group(1).strip() if m else ""


@dataclass(frozen=True, slots=True)
class _Catalog:
    """The query results of one database, grouped by table name."""

    db: str
    names: frozenset[str]  # tables, views, sequences and routines: what text may refer to
    columns: dict[str, list[Row]]
    checks: dict[str, list[Row]]
    indexes: dict[str, list[Row]]
    foreign_keys: dict[str, list[Row]]
    triggers: dict[str, list[Trigger]]
    partition_clauses: dict[str, str]


def _group(rows: list[Row], key: str) -> dict[str, list[Row]]:
    out: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        out[str(r[key])].append(r)
    return out


def _build(
    db: str, rows: dict[str, list[Row]], sequences: list[Row], clauses: dict[str, str]
) -> Schema:
    dbrow = rows["database"][0]
    cat = _Catalog(
        db=db,
        names=frozenset(r["name"] for r in rows["tables"] + rows["routines"]),
        columns=_group(rows["columns"], "table_name"),
        checks=_group(rows["checks"], "table_name"),
        indexes=_group(rows["indexes"], "TABLE_NAME"),
        foreign_keys=_group(rows["foreign_keys"], "table_name"),
        triggers=build_triggers(rows["triggers"]),
        partition_clauses=clauses,
    )
    views = {str(r["TABLE_NAME"]): r for r in rows["views"]}
    return Schema(
        dialect="mysql",
        tables=tuple(_table(cat, t) for t in rows["tables"] if t["kind"] not in _NOT_TABLES),
        views=tuple(
            _view(cat, views[t["name"]])
            for t in rows["tables"]
            if t["kind"] == "VIEW" and t["name"] in views
        ),
        sequences=tuple(_sequence(r) for r in sequences),
        functions=tuple(build_functions(rows["routines"], rows["parameters"])),
        options=(("charset", str(dbrow["charset"])), ("collation", str(dbrow["collation"]))),
    )


def _table(cat: _Catalog, t: Row) -> Table:
    name = str(t["name"])
    checks = cat.checks[name]
    table_collation = t["collation"]
    json_columns = {
        c["name"] for c in checks if c["expression"].strip() == f"json_valid({backtick(c['name'])})"
    }
    depends: set[str] = set()
    columns = []
    for c in cat.columns[name]:
        column, refs = _column(cat.db, c, table_collation, json_columns)
        columns.append(column)
        depends |= refs & cat.names
    options: list[tuple[str, str]] = []
    if t["engine"]:
        options.append(("engine", str(t["engine"])))
    if table_collation:
        options.append(("collation", str(table_collation)))
    options.extend(split_options(t["create_options"] or ""))
    if t["kind"] == "SYSTEM VERSIONED":
        options.append(("system_versioning", "true"))
    partitioning = None
    partition_clause = cat.partition_clauses.get(name, "")
    if partition_clause:
        options.append(("partition_by", partition_clause))
        partitioning = _partitioning(partition_clause)
    primary, uniques, indexes = _indexes(cat.indexes[name])
    return Table(
        schema="",
        name=name,
        columns=tuple(columns),
        primary_key=primary,
        uniques=tuple(uniques),
        indexes=tuple(indexes),
        foreign_keys=tuple(_foreign_keys(cat.db, cat.foreign_keys[name])),
        checks=tuple(CheckConstraint(name=c["name"], expression=c["expression"]) for c in checks),
        comment=t["comment"] or None,
        options=tuple(options),
        triggers=tuple(cat.triggers.get(name, ())),
        partitioning=partitioning,
        depends_on=tuple(depends),
    )


_PARTITION_HEAD = re.compile(
    r"^PARTITION BY (LINEAR )?(RANGE|LIST|HASH|KEY)\b\s*(COLUMNS)?\s*"
    r"(?:ALGORITHM\s*=\s*\d+\s*)?\((.*?)\)\s*(?:\n|\(|PARTITIONS|SUB|$)",
    re.DOTALL,
)


def _partitioning(clause: str) -> Partitioning | None:
    """RANGE/LIST/HASH and the key; KEY partitioning counts as HASH, SYSTEM_TIME as none."""
    m = _PARTITION_HEAD.match(clause)
    if not m:
        return None
    method = " ".join(p for p in (m.group(1) and m.group(1).strip(), m.group(2), m.group(3)) if p)
    strategy = _STRATEGIES.get(method)
    return Partitioning(strategy=strategy, key=m.group(4).strip()) if strategy else None


_ON_UPDATE = re.compile(r"\bon update (\S+)", re.IGNORECASE)


def _column(
    db: str, c: Row, table_collation: str | None, json_columns: set[str]
) -> tuple[Column, frozenset[str]]:
    extra = str(c["extra"] or "")
    words = set(extra.upper().split())
    generated = (
        c["generated"]
        if ("VIRTUAL" in words or "STORED" in words or "PERSISTENT" in words)
        else None
    )
    default, refs = None, frozenset[str]()
    raw = c["default_value"]
    if raw is not None and raw != "NULL" and generated is None:
        default, refs = unqualify(str(raw), db)
    options: list[tuple[str, str]] = []
    m = _ON_UPDATE.search(extra)
    if m:
        options.append(("on_update", m.group(1)))
    if "INVISIBLE" in words:
        options.append(("invisible", "true"))
    collation = c["collation"]
    logical = "json" if c["name"] in json_columns else logical_type(c["type"])
    return Column(
        name=c["name"],
        type=c["type"],
        logical=logical,
        nullable=c["nullable"] == "YES",
        default=default,
        identity=Identity() if "AUTO_INCREMENT" in words else None,
        generated=generated or None,
        generated_stored=not generated or "VIRTUAL" not in words,
        collation=collation if collation and collation != table_collation else None,
        comment=c["comment"] or None,
        options=tuple(options),
    ), refs


def _indexes(rows: list[Row]) -> tuple[PrimaryKey | None, list[UniqueConstraint], list[Index]]:
    """PRIMARY, plain unique keys (as constraints) and every other index."""
    groups: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        groups[r["INDEX_NAME"]].append(r)
    primary = None
    uniques: list[UniqueConstraint] = []
    indexes: list[Index] = []
    for name, parts in groups.items():
        parts.sort(key=lambda r: int(r["SEQ_IN_INDEX"]))
        keys = tuple(_key(r) for r in parts)
        method = str(parts[0]["INDEX_TYPE"] or "BTREE").lower()
        unique = int(parts[0]["NON_UNIQUE"]) == 0
        comment = parts[0].get("INDEX_COMMENT") or None
        options: list[tuple[str, str]] = []
        if parts[0].get("IGNORED") == "YES" or parts[0].get("IS_VISIBLE") == "NO":
            options.append(("ignored", "true"))
        plain = all(not k.expression and k.length is None and not k.descending for k in keys)
        if name == "PRIMARY":
            primary = PrimaryKey(name=name, columns=tuple(k.column for k in keys))
        elif unique and plain and method == "btree" and not options:
            uniques.append(
                UniqueConstraint(name=name, columns=tuple(k.column for k in keys), comment=comment)
            )
        else:
            indexes.append(
                Index(
                    name=name,
                    keys=keys,
                    unique=unique,
                    method=method,
                    comment=comment,
                    options=tuple(options),
                )
            )
    return primary, uniques, indexes


def _key(r: Row) -> IndexKey:
    expression = r.get("EXPRESSION")
    return IndexKey(
        column=str(expression if expression else r["COLUMN_NAME"]),
        expression=bool(expression),
        descending=r.get("COLLATION") == "D",
        length=int(r["SUB_PART"]) if r.get("SUB_PART") is not None else None,
    )


def _foreign_keys(db: str, rows: list[Row]) -> list[ForeignKey]:
    groups: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        groups[r["name"]].append(r)
    out = []
    for name, parts in groups.items():
        first = parts[0]
        out.append(
            ForeignKey(
                name=name,
                columns=tuple(p["column_name"] for p in parts),
                ref_schema="" if first["ref_schema"] == db else str(first["ref_schema"]),
                ref_table=first["ref_table"],
                ref_columns=tuple(p["ref_column"] for p in parts),
                on_delete=_ACTIONS.get(str(first["on_delete"]), "NO ACTION"),
                on_update=_ACTIONS.get(str(first["on_update"]), "NO ACTION"),
                match_full=first["match_option"] == "FULL",
            )
        )
    return out


def _view(cat: _Catalog, v: Row) -> View:
    name = str(v["TABLE_NAME"])
    definition, refs = unqualify(str(v.get("VIEW_DEFINITION") or ""), cat.db)
    options: list[tuple[str, str]] = []
    algorithm = v.get("ALGORITHM")
    if algorithm and algorithm != "UNDEFINED":
        options.append(("algorithm", str(algorithm)))
    if v.get("SECURITY_TYPE") == "INVOKER":
        options.append(("sql_security", "INVOKER"))
    check = v.get("CHECK_OPTION")
    return View(
        schema="",
        name=name,
        definition=definition,
        columns=tuple(
            Column(
                name=c["name"],
                type=c["type"],
                logical=logical_type(c["type"]),
                nullable=c["nullable"] == "YES",
            )
            for c in cat.columns[name]
        ),
        options=tuple(options),
        check_option=str(check) if check and check != "NONE" else None,
        depends_on=tuple((refs & cat.names) - {name}),
    )


def _sequence(r: Row) -> SequenceModel:
    return SequenceModel(
        schema="",
        name=r["name"],
        start=int(r["start_value"]),
        increment=int(r["increment"]),
        min_value=int(r["minimum_value"]),
        max_value=int(r["maximum_value"]),
        cache=int(r["cache_size"]),
        cycle=bool(int(r["cycle_option"])),
    )


__all__ = ["QUERIES", "current_database", "introspect", "query"]
