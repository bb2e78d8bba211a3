"""Index candidates from query shapes: what might help, before anything is costed.

Per query and table, a B-tree's key columns go equality → one range → join → sort (equality
columns most selective first: single-column unique keys, then ordinary columns, then columns with
few distinct values — per-column statistics are not in `Stats` — ties by name), at most four
wide; with every prefix and a single-column candidate per filtered or joined column, so the
selection step can start narrow and widen. Beside them: partial indexes for a constant on a
column with few values (`WHERE status = 'open'`, `WHERE deleted_at IS NULL`), covering
(INCLUDE) variants for index-only scans, BRIN for range filters on time or serial columns of
large tables, expression indexes for predicates on an expression, GIN for containment, full
text and (with pg_trgm) infix patterns. Candidates an existing index already serves are
dropped. Every output is sorted; nothing depends on hash order.

Key columns are a column's name as the engine spells it (unquoted), a parenthesized expression,
or a column name followed by an operator class after the last space. WHERE texts are SQL, with
identifiers double-quoted where the standard requires it and constants exactly as the query
wrote them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import cast

from dbarchitect.model import Schema, Table
from dbarchitect.model.stats import Stats
from dbarchitect.tune.model import Candidate, IndexMethod, Predicate, Query, Shape

MAX_KEYS = 4
MAX_INCLUDE = 5
LARGE_ROWS = 1_000_000  # BRIN pays off on big, naturally ordered tables only
LARGE_BYTES = 1 << 30  # …or, where the row count is unknown, on this many bytes
_WIDE = frozenset({"text", "json", "jsonb", "binary", "xml", "fulltext", "array", "geometric"})
_TIME = frozenset({"date", "timestamp", "timestamptz"})
_INTEGER = frozenset({"smallint", "integer", "bigint"})
_TEXT = frozenset({"char", "varchar", "text"})
# Words PostgreSQL reserves (and SQL mostly does): an identifier spelled so needs quotes.
_RESERVED_WORDS = (
    "all and any array as asc both case cast check collate column constraint create current_date "
    "current_time current_timestamp current_user default desc distinct do else end except false "
    "fetch for foreign from grant group having in initially intersect into lateral leading limit "
    "localtime not null offset on only or order placing primary references returning select "
    "session_user some symmetric table then to trailing true union unique user using variadic "
    "when where window with"
)
_RESERVED = frozenset(_RESERVED_WORDS.split())


@dataclass(frozen=True, slots=True)
class _Need:
    """What one query asks of one table, as candidate material."""

    table: Table
    eq: tuple[str, ...]  # key texts: column names, or (expression)
    ranges: tuple[str, ...]
    joins: tuple[str, ...]
    sort: tuple[str, ...]
    reads: tuple[str, ...]


def candidates(
    shapes: Sequence[tuple[Query, Shape]],
    schema: Schema,
    stats: Stats | None,
    *,
    methods: frozenset[IndexMethod],
) -> list[Candidate]:
    """Index candidates for the workload: sorted by (table, method, columns, include, where),
    one per key, those an existing index covers left out."""
    found: dict[tuple[object, ...], list[tuple[str, str, Candidate]]] = {}
    trigram = any(e.name == "pg_trgm" for e in schema.extensions)
    for query, shape in shapes:
        for name in shape.tables:
            table = schema.table(name)
            if table is None:  # a materialized view: not proposed here
                continue
            preds = [p for p in shape.predicates if p.table == name]
            need = _need(table, shape, preds)
            made = list(_btree(need, preds) if "btree" in methods else ())
            if "brin" in methods and _large(stats, name):
                made += [
                    (
                        f"range on {c} of a large table",
                        Candidate(table=name, columns=(c,), method="brin"),
                    )
                    for c in need.ranges
                    if _serial_or_time(table, c)
                ]
            if "gin" in methods:
                made += _gin(table, preds, trigram)
            if "hash" in methods:
                made += [
                    (f"eq on {c}", Candidate(table=name, columns=(c,), method="hash"))
                    for c in need.eq
                ]
            for what, c in made:
                found.setdefault(_key(c), []).append((query.fingerprint, what, c))
    out = []
    for entries in found.values():
        entries.sort(key=lambda e: (e[0], e[1]))
        fps = sorted({fp[:8] for fp, _, _ in entries})
        more = f", +{len(fps) - 3}" if len(fps) > 3 else ""
        c = entries[0][2]
        reason = f"{entries[0][1]} (q {', '.join(fps[:3])}{more})"
        if _usable(c, schema) and covered_by(c, schema) is None:
            out.append(replace(c, reason=reason))
    return sorted(out, key=_key)


def _need(table: Table, shape: Shape, preds: list[Predicate]) -> _Need:
    name = table.qualified

    def key(p: Predicate) -> str:
        return f"({p.column})" if p.expression else p.column

    eq = sorted({key(p) for p in preds if p.op == "eq"}, key=lambda c: (_rank(table, c), c))
    ranges = sorted({key(p) for p in preds if p.op == "range"} - set(eq))
    joins = {j.left_column for j in shape.joins if j.left_table == name}
    joins |= {j.right_column for j in shape.joins if j.right_table == name}
    sort: tuple[str, ...] = ()
    order = shape.order_by or shape.group_by
    if order and all(k.table == name for k in order):
        if len({k.descending for k in order}) == 1:  # one direction: a scan either way serves
            sort = tuple(dict.fromkeys(k.column for k in order))
    elif shape.group_by and not shape.order_by:
        sort = tuple(dict.fromkeys(k.column for k in shape.group_by if k.table == name))
    reads = tuple(sorted({c for t, c in shape.reads if t == name}))
    return _Need(table, tuple(eq), tuple(ranges), tuple(sorted(joins)), sort, reads)


def _btree(need: _Need, preds: list[Predicate]) -> Iterable[tuple[str, Candidate]]:
    """Composites in equality → range → join → sort order with their prefixes, singles,
    covering variants, partial variants."""
    name, table = need.table.qualified, need.table
    eq = tuple(c for c in need.eq if _indexable(table, c))
    ranges = tuple(c for c in need.ranges if _indexable(table, c))
    composites = []
    for r in ranges[:3] or (None,):
        composites.append(_cols(eq, (r,) if r else (), need.joins, need.sort))
        if r is not None and len(ranges) > 1:  # the other ranges as filter columns after it
            composites.append(_cols(eq, (r,), tuple(x for x in ranges if x != r)))
    if ranges and need.joins:
        composites.append(_cols(eq, need.joins, need.sort))
    if need.joins and eq:  # join key first: the inner side of a nested loop
        composites.append(_cols(need.joins, eq))
    what = _describe(eq, ranges, need.joins, need.sort)
    for cols in filter(None, composites):
        for n in range(1, len(cols) + 1):
            yield what, Candidate(table=name, columns=cols[:n])
        include = tuple(c for c in need.reads if c not in cols)
        if 0 < len(include) <= MAX_INCLUDE and not any(_wide(table, c) for c in include):
            yield f"covering {what}", Candidate(table=name, columns=cols, include=include)
    for c in (*eq, *ranges, *need.joins, *need.sort[:1]):
        yield what, Candidate(table=name, columns=(c,))
    for c in sorted({p.column for p in preds if p.op == "range" and _like_prefix(p)}):
        pattern_ops = "bpchar_pattern_ops" if _logical(table, c) == "char" else "text_pattern_ops"
        yield f"LIKE prefix on {c}", Candidate(table=name, columns=(f"{c} {pattern_ops}",))
    for p in sorted(preds, key=lambda p: (p.column, p.value or "")):
        if p.op != "eq" or p.expression or p.value is None or not _few_values(table, p):
            continue
        rest = _cols(tuple(c for c in eq if c != p.column), ranges[:1], need.joins, need.sort)
        where = _where(p)
        yield f"partial {where}", Candidate(table=name, columns=rest or (p.column,), where=where)


def _gin(table: Table, preds: list[Predicate], trigram: bool) -> list[tuple[str, Candidate]]:
    """GIN for containment (jsonb, arrays), full text, and infix patterns with pg_trgm."""
    out = []
    for p in preds:
        col = f"({p.column})" if p.expression else p.column
        kind = None if p.expression else _logical(table, p.column)
        key, what = None, ""
        if p.op == "contains" and kind in (None, "jsonb", "array"):
            key, what = col, f"containment on {col}"
        elif p.op == "fts" and (kind == "fulltext" or _fixed_config(p)):
            key, what = col, f"full text on {col}"
        elif p.op == "like_infix" and trigram and (kind is None or kind in _TEXT):
            key, what = f"{col} gin_trgm_ops", f"infix pattern on {col}"
        if key is not None:
            out.append((what, Candidate(table=table.qualified, columns=(key,), method="gin")))
    return out


def _fixed_config(p: Predicate) -> bool:
    """to_tsvector with its text search configuration spelled out: only that form is
    IMMUTABLE, so only it can be indexed."""
    return (
        p.expression
        and re.match(r"(pg_catalog\.)?to_tsvector\('[^']*'(::\w+)?,", p.column) is not None
    )


def _cols(*parts: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(c for part in parts for c in part))[:MAX_KEYS]


def _describe(
    eq: Sequence[str], ranges: Sequence[str], joins: Sequence[str], sort: Sequence[str]
) -> str:
    parts = [
        f"{what} on {', '.join(cols)}"
        for what, cols in (("eq", eq), ("range", ranges), ("join", joins), ("sort", sort))
        if cols
    ]
    return "; ".join(parts) or "columns read"


def _rank(table: Table, key: str) -> int:
    """0: a single-column unique key (most selective), 1: ordinary, 2: few distinct values."""
    single: set[tuple[str, ...]] = {u.columns for u in table.uniques if len(u.columns) == 1}
    if table.primary_key is not None:
        single.add(table.primary_key.columns)
    single |= {(i.keys[0].column,) for i in table.indexes if i.unique and len(i.keys) == 1}
    if (key,) in single:
        return 0
    return 2 if _low_cardinality(table, key) else 1


def _low_cardinality(table: Table, column: str) -> bool:
    col = table.column(column)
    if col is None:
        return False
    if col.logical in ("boolean", "enum") or re.fullmatch(
        r"(character|char)\(1\)|\"char\"", col.type
    ):
        return True
    quoted = re.escape(column)  # CHECK (status IN (…)) as the engine prints it
    return any(re.search(rf"\b{quoted}\b.*(= ANY \(|\bIN \()", c.expression) for c in table.checks)


def _few_values(table: Table, p: Predicate) -> bool:
    return p.value == "NULL" or _low_cardinality(table, p.column)


def _where(p: Predicate) -> str:
    col = _ident(p.column)
    return f"{col} IS NULL" if p.value == "NULL" else f"{col} = {p.value}"


def _like_prefix(p: Predicate) -> bool:
    v = p.value or ""
    return not p.expression and v.startswith("'") and re.search(r"(?<!\\)[%_]", v) is not None


def _indexable(table: Table, key: str) -> bool:
    """Expression keys only over columns whose functions can be IMMUTABLE: most functions
    of timestamptz depend on the time zone, so PostgreSQL refuses to index them."""
    if not key.startswith("("):
        return True
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_$]*", re.sub(r"'[^']*'", "", key)))
    return not any(c.logical == "timestamptz" for c in table.columns if c.name in words)


def _logical(table: Table, column: str) -> str | None:
    col = table.column(column)
    return col.logical if col is not None else None


def _wide(table: Table, column: str) -> bool:
    col = table.column(column)
    return col is None or col.logical in _WIDE or col.type in ("character varying", "bytea")


def _serial_or_time(table: Table, column: str) -> bool:
    col = table.column(column)
    if col is None:
        return False
    if col.logical in _TIME:
        return True
    serial = col.identity is not None or (col.default or "").startswith("nextval(")
    return col.logical in _INTEGER and serial


def _large(stats: Stats | None, table: str) -> bool:
    ts = stats.tables.get(table) if stats is not None else None
    if ts is None:
        return False
    return ts.rows >= LARGE_ROWS or (ts.rows <= 0 and ts.size_bytes >= LARGE_BYTES)


def _usable(c: Candidate, schema: Schema) -> bool:
    table = schema.table(c.table)
    return table is not None and all(_parse_key(table, k) is not None for k in c.columns)


def _key(c: Candidate) -> tuple[str, str, tuple[str, ...], tuple[str, ...], str]:
    return (c.table, c.method, c.columns, c.include, c.where or "")


# --- existing indexes ------------------------------------------------------------------------


def covered_by(candidate: Candidate, schema: Schema) -> str | None:
    """The name of an existing index (primary key and unique constraints included) that
    already serves `candidate`: same method, the candidate's keys a prefix of its keys (any of
    its keys for GIN and BRIN, whose columns are searched independently), its INCLUDE columns
    among the index's columns, and the same partial-index predicate (or none on both)."""
    table = schema.table(candidate.table)
    if table is None:
        return None
    wanted = [_parse_key(table, k) for k in candidate.columns]
    where = _norm(candidate.where) if candidate.where else None
    for name, method, keys, include, ewhere in _existing(table):
        if method != candidate.method or ewhere != where:
            continue
        if method in ("gin", "brin"):
            fits = all(w in keys for w in wanted)
        elif method == "hash":
            fits = wanted == keys
        else:
            fits = wanted == keys[: len(wanted)]
        if fits and set(candidate.include) <= {k[0] for k in keys if k} | set(include):
            return name
    return None


_Key = tuple[str, str]  # (column name or normalized expression, operator class or "")


def existing_indexes(schema: Schema, tables: Iterable[str]) -> list[Candidate]:
    """The indexes `tables` already have (constraints' included) as Candidates, so that the
    selection never proposes a step one of them provides."""
    out: list[Candidate] = []
    for qualified in sorted(set(tables)):
        table = schema.table(qualified)
        if table is None:
            continue
        for name, method, keys, include, where in _existing(table):
            if any(k is None for k in keys) or method not in ("btree", "brin", "gin", "hash"):
                continue
            columns = tuple(f"{k[0]} {k[1]}" if k[1] else k[0] for k in keys if k is not None)
            out.append(
                Candidate(
                    table=qualified,
                    columns=columns,
                    include=include,
                    where=where,
                    method=cast(IndexMethod, method),
                    reason=f"existing index {name}",
                )
            )
    return out


def _existing(
    table: Table,
) -> list[tuple[str, str, list[_Key | None], tuple[str, ...], str | None]]:
    out: list[tuple[str, str, list[_Key | None], tuple[str, ...], str | None]] = []
    for con in ([table.primary_key] if table.primary_key else []) + list(table.uniques):
        out.append((con.name, "btree", [(c, "") for c in con.columns], con.include, None))
    for ix in table.indexes:
        keys: list[_Key | None] = [
            (_norm(k.column) if k.expression else k.column, k.opclass or "") for k in ix.keys
        ]
        out.append((ix.name, ix.method, keys, ix.include, _norm(ix.where) if ix.where else None))
    return sorted(out, key=lambda e: e[0])


def _parse_key(table: Table, key: str) -> _Key | None:
    """A candidate key text → (column or normalized expression, operator class)."""
    if key.startswith("("):
        depth = 0
        for i, ch in enumerate(key):
            depth += {"(": 1, ")": -1}.get(ch, 0)
            if depth == 0:
                return _norm(key[: i + 1]), key[i + 1 :].strip()
        return None
    if table.column(key) is not None:
        return key, ""
    name, _, opclass = key.rpartition(" ")
    return (name, opclass) if table.column(name) is not None else None


_CAST = re.compile(
    r"::(?:\"[^\"]+\"|[a-z_][a-z0-9_]*)(?:\.[a-z_][a-z0-9_]*)?"
    r"(?: (?:varying|precision|with time zone|without time zone))?(?:\(\d+(?:,\s*\d+)?\))?(?:\[\])*"
)


def _norm(text: str) -> str:
    """A comparison form of an expression or predicate as an engine prints it and as a query
    writes it: casts, schema-qualified function names, redundant parentheses, case outside
    quotes and spacing ignored (`(lower((email)::text))` = `lower(email)`)."""
    parts = re.split(r"('(?:[^']|'')*')", text)
    text = "".join(p if i % 2 else p.lower() for i, p in enumerate(parts))
    text = _CAST.sub("", text)
    text = re.sub(r"\b(pg_catalog|public)\.", "", text)
    text = re.sub(r"\s+", " ", text).strip()
    prev = None
    while prev != text:
        prev = text
        text = re.sub(r"(^|[(,\s])\(([\w.\"']+)\)", r"\1\2", text)
        if text.startswith("(") and _closes_at_end(text):
            text = text[1:-1].strip()
    return re.sub(r"\s*([(),=<>])\s*", r"\1", text)


def _closes_at_end(text: str) -> bool:
    depth = 0
    for i, ch in enumerate(text):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth == 0:
            return i == len(text) - 1
    return False


# --- names -------------------------------------------------------------------------------------


def index_name(candidate: Candidate, max_bytes: int) -> str:
    """`<table>_<col1>_<col2>_idx` (a non-B-tree method before `_idx`; expressions and odd
    names reduced to [a-z0-9_]). Where that would lose something of the key — INCLUDE, WHERE,
    a name or expression not already plain — an 8-hex digest of the whole key is added, so
    two different keys never share a name; a name over `max_bytes` is cut and gets the
    digest too."""
    table = candidate.table.split(".", 1)[-1]
    cols = [_slug(c) for c in candidate.columns]
    digest = hashlib.sha256(repr(candidate.key).encode()).hexdigest()[:8]
    plain = not candidate.include and not candidate.where and _slug(table) == table
    plain = plain and all(s == c for s, c in zip(cols, candidate.columns, strict=True))
    method = [] if candidate.method == "btree" else [candidate.method]
    stem = "_".join([_slug(table) or "t", *cols, *method])
    tail = "_idx" if plain else f"_{digest}_idx"
    if len((stem + tail).encode()) > max_bytes:
        tail = f"_{digest}_idx"
        stem = stem[: max(1, max_bytes - len(tail))].rstrip("_")
    return stem + tail


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def _ident(name: str) -> str:
    if re.fullmatch(r"[a-z_][a-z0-9_$]*", name) and name not in _RESERVED:
        return name
    return '"' + name.replace('"', '""') + '"'
