"""How many bytes an index would take once built, from the planner's statistics.

B-tree: rows (the planner's row estimate of the table, or of `SELECT 1 FROM t WHERE <where>`
for a partial index) × leaf entry bytes (8-byte index tuple header, a 4-byte null bitmap when
a key can be null, the keys laid out with their type alignment, MAXALIGNed, plus a 4-byte line
pointer), packed the way CREATE INDEX packs leaves (fillfactor 90: 7,333 of 8,152 usable bytes
per 8 kB page), plus inner pages (pivot tuples at fillfactor 70) and the metapage. Key widths
come from pg_stats.avg_width (non-null values; short varlena headers included) or the type's
length; an expression, which has no statistics before its index exists, is sampled.
Deduplication (PostgreSQL ≥ 13, on by default): when every key's default operator class
declares "equal image" (integers, dates, text under a deterministic collation…; not numeric,
floats, jsonb, or indexes with INCLUDE columns), equal keys share posting-list tuples — one key
and 6 bytes per heap TID, at most 808 bytes per tuple as the build caps them. Group sizes come
from the null fraction, the most common values' frequencies and n_distinct; for several keys,
from the distinct combinations counted in a sample of rows. BRIN: one summary tuple per 128
heap pages plus the metapage and revmap. Hash: 20-byte entries in a power-of-two number of
buckets at fillfactor 75.

Leaf tuple sizes are averaged over sampled rows (stored widths, laid out row by row) when every
key is a plain column, else computed from the statistics. Distinct combinations of plain
columns are counted in the table's row sample (see rowsample.py: drawn by random TIDs, uniform
over rows); expressions and GIN keys are drawn with TABLESAMPLE SYSTEM … REPEATABLE (a fixed
seed). Either way the number of distinct keys in the table is extrapolated with Chao1, capped by
scaling the keys seen once to the whole table, and estimates repeat from run to run.

GIN is rougher (within a factor of about 1.5 in our tests): the keys its operator class would
extract (array elements, lexemes, trigrams, jsonb keys and scalar values or path/value pairs)
are drawn from a sample; one entry tuple per distinct key, holding its first heap TID, on
entry pages about half full (the build inserts keys in order and GIN splits pages in the
middle), and 1–4 bytes per further TID of compressed posting data depending on how far apart
a key's rows are.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import psycopg

from dbarchitect.dialects.postgres.quoting import quote
from dbarchitect.dialects.postgres.tune.rowsample import (
    SAMPLE_ROWS,
    TYPE_SQL,
    combinations,
    distinct,
    maxalign,
    plan_rows,
    sampled_tuple,
    table_info,
)
from dbarchitect.dialects.postgres.tune.whatif import find_table, split_entry
from dbarchitect.engines.base import Session
from dbarchitect.errors import DbarchError, InputError
from dbarchitect.model import Schema
from dbarchitect.tune.model import Candidate

PAGE_HEADER = 24
BTREE_SPECIAL = 16
LEAF_FREE_PCT = 10  # CREATE INDEX leaves 10% of each leaf page free (fillfactor 90)
INNER_FREE_PCT = 30  # and 30% of each inner page
MAX_POSTING_TUPLE = 808  # build-time cap on a posting-list tuple (1/10 page, MAXALIGNed down)
TID_BYTES = 6
LINE_POINTER = 4
BRIN_PAGES_PER_RANGE = 128


# The keys a GIN operator class extracts from one value, as a query over `r.<column>`: close
# enough in number and spread to size the index (jsonb_path_ops hashes path+value pairs).
_GIN_KEYS = {
    "array": "SELECT unnest({c})::text",
    "tsvector": "SELECT lexeme FROM unnest({c})",
    "trgm": "SELECT unnest(show_trgm({c}::text))",
    "jsonb": (
        'SELECT jsonb_path_query({c}, \'strict $.** ? (@.type() == "object")'
        ".keyvalue().key')::text UNION ALL SELECT jsonb_path_query({c},"
        ' \'strict $.** ? (@.type() != "object" && @.type() != "array")\')::text'
    ),
    "jsonb_path": (
        "SELECT (kv->>'key') || '=' || (kv->'value')::text FROM jsonb_path_query({c},"
        " 'strict $.** ? (@.type() == \"object\").keyvalue()') AS kv"
        " WHERE jsonb_typeof(kv->'value') NOT IN ('object', 'array')"
    ),
    "scalar": "SELECT {c}::text",
}


@dataclass(frozen=True, slots=True)
class _Key:
    width: float  # average bytes of a non-null value
    align: int
    varlena: bool
    null_frac: float = 0.0
    distinct: float = 0.0  # distinct non-null values; 0 = unknown (taken as all distinct)
    mcf: tuple[float, ...] = ()
    equalimage: bool = False


@dataclass(frozen=True, slots=True)
class _Sample:
    """Keys drawn from a sample of rows, scaled to the table."""

    entries_per_row: float  # non-null keys per sampled row
    distinct: float  # distinct keys in the whole table (Chao1, capped by scaled singletons)
    width: float  # average bytes of a key, per entry
    key_width: float  # average bytes of a key, per distinct key
    tid_bytes: float  # average bytes of a compressed heap TID in the key's posting data


def estimate_size(session: Session, schema: Schema, candidate: Candidate) -> int:
    """Estimated bytes of `candidate` once built (see the module docstring for the model)."""
    info = table_info(session, schema, candidate.table)
    name, block, table_rows = info.name, info.block, info.rows
    rows = table_rows
    if candidate.where:
        rows = plan_rows(session, f"SELECT 1 FROM {name} WHERE {candidate.where}")
    table = find_table(schema, candidate.table)
    columns = info.columns
    entries = [split_entry(e, table) for e in candidate.columns]
    if candidate.method == "gin":
        samples = [
            _sample(
                session,
                name,
                _gin_keys(columns.get(col), col, expr, suffix),
                rows,
                rows_per_page=info.per_page * rows / table_rows,
                where=candidate.where,
            )
            for col, expr, suffix in entries
        ]
        return _gin(samples, rows, block)
    keys = [_key(session, name, columns, col, expr, table_rows) for col, expr, _ in entries]
    if candidate.method == "brin":
        heap_pages = max(1, math.ceil(info.bytes / block))
        return _brin(keys, heap_pages, block)
    if candidate.method == "hash":
        return _hash(rows, block)
    include = [
        _key(session, name, columns, *split_entry(c, table)[:2], table_rows)
        for c in candidate.include
    ]
    dedup = session.server_version >= 130000 and not include and all(k.equalimage for k in keys)
    if dedup and len(keys) == 1 and not entries[0][1]:
        # ANALYZE's n_distinct runs low on keys whose rows cluster (o_custkey: 86,880 of
        # 99,996): the uniform row sample's count is used when it has the column.
        sampled_distinct = combinations(session, info, [entries[0][0]])
        if sampled_distinct < info.rows:
            keys[0] = replace(keys[0], distinct=max(keys[0].distinct, sampled_distinct))
    if dedup and len(keys) > 1:  # distinct combinations: sampled, not multiplied
        plain = [col for col, expr, _ in entries if not expr]
        if len(plain) == len(entries):
            combos = combinations(session, info, plain)
        else:
            tuple_sql = "SELECT ROW(" + ", ".join(_ref(c, e) for c, e, _ in entries) + ")::text"
            combos = _sample(session, name, tuple_sql, table_rows).distinct
        keys[0] = replace(keys[0], distinct=combos, mcf=())
        keys[1:] = [replace(k, distinct=1.0, mcf=()) for k in keys[1:]]
    selectivity = rows / table_rows if table_rows else 1.0
    sampled: tuple[float | None, float | None] = (None, None)
    if not any(expr for _, expr, _ in entries) and not candidate.where:
        plain_keys = [col for col, _, _ in entries]
        plain_include = [split_entry(c, table)[0] for c in candidate.include]
        sampled = (
            sampled_tuple(session, info, plain_keys + plain_include),
            sampled_tuple(session, info, plain_keys),
        )
    return _btree(keys, include, rows, selectivity, dedup, block, sampled=sampled)


def _ref(column: str, expression: bool) -> str:
    return column if expression else "r." + quote(column)


def _key(
    session: Session,
    name: str,
    columns: dict[str, dict[str, Any]],
    column: str,
    expression: bool,
    table_rows: float,
) -> _Key:
    row = None if expression else columns.get(column)
    if row is not None:
        return _column_key(row, table_rows)
    # An expression has no statistics before its index exists: sample it.
    try:
        typ = session.fetch(
            TYPE_SQL + f" FROM pg_catalog.pg_type t WHERE t.oid = (SELECT pg_typeof(s.x)::oid"
            f" FROM (VALUES (1)) v LEFT JOIN LATERAL (SELECT {column} AS x FROM {name} AS r"
            " LIMIT 0) s ON true)"
        )
    except (psycopg.Error, DbarchError) as exc:
        raise InputError(f"{name}: cannot evaluate {column}: {exc}".splitlines()[0]) from None
    sample = _sample(session, name, f"SELECT {column}", table_rows)
    typlen = int(typ[0]["typlen"]) if typ else -1
    return _Key(
        width=float(typlen) if typlen > 0 else sample.width,
        align={"c": 1, "s": 2, "i": 4, "d": 8}.get(str(typ[0]["typalign"]) if typ else "i", 4),
        varlena=typlen == -1,
        distinct=sample.distinct,
        equalimage=bool(typ and typ[0]["equalimage"]),
    )


def _column_key(row: dict[str, Any], table_rows: float) -> _Key:
    typlen = int(row["typlen"])
    width = float(row["avg_width"]) if row["avg_width"] is not None else float(max(typlen, 8))
    if typlen > 0:
        width = float(typlen)
    n_distinct = float(row["n_distinct"] or 0.0)
    return _Key(
        width=width,
        align={"c": 1, "s": 2, "i": 4, "d": 8}.get(str(row["typalign"]), 4),
        varlena=typlen == -1,
        null_frac=float(row["null_frac"] or 0.0),
        distinct=-n_distinct * table_rows if n_distinct < 0 else n_distinct,
        mcf=tuple(float(f) for f in row["mcf"] or ()),
        equalimage=bool(row["equalimage"]) and bool(row["deterministic"]),
    )


def _gin_keys(row: dict[str, Any] | None, column: str, expression: bool, opclass: str) -> str:
    ref = _ref(column, expression)
    typname = str(row["typname"]) if row is not None else ""
    if "trgm" in opclass:
        kind = "trgm"
    elif typname == "jsonb":
        kind = "jsonb_path" if "path" in opclass else "jsonb"
    elif typname == "tsvector":
        kind = "tsvector"
    elif row is not None and row["is_array"]:
        kind = "array"
    else:
        kind = "scalar"
    return _GIN_KEYS[kind].format(c=ref)


def _sample(
    session: Session,
    name: str,
    keys_sql: str,
    table_rows: float,
    *,
    rows_per_page: float = 100.0,
    where: str | None = None,
) -> _Sample:
    """Keys of up to SAMPLE_ROWS rows (block sample, fixed seed: same answer every run);
    `table_rows` is how many rows the sample stands for (those matching `where`, if given)."""
    sample = ""
    if table_rows > SAMPLE_ROWS:
        pct = min(100.0, 150.0 * SAMPLE_ROWS / table_rows)
        sample = f" TABLESAMPLE SYSTEM ({pct:.6f}) REPEATABLE (0)"
    filter = f" WHERE {where}" if where else ""
    # GIN stores a posting list as varbyte deltas of (block << 11 | offset): 1 byte for a key
    # seen several times per heap page, 2 within ~8 pages, 3 within ~1,000, else 4.
    per_page = f"(SELECT count(*) FROM r)::float8 / {max(rows_per_page, 1.0):.3f}"
    sql = (
        f"WITH r AS MATERIALIZED (SELECT * FROM {name}{sample}{filter} LIMIT {SAMPLE_ROWS}),"
        f" s AS (SELECT e.k FROM r, LATERAL ({keys_sql}) AS e(k) WHERE e.k IS NOT NULL),"
        " g AS (SELECT k, count(*) AS c, pg_column_size(k) AS w FROM s GROUP BY k)"
        " SELECT (SELECT count(*) FROM r) AS n, COALESCE(sum(c), 0) AS entries,"
        " count(*) AS d, count(*) FILTER (WHERE c = 1) AS f1,"
        " count(*) FILTER (WHERE c = 2) AS f2,"
        " COALESCE(sum(c * w) / NULLIF(sum(c), 0), 0) AS width,"
        " COALESCE(avg(w), 0) AS key_width,"
        f" COALESCE(sum(c * CASE WHEN c >= {per_page} THEN 1 WHEN c * 8 >= {per_page} THEN 2"
        f" WHEN c * 1024 >= {per_page} THEN 3 ELSE 4 END) / NULLIF(sum(c), 0), 2) AS tid_bytes"
        " FROM g"
    )
    try:
        row = session.fetch(sql)[0]
    except (psycopg.Error, DbarchError) as exc:
        raise InputError(f"{name}: cannot sample {keys_sql}: {exc}".splitlines()[0]) from None
    n, entries = int(row["n"]), int(row["entries"])
    d, f1, f2 = int(row["d"]), int(row["f1"]), int(row["f2"])
    return _Sample(
        entries_per_row=entries / n if n else 0.0,
        distinct=distinct(n, d, f1, f2, table_rows),
        width=float(row["width"]),
        key_width=float(row["key_width"]),
        tid_bytes=float(row["tid_bytes"]),
    )


def _data_bytes(keys: list[_Key], *, with_nulls: bool) -> float:
    offset = 0.0
    for k in keys:
        width = k.width * (1.0 - k.null_frac) if with_nulls else k.width
        if not (k.varlena and k.width < 127):  # short varlenas are stored unaligned
            offset = math.ceil(offset / k.align) * k.align
        offset += width
    return offset


def _tuple_bytes(keys: list[_Key]) -> float:
    """Average index tuple size (MAXALIGNed), mixing rows with and without NULL keys."""
    any_null = 1.0 - math.prod(1.0 - k.null_frac for k in keys)
    plain = maxalign(8 + _data_bytes(keys, with_nulls=False))
    nulls = maxalign(16 + _data_bytes(keys, with_nulls=True))
    return (1.0 - any_null) * plain + any_null * nulls


def _groups(keys: list[_Key], rows: float, selectivity: float) -> list[tuple[float, float]]:
    """(number of groups, rows per group) of equal keys among the index's rows."""
    if len(keys) == 1:
        k = keys[0]
        full = rows / selectivity if selectivity > 0 else rows
        groups = [(1.0, k.null_frac * full)] if k.null_frac > 0 else []
        groups += [(1.0, f * full) for f in k.mcf]
        rest_rows = full * max(0.0, 1.0 - k.null_frac - sum(k.mcf))
        rest_distinct = max(1.0, (k.distinct or full) - len(k.mcf))
        groups.append((rest_distinct, rest_rows / rest_distinct))
    else:
        distinct = math.prod(max(1.0, k.distinct or rows) + (k.null_frac > 0) for k in keys)
        full = rows / selectivity if selectivity > 0 else rows
        distinct = min(distinct, full)
        groups = [(distinct, full / distinct)]
    out = []
    for count, size in groups:  # a partial index keeps `selectivity` of each group
        size *= selectivity
        if size < 1.0:
            count, size = count * size, 1.0
        if count > 0:
            out.append((count, size))
    return out


def _posting_bytes(n: float, key_bytes: int) -> tuple[float, float]:
    """Leaf bytes (tuples + line pointers) and leaf items for `n` equal keys merged into
    posting lists."""

    def whole(m: int) -> tuple[float, float]:
        if m <= 1:
            return float(key_bytes + LINE_POINTER) * m, float(m)
        cap = max(2, (MAX_POSTING_TUPLE - key_bytes) // TID_BYTES)
        full, rest = divmod(m, cap)
        total = full * (maxalign(key_bytes + TID_BYTES * cap) + LINE_POINTER)
        if rest == 1:
            total += key_bytes + LINE_POINTER
        elif rest > 1:
            total += maxalign(key_bytes + TID_BYTES * rest) + LINE_POINTER
        return float(total), float(full + (rest > 0))

    low = math.floor(n)
    frac = n - low
    (b0, i0), (b1, i1) = whole(low), whole(low + 1)
    return (1 - frac) * b0 + frac * b1, (1 - frac) * i0 + frac * i1


def _btree(
    keys: list[_Key],
    include: list[_Key],
    rows: float,
    selectivity: float,
    dedup: bool,
    block: int,
    *,
    sampled: tuple[float | None, float | None] = (None, None),
) -> int:
    """Pages of a B-tree; `sampled` are the average leaf tuple and key-only tuple sizes
    measured on sampled rows, used instead of the statistics' when known."""
    usable = block - PAGE_HEADER - BTREE_SPECIAL
    inner_fill = usable - block * INNER_FREE_PCT // 100
    leaf_tuple = sampled[0] or _tuple_bytes(keys + include)
    key_tuple = sampled[1] or _tuple_bytes(keys)
    pivot = key_tuple + LINE_POINTER
    if dedup:
        key_bytes = round(key_tuple)
        postings = [(c, _posting_bytes(n, key_bytes)) for c, n in _groups(keys, rows, selectivity)]
        leaf_bytes = sum(c * b for c, (b, _) in postings)
        items = sum(c * i for c, (_, i) in postings)
    else:
        leaf_bytes, items = rows * (leaf_tuple + LINE_POINTER), rows
    # The build fills a leaf until less than 10% of it is free, then moves its last item to
    # the next page and puts a (truncated) high key in its place. How much more than 10% that
    # leaves free depends on how item sizes mix: up to half an item, none when all are alike.
    # A quarter of the average item matched real builds of TPC-H's posting lists (l_suppkey,
    # o_orderdate: 2-4% short without it) and overshoots alike-sized ones by 2-3%. It is
    # negligible for plain tuples.
    item = leaf_bytes / items if items else 0.0
    leaf_fill = usable - block * LEAF_FREE_PCT // 100 - max(0.0, item / 4 - pivot)
    leaf_pages = max(1, math.ceil(leaf_bytes / leaf_fill))
    pages, level = 1 + leaf_pages, leaf_pages
    while level > 1:
        level = math.ceil(level * pivot / inner_fill)
        pages += level
    return pages * block


def _brin(keys: list[_Key], heap_pages: int, block: int) -> int:
    ranges = math.ceil(heap_pages / BRIN_PAGES_PER_RANGE)
    summary = maxalign(8 + 2 * _data_bytes(keys, with_nulls=False)) + LINE_POINTER
    regular = math.ceil(ranges * summary / (block - PAGE_HEADER - 8))
    revmap = math.ceil(ranges / ((block - PAGE_HEADER - 8) // TID_BYTES))
    return (1 + max(1, revmap) + max(1, regular)) * block


def _hash(rows: float, block: int) -> int:
    per_bucket = max(1, int((block - PAGE_HEADER - 16) * 0.75) // (16 + LINE_POINTER))
    buckets = 1 << max(1, math.ceil(math.log2(max(2.0, rows / per_bucket))))
    return (buckets + 2) * block


def _gin(samples: list[_Sample], rows: float, block: int) -> int:
    """One entry tuple per distinct key, holding the first TID (entry pages end about half
    full: the build inserts keys in order and GIN splits an entry page in the middle), plus
    the other TIDs as compressed posting data."""
    usable = block - PAGE_HEADER - 8
    entry_bytes = sum(s.distinct * (maxalign(8 + s.key_width + 8) + LINE_POINTER) for s in samples)
    data_bytes = sum(max(0.0, rows * s.entries_per_row - s.distinct) * s.tid_bytes for s in samples)
    pages = entry_bytes / (usable * 0.5) + data_bytes / (usable * 0.9)
    return (2 + math.ceil(pages)) * block
