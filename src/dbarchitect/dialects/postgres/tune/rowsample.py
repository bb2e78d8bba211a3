"""What size estimates read once per table: its size and row estimate, its columns' types and
statistics, and a sample of its rows.

The row sample is up to SAMPLE_ROWS rows fetched by pseudo-random TIDs: a page, then a line
pointer on it (one past the page's last row finds nothing), so every row is drawn alike. A
block sample (TABLESAMPLE SYSTEM) is not uniform over rows when the table is stored in the
order of some key: lineitem, loaded by l_orderkey, gives whole groups of equal keys from the
few pages it reads, and the distinct (l_orderkey, l_returnflag) pairs came out at half their
number. The TIDs come from a hash of 1, 2, …, so the sample is the same on every run. Of each
sampled row it keeps a hash of every column whose equal values deduplicate (for counting
distinct key combinations) and the stored width of every column (for the average index tuple
size, laid out the way index_form_tuple lays it out).

Everything is read once per session and table: a selection asks for the sizes of hundreds of
candidates on the same few tables, and nothing it reads changes during a tuning run.
"""

from __future__ import annotations

import json
import math
import weakref
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import psycopg

from dbarchitect.dialects.postgres.quoting import quote
from dbarchitect.dialects.postgres.tune.whatif import find_table, table_sql
from dbarchitect.engines.base import Session
from dbarchitect.errors import DbarchError, InputError
from dbarchitect.model import Schema

MAXALIGN = 8
ALIGN = {"c": 1, "s": 2, "i": 4, "d": 8}  # pg_type.typalign → bytes

TYPE_SQL = """
SELECT t.typlen AS typlen, t.typalign AS typalign, t.typname AS typname,
       t.typelem <> 0 AND t.typlen = -1 AS is_array,
       EXISTS (
         SELECT 1 FROM pg_catalog.pg_opclass oc
         JOIN pg_catalog.pg_am am ON am.oid = oc.opcmethod AND am.amname = 'btree'
         JOIN pg_catalog.pg_amproc p ON p.amprocfamily = oc.opcfamily AND p.amprocnum = 4
              AND p.amproclefttype = oc.opcintype AND p.amprocrighttype = oc.opcintype
         WHERE oc.opcdefault AND (oc.opcintype = COALESCE(NULLIF(t.typbasetype, 0), t.oid)
           OR EXISTS (SELECT 1 FROM pg_catalog.pg_cast k
                      WHERE k.castsource = COALESCE(NULLIF(t.typbasetype, 0), t.oid)
                        AND k.casttarget = oc.opcintype AND k.castmethod = 'b'))
       ) AS equalimage
"""
# equalimage: the type's default B-tree operator class declares that equal values have equal
# images (support function 4), which is what lets CREATE INDEX deduplicate.
COLUMNS_SQL = (
    TYPE_SQL
    + """, a.attname AS name, COALESCE(coll.collisdeterministic, true) AS deterministic,
       s.avg_width AS avg_width, s.null_frac AS null_frac, s.n_distinct AS n_distinct,
       s.most_common_freqs AS mcf
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_catalog.pg_collation coll ON coll.oid = a.attcollation AND a.attcollation <> 0
LEFT JOIN LATERAL (
  SELECT * FROM pg_catalog.pg_stats s
  WHERE s.schemaname = %(schema)s AND s.tablename = %(table)s AND s.attname = a.attname
  ORDER BY s.inherited DESC LIMIT 1
) s ON true
WHERE a.attrelid = to_regclass(%(qualified)s) AND a.attnum > 0 AND NOT a.attisdropped
"""
)
SAMPLE_ROWS = 30_000
WIDTH_ROWS = 1_000  # sampled rows whose stored widths are averaged


def maxalign(n: float) -> int:
    """`n` bytes rounded up to the server's 8-byte alignment."""
    return int(math.ceil(n / MAXALIGN) * MAXALIGN)


def plan_rows(session: Session, sql: str) -> float:
    """The planner's row estimate for `sql` (at least 1)."""
    try:
        rows = session.fetch("EXPLAIN (FORMAT JSON) " + sql)
    except (psycopg.Error, DbarchError) as exc:
        raise InputError(f"cannot estimate rows of {sql}: {exc}".splitlines()[0]) from None
    doc: Any = rows[0]["QUERY PLAN"]
    if isinstance(doc, str):
        doc = json.loads(doc)
    return max(1.0, float(doc[0]["Plan"]["Plan Rows"]))


@dataclass(slots=True)
class TableInfo:
    """What every estimate on one table needs, read once per session."""

    name: str  # quoted, schema-qualified
    bytes: int
    block: int
    pages: int
    per_page: float  # live rows per heap page
    rows: float  # the planner's row estimate
    columns: dict[str, dict[str, Any]]
    sample: dict[str, list[int | None]] | None = None  # hashed values of dedup-able columns
    widths: dict[str, list[int | None]] | None = None  # stored bytes of every column
    combinations: dict[tuple[str, ...], float] = field(default_factory=dict)  # distinct ones
    tuples: dict[tuple[str, ...], float | None] = field(default_factory=dict)  # tuple bytes
    layouts: dict[tuple[str, ...], tuple[list[int], list[bool]] | None] = field(
        default_factory=dict
    )


# Per session: the session's database and statistics do not change during a tuning run, and
# the search asks for the sizes of hundreds of candidates on the same few tables.
_TABLES: weakref.WeakKeyDictionary[Session, dict[str, TableInfo]] = weakref.WeakKeyDictionary()


def table_info(session: Session, schema: Schema, qualified: str) -> TableInfo:
    """The facts about table `qualified` (InputError when there is no such table)."""
    known = _TABLES.setdefault(session, {})
    if qualified in known:
        return known[qualified]
    name = table_sql(schema, qualified)
    info = session.fetch(
        "SELECT pg_relation_size(c.oid) AS bytes, current_setting('block_size')::int AS block,"
        " c.relpages AS pages, c.reltuples::float8 / NULLIF(c.relpages, 0) AS per_page"
        " FROM pg_catalog.pg_class c WHERE c.oid = to_regclass(%s)",
        [name],
    )
    if not info:
        raise InputError(f"{qualified}: no such table")
    table = find_table(schema, qualified)
    ns, _, tname = qualified.rpartition(".")
    if table is not None:
        ns, tname = table.schema, table.name
    columns = {
        r["name"]: r
        for r in session.fetch(COLUMNS_SQL, {"schema": ns, "table": tname, "qualified": name})
    }
    known[qualified] = TableInfo(
        name=name,
        bytes=int(info[0]["bytes"]),
        block=int(info[0]["block"]),
        pages=max(0, int(info[0]["pages"] or 0)),
        per_page=float(info[0]["per_page"] or 100.0),
        rows=plan_rows(session, f"SELECT 1 FROM {name}"),
        columns=columns,
    )
    return known[qualified]


def combinations(session: Session, info: TableInfo, columns: list[str]) -> float:
    """Distinct combinations of `columns` in the whole table, from the row sample."""
    key = tuple(sorted(set(columns)))
    if key not in info.combinations:
        sample = _row_sample(session, info)
        if not sample or any(c not in sample for c in key):
            info.combinations[key] = info.rows
        else:
            counts = Counter(zip(*(sample[c] for c in key), strict=True))
            seen = Counter(counts.values())
            n = len(sample[key[0]])
            info.combinations[key] = distinct(n, len(counts), seen[1], seen[2], info.rows)
    return info.combinations[key]


def _row_sample(session: Session, info: TableInfo) -> dict[str, list[int | None]]:
    """The row sample (see the module docstring): column → its hashed values in the sampled
    rows, for the columns whose equal keys deduplicate; their widths go to `info.widths`."""
    if info.sample is not None:
        return info.sample
    names = sorted(c for c, r in info.columns.items() if r["equalimage"] and r["deterministic"])
    every = sorted(info.columns)
    if not every:
        info.sample, info.widths = {}, {}
        return info.sample
    picked = [f"hashtext(r.{quote(c)}::text) AS h{i}" for i, c in enumerate(names)]
    picked += [f"pg_column_size(r.{quote(c)}) AS w{i}" for i, c in enumerate(every)]
    sql = f"SELECT {', '.join(picked)} FROM {info.name} AS r"
    if info.rows > SAMPLE_ROWS and info.pages > 0:
        slots = max(1, math.ceil(info.per_page * 1.5))  # line pointers tried per page
        draws = min(info.pages * slots, math.ceil(SAMPLE_ROWS * slots / info.per_page))
        tids = (
            f"SELECT format('(%s,%s)', (hashint4(i) & 2147483647) % {info.pages},"
            f" 1 + (hashint4(-i) & 2147483647) % {slots})::tid"
            f" FROM generate_series(1, {draws}) AS i"
        )
        sql += f" WHERE r.ctid = ANY (ARRAY({tids}))"
    try:
        rows = session.fetch(sql)
    except (psycopg.Error, DbarchError) as exc:
        raise InputError(f"{info.name}: cannot sample rows: {exc}".splitlines()[0]) from None
    info.sample = {c: [r[f"h{i}"] for r in rows] for i, c in enumerate(names)}
    # Widths as stored, of an evenly spread part of the sample: enough for an average.
    step = max(1, len(rows) // WIDTH_ROWS)
    info.widths = {c: [r[f"w{i}"] for r in rows[::step]] for i, c in enumerate(every)}
    return info.sample


def sampled_tuple(session: Session, info: TableInfo, columns: list[str]) -> float | None:
    """The average index tuple size (MAXALIGNed) of `columns` over sampled rows, laid out
    the way index_form_tuple lays them out; None when a column is not in the sample.

    Averaged row by row, not computed from average widths: pg_stats.avg_width is truncated to
    an integer, and a numeric of 5 to 9 bytes ending a tuple pushes some tuples over the
    next 8-byte boundary and not others (a 13% shortfall on a TPC-H covering index)."""
    key = tuple(columns)
    if key not in info.tuples:
        _row_sample(session, info)
        laid = _laid_out(info, key)
        if laid is None or not laid[0]:
            info.tuples[key] = None
        else:
            ends, nulls = laid
            total = sum(maxalign((16 if n else 8) + e) for e, n in zip(ends, nulls, strict=True))
            info.tuples[key] = total / len(ends)
    return info.tuples[key]


def _laid_out(info: TableInfo, key: tuple[str, ...]) -> tuple[list[int], list[bool]] | None:
    """Per sampled row, where the data of `key`'s columns ends and whether one was NULL;
    memoized by prefix, since the candidates of one table share their leading columns."""
    if key in info.layouts:
        return info.layouts[key]
    widths = info.widths or {}
    if not key or key[-1] not in widths:
        return None
    if len(key) == 1:
        count = len(widths[key[0]])
        before: tuple[list[int], list[bool]] | None = ([0] * count, [False] * count)
    else:
        before = _laid_out(info, key[:-1])
    if before is None:
        return None
    row = info.columns[key[-1]]
    align = ALIGN.get(str(row["typalign"]), 4)
    varlena = int(row["typlen"]) == -1
    ends, nulls = [], []
    for end, null, width in zip(*before, widths[key[-1]], strict=True):
        if width is None:
            ends.append(end)
            nulls.append(True)
            continue
        if not (varlena and width < 127):  # short varlenas are stored unaligned
            end = -(-end // align) * align
        ends.append(end + width)
        nulls.append(null)
    info.layouts[key] = (ends, nulls)
    return info.layouts[key]


def distinct(n: int, d: int, f1: int, f2: int, table_rows: float) -> float:
    """Distinct keys in a table of `table_rows` from a uniform sample of `n` rows holding `d`
    distinct keys, `f1` of them once and `f2` twice. Chao1 guesses the keys the sample missed
    from how many it saw once or twice; keys seen once cannot be more numerous than scaling
    them to the whole table makes them. Its form for sampling without replacement (Chao and
    Lin 2012) is exact on evenly sized groups, but lost a fifth of TPC-H's
    (l_orderkey, l_returnflag) pairs, whose groups are uneven; the plain form overestimates
    instead when the sample is a large part of the table, which keeps a budget safe."""
    if not n or table_rows <= n:
        return float(d)
    chao = d + f1 * (f1 - 1) / (2.0 * (f2 + 1))
    return min(chao, d - f1 + f1 * table_rows / n)
