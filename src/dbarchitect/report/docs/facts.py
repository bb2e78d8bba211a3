"""What the documents say about a schema, worked out from its constraints and indexes.

Why each index exists, which foreign keys have no index behind them, which queries the keys
imply, how wide a row is, which tables are reference data or partitioning candidates. Pure
functions of the Schema (and Stats when known); the documents only phrase the results.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from dbarchitect.codegen.erd import entities, foreign_keys, relationships
from dbarchitect.model.schema import Column, ForeignKey, Index, Schema, Table
from dbarchitect.report.describe import index_key_text, qualify
from dbarchitect.report.docs.guide import OperationsGuide

# Bytes a value takes on disk, by logical family; variable-length families assume a typical
# fill (the documents say so), fixed ones their storage size.
_WIDTH = {
    "boolean": 1,
    "smallint": 2,
    "integer": 4,
    "bigint": 8,
    "real": 4,
    "double": 8,
    "money": 8,
    "date": 4,
    "time": 8,
    "timetz": 12,
    "timestamp": 8,
    "timestamptz": 8,
    "interval": 16,
    "year": 1,
    "uuid": 16,
    "json": 128,
    "jsonb": 128,
    "xml": 256,
    "array": 64,
    "enum": 4,
    "set": 8,
    "network": 12,
    "geometric": 32,
    "fulltext": 64,
    "range": 24,
    "bit": 8,
    "text": 32,
    "binary": 64,
    "other": 16,
}
_LENGTH = re.compile(r"\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)")
_SOFT_DELETE = re.compile(r"\b(deleted|archived|removed)(_at|_on)?\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class AccessPath:
    """A primary key, unique constraint or index, with the reasons it exists."""

    kind: str  # "primary key", "unique constraint", "index", "unique index"
    name: str
    definition: str
    columns: tuple[str, ...]  # leading plain columns (expressions end the list)
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class QueryPattern:
    title: str
    sql: str
    served_by: str  # the access path that serves it, or why nothing does


def column_width(col: Column) -> int:
    """Estimated bytes of one value of `col` (typical fill for variable-length types)."""
    m = _LENGTH.search(col.type)
    if col.logical == "decimal":
        digits = int(m.group(1)) if m else 12
        return 3 + math.ceil(digits / 4) * 2
    if col.logical in ("char", "varchar"):
        declared = int(m.group(1)) if m else 32
        return 1 + (declared if col.logical == "char" else min(declared, max(8, declared // 2)))
    return _WIDTH.get(col.logical, 16)


def row_width(table: Table, guide: OperationsGuide) -> int:
    """Estimated bytes per row: the columns plus the engine's per-row overhead."""
    return sum(column_width(c) for c in table.columns) + guide.row_overhead_bytes


def index_entry_width(table: Table, columns: Sequence[str], guide: OperationsGuide) -> int:
    """Estimated bytes per index entry: key columns, the engine's overhead, and the primary
    key where secondary entries carry it instead of a row pointer (InnoDB)."""
    widths = {c.name: column_width(c) for c in table.columns}
    key = sum(widths.get(c, 16) for c in columns)
    if guide.secondary_index_holds_primary_key and table.primary_key:
        key += sum(widths.get(c, 8) for c in table.primary_key.columns)
    return key + guide.index_entry_overhead_bytes


def plain_columns(ix: Index) -> tuple[str, ...]:
    """The index's leading plain columns (an expression key ends the list)."""
    out = []
    for k in ix.keys:
        if k.expression:
            break
        out.append(k.column)
    return tuple(out)


def supports(columns: Sequence[str], fk: ForeignKey) -> bool:
    """Whether an index on `columns` serves lookups by the foreign key's columns: they are
    its leading columns, in any order."""
    n = len(fk.columns)
    return len(columns) >= n and set(columns[:n]) == set(fk.columns)


_METHOD = {
    "gin": "GIN: containment, JSON key, array and full-text searches",
    "gist": "GiST: ranges, geometry, nearest-neighbour and exclusion searches",
    "spgist": "SP-GiST: partitioned search spaces (points, prefixes, ranges)",
    "brin": "BRIN: a tiny summary index for columns that follow the physical row order",
    "hash": "hash: equality lookups only",
    "fulltext": "FULLTEXT: MATCH … AGAINST searches",
    "spatial": "SPATIAL: geometry searches",
}


class SchemaFacts:
    """The facts of one schema, computed once: relationships, access paths and their reasons,
    foreign keys without an index, implied queries, widths. `quote` quotes an identifier
    for the engine the statements are written for."""

    def __init__(self, schema: Schema, guide: OperationsGuide, quote: Callable[[str], str]) -> None:
        self.schema = schema
        self.guide = guide
        self.quote = quote
        self.tables = entities(schema)
        self.fks = foreign_keys(schema)
        self.relationships = relationships(schema)
        self.referencing: dict[str, list[tuple[str, ForeignKey]]] = {}
        for child, fks in self.fks.items():
            for fk, parent in fks:
                self.referencing.setdefault(parent.qualified, []).append((child, fk))
        self.partitions: dict[str, list[Table]] = {}
        for t in schema.tables:
            if t.partition_of:
                self.partitions.setdefault(t.partition_of, []).append(t)
        self._paths: dict[str, list[AccessPath]] = {}

    def table_name(self, t: Table) -> str:
        """The table's name as a statement writes it (quoted where needed)."""
        q = self.quote
        return f"{q(t.schema)}.{q(t.name)}" if t.schema else q(t.name)

    def own_fks(self, t: Table) -> list[ForeignKey]:
        """Foreign keys drawn on `t` (a partitioned parent's come from its partitions)."""
        return [fk for fk, _ in self.fks.get(t.qualified, [])] or [
            fk for fk in t.foreign_keys if not fk.inherited
        ]

    # --- access paths ----------------------------------------------------------------------

    def access_paths(self, table: Table) -> list[AccessPath]:
        """The table's primary key, unique constraints and indexes, each with its reasons."""
        if table.qualified not in self._paths:
            self._paths[table.qualified] = self._access_paths(table)
        return self._paths[table.qualified]

    def _access_paths(self, table: Table) -> list[AccessPath]:
        fks = self.own_fks(table)
        referenced = self.referencing.get(table.qualified, [])
        out: list[AccessPath] = []
        if table.primary_key:
            pk = table.primary_key
            reasons = ["primary key: identifies each row"]
            if referenced:
                sources = ", ".join(sorted({t for t, _ in referenced}))
                reasons.append(
                    f"target of {_count(len(referenced), 'foreign key')} (from {sources})"
                )
            reasons += [f"backs foreign key {fk.name}" for fk in fks if supports(pk.columns, fk)]
            out.append(_path("primary key", pk.name, pk.columns, reasons))
        for u in table.uniques:
            reasons = [f"enforces uniqueness of ({', '.join(u.columns)}): lookups by this key"]
            reasons += [f"backs foreign key {fk.name}" for fk in fks if supports(u.columns, fk)]
            out.append(_path("unique constraint", u.name, u.columns, reasons))
        plain = {ix.name: plain_columns(ix) for ix in table.indexes}
        for ix in table.indexes:
            out.append(
                AccessPath(
                    kind="unique index" if ix.unique else "index",
                    name=ix.name,
                    definition=_index_definition(ix),
                    columns=plain[ix.name],
                    reasons=tuple(_index_reasons(table, ix, fks, plain)),
                )
            )
        return out

    def unsupported_foreign_keys(self) -> list[tuple[Table, ForeignKey]]:
        """Foreign keys whose columns lead no index, primary key or unique constraint of the
        referencing table: deleting a parent row (and joining parent to children) scans it."""
        out = []
        for t in self.tables:
            leading = [p.columns for p in self.access_paths(t)]
            # A partitioned table's partitions may carry the index instead of the parent.
            for part in self.partitions.get(t.qualified, []):
                leading += [plain_columns(ix) for ix in part.indexes]
            out += [(t, fk) for fk in self.own_fks(t) if not any(supports(c, fk) for c in leading)]
        return out

    def serving(self, table: Table, fk: ForeignKey) -> AccessPath | None:
        """The access path of `table` that serves lookups by `fk`'s columns, if any."""
        return next((p for p in self.access_paths(table) if supports(p.columns, fk)), None)

    # --- shapes ----------------------------------------------------------------------------

    def reference_tables(self) -> list[Table]:
        """Small lookup tables: referenced by two or more foreign keys, few columns, no
        foreign keys of their own — read often, changed rarely: the caching candidates."""
        return [
            t
            for t in self.tables
            if len(self.referencing.get(t.qualified, [])) >= 2
            and len(t.columns) <= 6
            and not self.fks.get(t.qualified)
        ]

    def junction_tables(self) -> dict[str, list[str]]:
        """Tables whose primary key is made of two or more foreign keys: many-to-many links,
        mapped to the tables they link."""
        out: dict[str, list[str]] = {}
        for t in self.tables:
            mine = [
                r for r in self.relationships if r.child.qualified == t.qualified and r.identifying
            ]
            if t.primary_key and len(mine) >= 2:
                covered = {c for r in mine for c in r.fk.columns}
                if set(t.primary_key.columns) <= covered:
                    out[t.qualified] = [r.parent.qualified for r in mine]
        return out

    def partition_candidates(self) -> list[tuple[Table, Column]]:
        """Unpartitioned tables with a NOT NULL timestamp set on insert (it has a default):
        the natural RANGE key once a table outgrows one heap and its indexes."""
        out = []
        for t in self.tables:
            if t.partitioning is not None:
                continue
            col = next(
                (
                    c
                    for c in t.columns
                    if c.logical in ("timestamp", "timestamptz", "date")
                    and not c.nullable
                    and c.default is not None
                    and "update" not in c.name.lower()
                ),
                None,
            )
            if col is not None:
                out.append((t, col))
        return out

    # --- implied queries -------------------------------------------------------------------

    def param(self, n: int) -> str:
        return f"${n}" if self.guide.param_style == "dollar" else "?"

    def _equals(self, columns: Sequence[str], prefix: str = "") -> str:
        q = self.quote
        return " AND ".join(f"{prefix}{q(c)} = {self.param(i + 1)}" for i, c in enumerate(columns))

    def query_patterns(self) -> list[QueryPattern]:
        """Queries the keys imply: the children of a parent along each foreign key, the join
        from parent to children, and lookups by each unique key, with what serves each."""
        q = self.quote
        out = []
        for r in self.relationships:
            child, parent, fk = r.child, r.parent, r.fk
            path = self.serving(child, fk)
            served = f"{path.kind} {path.name}" if path else None
            cols = ", ".join(q(c) for c in _shown_columns(child, fk.columns))
            out.append(
                QueryPattern(
                    title=f"The {child.qualified} rows of one {parent.qualified}",
                    sql=f"SELECT {cols}\nFROM {self.table_name(child)}\n"
                    f"WHERE {self._equals(fk.columns)}",
                    served_by=served or "nothing: a full scan of the child table (add an index)",
                )
            )
            on = " AND ".join(
                f"c.{q(a)} = p.{q(b)}" for a, b in zip(fk.columns, fk.ref_columns, strict=False)
            )
            pcols = ", ".join(f"p.{q(c)}" for c in _shown_columns(parent, fk.ref_columns, 1))
            ccols = ", ".join(f"c.{q(c)}" for c in _shown_columns(child, fk.columns, 1))
            out.append(
                QueryPattern(
                    title=f"Join {parent.qualified} to {child.qualified}",
                    sql=f"SELECT {pcols}, {ccols}\nFROM {self.table_name(parent)} AS p\n"
                    f"JOIN {self.table_name(child)} AS c ON {on}\n"
                    f"WHERE {self._equals(fk.ref_columns, 'p.')}",
                    served_by="the parent's key, then "
                    + (served or "a full scan of the child table"),
                )
            )
        for t in self.tables:
            out += self._index_patterns(t)
            for p in self.access_paths(t):
                if p.kind not in ("unique constraint", "unique index") or not p.columns:
                    continue
                ix = next((i for i in t.indexes if i.name == p.name), None)
                if ix is not None and len(p.columns) != len(ix.keys):
                    continue
                where = self._equals(p.columns)
                if ix is not None and ix.where:
                    where += f" AND {parenthesized(ix.where)}"
                cols = ", ".join(q(c) for c in _shown_columns(t, p.columns))
                out.append(
                    QueryPattern(
                        title=f"One {t.qualified} by its unique key ({', '.join(p.columns)})",
                        sql=f"SELECT {cols}\nFROM {self.table_name(t)}\nWHERE {where}",
                        served_by=f"{p.kind} {p.name}",
                    )
                )
        return out

    def _index_patterns(self, t: Table) -> list[QueryPattern]:
        """For each plain B-tree index beyond a foreign key's own: equality on its first key
        (within its WHERE), ordered by the rest — the query it was made for."""
        q = self.quote
        fks = self.own_fks(t)
        out = []
        for ix in t.indexes:
            if ix.unique or ix.parent or ix.method.lower() != "btree" or not ix.keys:
                continue
            # An index that is exactly a foreign key's columns has its pattern already.
            if any(
                supports(plain_columns(ix), fk) and len(ix.keys) == len(fk.columns) for fk in fks
            ):
                continue
            first, rest = ix.keys[0], ix.keys[1:]
            lead = first.column if first.expression else q(first.column)
            where = f"{lead} = {self.param(1)}"
            if ix.where:
                where += f" AND {parenthesized(ix.where)}"
            sql = f"SELECT {', '.join(q(c) for c in _shown_columns(t, (), 4))}\n"
            sql += f"FROM {self.table_name(t)}\nWHERE {where}"
            title = f"Rows of {t.qualified} filtered by {first.column}"
            if rest:
                order = ", ".join(
                    (k.column if k.expression else q(k.column)) + (" DESC" if k.descending else "")
                    for k in rest
                )
                sql += f"\nORDER BY {order}\nLIMIT 20"
                title += f", ordered by {', '.join(k.column for k in rest)}"
            out.append(QueryPattern(title=title, sql=sql, served_by=f"index {ix.name}"))
        return out


def parenthesized(expr: str) -> str:
    """`expr` inside one pair of parentheses (none added when it already is)."""
    text = expr.strip()
    if text.startswith("(") and text.endswith(")"):
        depth, quoted = 0, False
        for i, ch in enumerate(text):
            quoted ^= ch == "'"  # a doubled quote toggles twice: still inside
            if quoted:
                continue
            depth += ch == "("
            depth -= ch == ")"
            if depth == 0:
                if i == len(text) - 1:
                    return text
                break
    return f"({text})"


def _path(kind: str, name: str, columns: tuple[str, ...], reasons: list[str]) -> AccessPath:
    return AccessPath(
        kind=kind,
        name=name,
        definition=f"({', '.join(columns)})",
        columns=columns,
        reasons=tuple(reasons),
    )


def _index_definition(ix: Index) -> str:
    text = ("UNIQUE " if ix.unique else "") + f"{ix.method} ("
    text += ", ".join(index_key_text(k) for k in ix.keys) + ")"
    if ix.include:
        text += f" INCLUDE ({', '.join(ix.include)})"
    if ix.where:
        text += f" WHERE {ix.where}"
    return text


def _index_reasons(
    table: Table, ix: Index, fks: Sequence[ForeignKey], plain: dict[str, tuple[str, ...]]
) -> list[str]:
    cols = plain[ix.name]
    keys = ", ".join(index_key_text(k) for k in ix.keys)
    reasons = []
    if ix.parent:
        reasons.append(f"this partition's part of the parent index {ix.parent}")
    if ix.unique:
        reasons.append(f"enforces uniqueness of ({keys})")
    if ix.where:
        live = _SOFT_DELETE.search(ix.where) and "IS NULL" in ix.where.upper()
        scope = "live rows only (soft delete)" if live else f"only rows where {ix.where}"
        reasons.append(f"partial: {scope}, so it stays small")
    reasons += [
        f"backs foreign key {fk.name} → {qualify(fk.ref_schema, fk.ref_table)}: joins from "
        "the parent and its ON DELETE checks avoid a full scan"
        for fk in fks
        if supports(cols, fk)
    ]
    if ix.method.lower() in _METHOD:
        reasons.append(_METHOD[ix.method.lower()])
    if any(k.expression for k in ix.keys):
        exprs = ", ".join(k.column for k in ix.keys if k.expression)
        reasons.append(f"serves filters on the expression {exprs} (written exactly so)")
    if ix.include:
        reasons.append(f"covering: INCLUDE ({', '.join(ix.include)}) allows index-only scans")
    if any(k.descending for k in ix.keys):
        reasons.append("ordered for ORDER BY … DESC")
    if len(ix.keys) > 1 and not ix.unique:
        reasons.append(f"equality on {ix.keys[0].column}, then range or order on the rest")
    longer = _longer_twin(table, ix, cols)
    if longer:
        reasons.append(f"redundant: a prefix of {longer}, which serves the same lookups")
    if not reasons:
        reasons.append(f"explicit: serves filters and sorts on {keys}")
    return reasons


def _longer_twin(table: Table, ix: Index, cols: tuple[str, ...]) -> str | None:
    """Another plain index of the same method whose keys start with all of `ix`'s."""
    if ix.unique or ix.where or not cols or len(cols) != len(ix.keys):
        return None
    for other in table.indexes:
        ocols = plain_columns(other)
        if (
            other.name != ix.name
            and other.where is None
            and other.method == ix.method
            and len(ocols) > len(cols)
            and ocols[: len(cols)] == cols
        ):
            return other.name
    return None


def _shown_columns(t: Table, keys: Sequence[str], extra: int = 3) -> list[str]:
    """The key columns and the first few others: enough to read, never SELECT *."""
    rest = [c.name for c in t.columns if c.name not in keys][:extra]
    return [*keys, *rest]


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"
