"""SQLite catalog → Schema, in four queries inside one read transaction.

sqlite_master lists the objects with their stored CREATE text; the pragma table-valued
functions, joined with it, give columns, index keys and foreign keys for all tables at once.
What no pragma reports (constraint names, CHECK and generated expressions, collations,
DEFERRABLE, AUTOINCREMENT, index expressions and WHERE, view bodies, trigger parts) is read from
the stored text by `parse`. Virtual tables (FTS4, FTS5, R*Tree…) become tables with the options
("virtual", module) and ("virtual_args", the text between USING module's parentheses); the
shadow tables their modules create are implementation detail and are left out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from importlib import resources
from typing import Any, cast

from dbarchitect.dialects.sqlite import parse
from dbarchitect.dialects.sqlite.ddl import quote
from dbarchitect.dialects.sqlite.types import logical_type
from dbarchitect.engines.base import Session
from dbarchitect.errors import DbarchError
from dbarchitect.model import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    IndexKey,
    PrimaryKey,
    Schema,
    Table,
    Trigger,
    UniqueConstraint,
    View,
)
from dbarchitect.model.schema import Action

Row = dict[str, Any]
TABLE_LIST_SINCE = 3_037_000  # pragma_table_list appeared in SQLite 3.37.0
_ACTIONS = ("NO ACTION", "RESTRICT", "CASCADE", "SET NULL", "SET DEFAULT")


@cache
def query(name: str) -> str:
    """The text of queries/<name>.sql."""
    return resources.files(__package__).joinpath("queries", f"{name}.sql").read_text("utf-8")


def introspect(session: Session, schemas: Sequence[str] | None = None) -> Schema:
    """The main database's schema (`schemas` is ignored: attached databases are not read)."""
    del schemas
    legacy = session.server_version < TABLE_LIST_SINCE
    with session.transaction():
        objects = session.fetch(query("objects_legacy" if legacy else "objects"))
        columns = _fetch_columns(session, objects)
        indexes = session.fetch(query("indexes"))
        foreign_keys = session.fetch(query("foreign_keys"))
    return build(objects, columns, indexes, foreign_keys)


def _fetch_columns(session: Session, objects: list[Row]) -> list[Row]:
    try:
        return session.fetch(query("columns"))
    except DbarchError:
        # A view over a dropped table, or a virtual table whose module is not loaded here,
        # fails the bulk query: read object by object and leave those two kinds without
        # columns when they fail. An ordinary table that fails is a real error.
        rows: list[Row] = []
        for obj in objects:
            if obj["type"] not in ("table", "view"):
                continue
            try:
                rows.extend(session.fetch(query("columns_of"), {"name": obj["name"]}))
            except DbarchError:
                if obj["type"] == "table" and obj["rootpage"]:
                    raise
        return rows


def build(
    objects: list[Row], columns: list[Row], indexes: list[Row], foreign_keys: list[Row]
) -> Schema:
    """Assemble the Schema from the rows of the four catalog queries."""
    by_table: dict[str, list[Row]] = defaultdict(list)
    for row in columns:
        by_table[row["tbl"]].append(row)
    tables = [o for o in objects if o["type"] == "table" and o["sql"]]
    virtual = {o["name"] for o in tables if _is_virtual(o)}
    shadows = _shadow_tables(tables, virtual)
    ordinary = [o for o in tables if o["name"] not in virtual and o["name"] not in shadows]
    parsed = {o["name"]: parse.parse_create_table(o["sql"]) for o in ordinary}
    names = _Names(o["name"] for o in objects if o["type"] in ("table", "view"))

    pks = {name: _primary_key(parsed[name], by_table[name]) for name in parsed}
    triggers = _triggers(objects)
    sqls = {o["name"]: o["sql"] for o in objects if o["type"] == "index" and o["sql"]}
    idx_rows: dict[str, list[Row]] = defaultdict(list)
    for row in indexes:
        idx_rows[row["tbl"]].append(row)
    fk_rows: dict[str, list[Row]] = defaultdict(list)
    for row in foreign_keys:
        fk_rows[row["tbl"]].append(row)

    out: list[Table] = []
    for obj in ordinary:
        name = obj["name"]
        p = parsed[name]
        pk = pks[name]
        options = [("without_rowid", "true")] if p.without_rowid else []
        if p.strict:
            options.append(("strict", "true"))
        if any(c.kind == "pk" and c.autoincrement for c in p.constraints):
            options.append(("autoincrement", "true"))
        uniques, table_indexes = _indexes(p, idx_rows[name], sqls)
        out.append(
            Table(
                schema="",
                name=name,
                columns=tuple(_column(r, p) for r in by_table[name] if r["hidden"] != 1),
                primary_key=pk,
                foreign_keys=_foreign_keys(p, fk_rows[name], names, pks, by_table),
                uniques=uniques,
                checks=tuple(
                    CheckConstraint(name=c.name, expression=c.expression)
                    for c in p.constraints
                    if c.kind == "check"
                ),
                indexes=table_indexes,
                triggers=triggers.get(name.casefold(), ()),
                options=tuple(options),
            )
        )
    for obj in tables:
        if obj["name"] in virtual:
            out.append(_virtual_table(obj, by_table[obj["name"]]))
    views = [_view(o, by_table[o["name"]], names, triggers) for o in objects if o["type"] == "view"]
    return Schema(dialect="sqlite", tables=tuple(out), views=tuple(views))


def _is_virtual(obj: Row) -> bool:
    if obj["kind"] is not None:
        return bool(obj["kind"] == "virtual")
    return bool(obj["rootpage"] == 0)


# What the built-in modules (FTS3/4, FTS5, R*Tree) append to a virtual table's name.
_SHADOW_SUFFIXES = frozenset(
    {"content", "segments", "segdir", "docsize", "stat", "data", "idx", "config"}
    | {"node", "parent", "rowid"}
)


def _shadow_tables(tables: list[Row], virtual: set[str]) -> set[str]:
    shadows = {o["name"] for o in tables if o["kind"] == "shadow"}
    if any(o["kind"] is not None for o in tables):
        return shadows
    # Before SQLite 3.37 nothing marks shadow tables: the modules name them <vtab>_<suffix>.
    names = {f"{v}_{suffix}".casefold() for v in virtual for suffix in _SHADOW_SUFFIXES}
    return {o["name"] for o in tables if o["name"].casefold() in names}


class _Names:
    """Case-insensitive lookup of the spelling SQLite uses for a table, view or column."""

    def __init__(self, names: Iterable[str]) -> None:
        self._map: dict[str, str] = {}
        for n in names:
            self._map.setdefault(n.casefold(), n)

    def get(self, name: str) -> str | None:
        return self._map.get(name.casefold())

    def spell(self, name: str) -> str:
        return self._map.get(name.casefold(), name)


def _lookup(mapping: Mapping[str, str], name: str) -> str | None:
    if name in mapping:
        return mapping[name]
    folded = name.casefold()
    return next((v for k, v in mapping.items() if k.casefold() == folded), None)


def _column(row: Row, p: parse.CreateTable) -> Column:
    generated = _lookup(p.generated, row["name"]) if row["hidden"] in (2, 3) else None
    return Column(
        name=row["name"],
        type=row["type"],
        logical=logical_type(row["type"]),
        nullable=not row["not_null"],
        default=row["dflt_value"],
        generated=generated,
        generated_stored=row["hidden"] != 2,
        collation=_lookup(p.collations, row["name"]),
    )


def _primary_key(p: parse.CreateTable, rows: list[Row]) -> PrimaryKey | None:
    cols = tuple(r["name"] for r in sorted((r for r in rows if r["pk"]), key=lambda r: r["pk"]))
    if not cols:
        return None
    name = next((c.name for c in p.constraints if c.kind == "pk"), "")
    return PrimaryKey(name=name, columns=cols)


def _indexes(
    p: parse.CreateTable, rows: list[Row], sqls: dict[str, str]
) -> tuple[tuple[UniqueConstraint, ...], tuple[Index, ...]]:
    """UNIQUE constraints (their sqlite_autoindex_*) and CREATE INDEX indexes of one table."""
    keys: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        keys[row["idx"]].append(row)
    # Autoindexes are numbered in declaration order; follow it so unnamed ones keep their order.
    autoindexes = sorted(
        (name for name in keys if keys[name][0]["origin"] == "u"),
        key=lambda n: int(n.rsplit("_", 1)[-1]) if n.rsplit("_", 1)[-1].isdigit() else 0,
    )
    declared = [c for c in p.constraints if c.kind == "unique"]
    uniques = []
    for name in autoindexes:
        cols = tuple(r["col"] for r in keys[name] if r["is_key"])
        folded = tuple(c.casefold() for c in cols)
        match = next(
            (c for c in declared if tuple(x.casefold() for x in c.columns) == folded), None
        )
        uniques.append(UniqueConstraint(name=match.name if match else "", columns=cols))
    indexes = []
    for name, key_rows in keys.items():
        if key_rows[0]["origin"] != "c" or name not in sqls:
            continue
        parsed = parse.parse_create_index(sqls[name])
        index_keys = []
        for r in (r for r in key_rows if r["is_key"]):
            seq = r["seqno"]
            term = parsed.terms[seq] if seq < len(parsed.terms) else parse.IndexTerm(r["col"])
            is_expr = r["cid"] == -2
            index_keys.append(
                IndexKey(
                    column=term.text if is_expr else (r["col"] or term.text),
                    expression=is_expr,
                    collation=term.collation,
                    descending=bool(r["descending"]),
                )
            )
        indexes.append(
            Index(
                name=name,
                keys=tuple(index_keys),
                unique=bool(key_rows[0]["is_unique"]),
                where=parsed.where if key_rows[0]["partial"] else None,
            )
        )
    return tuple(uniques), tuple(indexes)


def _foreign_keys(
    p: parse.CreateTable,
    rows: list[Row],
    names: _Names,
    pks: dict[str, PrimaryKey | None],
    columns: dict[str, list[Row]],
) -> tuple[ForeignKey, ...]:
    groups: dict[int, list[Row]] = defaultdict(list)
    for row in rows:
        groups[row["id"]].append(row)
    declared = [c for c in p.constraints if c.kind == "fk"]
    out = []
    # The pragma numbers foreign keys from the last declared; walk them in declaration order.
    for fk_id in sorted(groups, reverse=True):
        pairs = sorted(groups[fk_id], key=lambda r: r["seq"])
        cols = tuple(r["col"] for r in pairs)
        position = len(groups) - 1 - fk_id
        clause = _declared_fk(declared, position, cols)
        ref_table = names.spell(pairs[0]["ref_table"])
        parent_pk = pks.get(ref_table)
        if all(r["ref_col"] is None for r in pairs):
            ref_cols = parent_pk.columns if parent_pk else ()
        else:
            # The pragma repeats the parent's columns as the REFERENCES clause spelled them.
            spelling = _Names(r["name"] for r in columns.get(ref_table, ()))
            ref_cols = tuple(spelling.spell(r["ref_col"]) for r in pairs)
        out.append(
            ForeignKey(
                name=clause.name if clause else "",
                columns=cols,
                ref_schema="",
                ref_table=ref_table,
                ref_columns=ref_cols,
                on_delete=_action(pairs[0]["on_delete"]),
                on_update=_action(pairs[0]["on_update"]),
                deferrable=clause.deferrable if clause else False,
                initially_deferred=clause.initially_deferred if clause else False,
            )
        )
    return tuple(out)


def _declared_fk(
    declared: list[parse.Constraint], position: int, cols: tuple[str, ...]
) -> parse.Constraint | None:
    folded = tuple(c.casefold() for c in cols)

    def same(c: parse.Constraint) -> bool:
        return tuple(x.casefold() for x in c.columns) == folded

    if 0 <= position < len(declared) and same(declared[position]):
        return declared[position]
    return next((c for c in declared if same(c)), None)


def _action(text: str) -> Action:
    upper = (text or "NO ACTION").upper()
    return cast(Action, upper if upper in _ACTIONS else "NO ACTION")


def _triggers(objects: list[Row]) -> dict[str, tuple[Trigger, ...]]:
    """Triggers keyed by the case-folded name of the table or view they fire on."""
    out: dict[str, list[Trigger]] = defaultdict(list)
    for obj in objects:
        if obj["type"] != "trigger" or not obj["sql"]:
            continue
        t = parse.parse_create_trigger(obj["sql"])
        out[obj["tbl_name"].casefold()].append(
            Trigger(
                name=obj["name"],
                timing=t.timing,
                events=(t.event,),
                for_each_row=True,  # SQLite has row triggers only
                definition=obj["sql"],
                when=t.when,
            )
        )
    return {k: tuple(v) for k, v in out.items()}


def _virtual_table(obj: Row, rows: list[Row]) -> Table:
    p = parse.parse_create_table(obj["sql"])
    options = [("virtual", p.module or "")]
    if p.module_args is not None:
        options.append(("virtual_args", p.module_args))
    return Table(
        schema="",
        name=obj["name"],
        columns=tuple(
            Column(name=r["name"], type=r["type"], logical=logical_type(r["type"]))
            for r in rows
            if r["hidden"] == 0
        ),
        options=tuple(options),
    )


def _view(
    obj: Row, rows: list[Row], names: _Names, triggers: dict[str, tuple[Trigger, ...]]
) -> View:
    v = parse.parse_create_view(obj["sql"])
    options = []
    if v.column_list is not None:
        options.append(("column_list", ", ".join(quote(c) for c in v.column_list)))
    return View(
        schema="",
        name=obj["name"],
        definition=v.body,
        columns=tuple(
            Column(name=r["name"], type=r["type"], logical=logical_type(r["type"])) for r in rows
        ),
        options=tuple(options),
        triggers=triggers.get(obj["name"].casefold(), ()),
        depends_on=_sources(v.body, names, obj["name"]),
    )


def _sources(body: str, names: _Names, self_name: str) -> tuple[str, ...]:
    """The tables and views a view's SELECT reads (CTE names left out)."""
    # Imported here: sqlglot takes a quarter second to import and only this needs it.
    import sqlglot
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(body, read="sqlite")
        ctes = {c.alias_or_name.casefold() for c in tree.find_all(exp.CTE)}
        used = {t.name for t in tree.find_all(exp.Table) if t.name.casefold() not in ctes}
    except sqlglot.errors.SqlglotError:
        used = parse.referenced_names(body)
    found = {names.get(n) for n in used}
    return tuple(sorted(n for n in found if n is not None and n != self_name))
