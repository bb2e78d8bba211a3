"""Partitioning advice for large tables, from what the workload filters them by.

A table is considered when it is large (`min_rows` rows or `min_bytes` on disk by default:
below that an index serves better than a partition). Two kinds of advice:

- RANGE on a date/timestamp column that the queries filter by range or equality: a query
  with such a filter reads only the partitions its range touches. Advised when those queries
  make at least half of the calls reading the table (the others would read every partition).
  Monthly partitions, daily when some query asks for a window of a day or less; the first
  partitions cover the dates the workload's literals ask for.
- LIST or HASH on a tenant-like column (tenant_id, account_id, customer_id, …) that every
  query reading the table filters by equality: LIST, one partition per value, when the
  workload compares it with a handful of literals; HASH otherwise.

The DDL builds the partitioned table beside the old one (the primary key and unique
constraints widened by the partition key, as PostgreSQL requires), its first partitions and a
DEFAULT partition, then says how to move the rows. Pure: no database is read.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from dbarchitect.model import Schema
from dbarchitect.model.schema import Column, Table
from dbarchitect.model.stats import Stats, TableStats
from dbarchitect.tune.model import PartitionAdvice, Query, Shape

MIN_ROWS = 10_000_000
MIN_BYTES = 8 * 1024**3
TIME_TYPES = frozenset({"date", "timestamp", "timestamptz"})
TENANT = re.compile(
    r"^(tenant|account|org|organization|organisation|company|customer|client|workspace|shop"
    r"|store|team|project|site|region|merchant)(_?(id|key|code|uuid|no))?$",
    re.IGNORECASE,
)
MAX_LIST_VALUES = 32
MAX_RANGE_PARTITIONS = 24
HASH_PARTITION_BYTES = 4 * 1024**3  # aim for hash partitions of about this size
HASH_PARTITION_ROWS = 25_000_000
_DATE = re.compile(r"'(\d{4})-(\d{2})-(\d{2})")
MAX_NAME_BYTES = 63

Quote = Callable[[str], str]


@dataclass(frozen=True, slots=True)
class _Use:
    query: Query
    shape: Shape


def partition_advice(
    schema: Schema,
    stats: Stats | None,
    shapes: Sequence[tuple[Query, Shape]],
    quote: Quote,
    *,
    min_rows: int = MIN_ROWS,
    min_bytes: int = MIN_BYTES,
) -> list[PartitionAdvice]:
    """Range/list/hash partitioning advice for the large tables of `schema` whose workload
    queries would prune, sorted by table, strategy and key. Nothing without statistics."""
    if stats is None:
        return []
    out: list[PartitionAdvice] = []
    for table in schema.tables:
        if table.partitioning is not None or table.partition_of is not None:
            continue
        ts = stats.tables.get(table.qualified)
        if ts is None or (ts.rows < min_rows and ts.size_bytes < min_bytes):
            continue
        uses = [_Use(q, s) for q, s in shapes if table.qualified in s.tables]
        if not uses:
            continue
        advice = _range_advice(table, ts, uses, quote)
        if advice is not None:
            out.append(advice)
        advice = _tenant_advice(table, ts, uses, quote)
        if advice is not None:
            out.append(advice)
    return sorted(out, key=lambda a: (a.table, a.strategy, a.key))


# ---------------------------------------------------------------------------------------------
# Which column, which strategy


def _range_advice(
    table: Table, ts: TableStats, uses: list[_Use], quote: Quote
) -> PartitionAdvice | None:
    best: tuple[int, str, list[_Use]] | None = None
    for col in table.columns:
        if col.logical not in TIME_TYPES or col.generated:
            continue
        pruning = [u for u in uses if _filters(u.shape, table.qualified, col.name, ("range", "eq"))]
        calls = sum(u.query.calls for u in pruning)
        if pruning and (best is None or calls > best[0]):
            best = (calls, col.name, pruning)
    if best is None:
        return None
    calls, column, pruning = best
    all_calls = sum(u.query.calls for u in uses)
    if calls * 2 < all_calls:
        return None  # most calls would read every partition
    dates = sorted(d for u in pruning for d in _dates(u.shape, table.qualified, column))
    windows = [_window_days(u.shape, table.qualified, column) for u in pruning]
    daily = any(w is not None and w <= 1 for w in windows)
    ddl = _range_ddl(table, column, dates, daily, quote)
    share = f"{calls * 100 // all_calls}%" if all_calls else "all"
    reason = (
        f"{table.qualified}: {_size(ts)}; {len(pruning)} of {len(uses)} queries ({share} of "
        f"calls) filter {column} by range or equality and would read only the partitions "
        f"their dates fall in; {'daily' if daily else 'monthly'} partitions"
    )
    return PartitionAdvice(
        table=table.qualified,
        strategy="range",
        key=column,
        reason=reason,
        ddl=ddl,
        prunes=_fingerprints(pruning),
    )


def _tenant_advice(
    table: Table, ts: TableStats, uses: list[_Use], quote: Quote
) -> PartitionAdvice | None:
    unique_alone = {c.columns[0] for c in table.uniques if len(c.columns) == 1}
    if table.primary_key is not None and len(table.primary_key.columns) == 1:
        unique_alone.add(table.primary_key.columns[0])
    for col in table.columns:  # table order: the first tenant-like column wins
        if not TENANT.match(col.name) or col.name in unique_alone or col.generated:
            continue
        if not all(_filters(u.shape, table.qualified, col.name, ("eq",)) for u in uses):
            continue
        literals = sorted(
            {
                p.value
                for u in uses
                for p in u.shape.predicates
                if p.table == table.qualified and p.column == col.name and p.op == "eq"
                if p.value is not None and not p.parameter
            }
        )
        parameterized = any(
            p.parameter or p.value is None
            for u in uses
            for p in u.shape.predicates
            if p.table == table.qualified and p.column == col.name and p.op == "eq"
        )
        if literals and not parameterized and len(literals) <= MAX_LIST_VALUES:
            strategy, ddl = "list", _list_ddl(table, col.name, literals, quote)
            how = f"LIST, one partition per value compared ({len(literals)})"
        else:
            modulus = _modulus(ts)
            strategy, ddl = "hash", _hash_ddl(table, col.name, modulus, quote)
            how = f"HASH into {modulus} partitions"
        reason = (
            f"{table.qualified}: {_size(ts)}; every query on it ({len(uses)}) filters "
            f"{col.name} by equality and would read one partition; {how}"
        )
        return PartitionAdvice(
            table=table.qualified,
            strategy="list" if strategy == "list" else "hash",
            key=col.name,
            reason=reason,
            ddl=ddl,
            prunes=_fingerprints(uses),
        )
    return None


def _filters(shape: Shape, table: str, column: str, ops: tuple[str, ...]) -> bool:
    return any(
        p.table == table and p.column == column and not p.expression and p.op in ops
        for p in shape.predicates
    )


def _dates(shape: Shape, table: str, column: str) -> list[date]:
    """The dates the query's literal bounds on the column name."""
    out = []
    for p in shape.predicates:
        if p.table == table and p.column == column and p.value and not p.expression:
            m = _DATE.search(p.value)
            if m:
                try:
                    out.append(date(int(m.group(1)), int(m.group(2)), int(m.group(3))))
                except ValueError:
                    continue
    return out


def _window_days(shape: Shape, table: str, column: str) -> int | None:
    dates = _dates(shape, table, column)
    return (max(dates) - min(dates)).days if len(dates) >= 2 else None


def _fingerprints(uses: list[_Use]) -> tuple[str, ...]:
    return tuple(sorted({u.query.fingerprint for u in uses}))


def _modulus(ts: TableStats) -> int:
    want = max(-(-ts.size_bytes // HASH_PARTITION_BYTES), -(-ts.rows // HASH_PARTITION_ROWS))
    modulus = 4
    while modulus < want and modulus < 64:
        modulus *= 2
    return modulus


def _size(ts: TableStats) -> str:
    return f"{ts.rows:,} rows, {ts.size_bytes / 1024**3:.1f} GiB"


# ---------------------------------------------------------------------------------------------
# DDL


def _range_ddl(table: Table, column: str, dates: list[date], daily: bool, quote: Quote) -> str:
    new = _name(table.name, "_partitioned")
    lines = [_create(table, new, f"RANGE ({quote(column)})", column, quote)]
    if dates:
        for start, end in _periods(dates[0], dates[-1], daily):
            suffix = start.strftime("_p%Y_%m_%d" if daily else "_p%Y_%m")
            lines.append(
                f"CREATE TABLE {_qualified(table.schema, _name(table.name, suffix), quote)}"
                f" PARTITION OF {_qualified(table.schema, new, quote)}"
                f" FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}');"
            )
    else:
        lines.append(
            f"-- No date in the workload to start from: create one partition per "
            f"{'day' if daily else 'month'} from SELECT min({quote(column)}) FROM "
            f"{_qualified(table.schema, table.name, quote)} up to the coming ones."
        )
    lines.append(_default(table, new, quote))
    return "\n".join([*lines, *_migration(table, new, column, quote)])


def _list_ddl(table: Table, column: str, literals: list[str], quote: Quote) -> str:
    new = _name(table.name, "_partitioned")
    lines = [_create(table, new, f"LIST ({quote(column)})", column, quote)]
    for i, value in enumerate(literals, start=1):
        label = re.sub(r"[^a-z0-9]+", "_", value.strip("'").lower()).strip("_") or str(i)
        lines.append(
            f"CREATE TABLE {_qualified(table.schema, _name(table.name, '_' + label), quote)}"
            f" PARTITION OF {_qualified(table.schema, new, quote)} FOR VALUES IN ({value});"
        )
    lines.append(_default(table, new, quote))
    return "\n".join([*lines, *_migration(table, new, column, quote)])


def _hash_ddl(table: Table, column: str, modulus: int, quote: Quote) -> str:
    new = _name(table.name, "_partitioned")
    lines = [_create(table, new, f"HASH ({quote(column)})", column, quote)]
    for r in range(modulus):
        lines.append(
            f"CREATE TABLE {_qualified(table.schema, _name(table.name, f'_p{r}'), quote)}"
            f" PARTITION OF {_qualified(table.schema, new, quote)}"
            f" FOR VALUES WITH (MODULUS {modulus}, REMAINDER {r});"
        )
    return "\n".join([*lines, *_migration(table, new, column, quote)])


def _create(table: Table, new: str, by: str, key: str, quote: Quote) -> str:
    parts = [f"    {_column(c, quote)}" for c in table.columns]
    notes: list[str] = []
    if table.primary_key is not None:
        cols = _with_key(table.primary_key.columns, key)
        parts.append(f"    PRIMARY KEY ({', '.join(quote(c) for c in cols)})")
        if key not in table.primary_key.columns:
            notes.append(f"-- The primary key gains {key}: PostgreSQL requires the partition key.")
    for u in table.uniques:
        cols = _with_key(u.columns, key)
        parts.append(f"    UNIQUE ({', '.join(quote(c) for c in cols)})")
        if key not in u.columns:
            notes.append(
                f"-- UNIQUE ({', '.join(u.columns)}) becomes unique per {key} only: "
                "enforce the rest in the application or with a separate table."
            )
    for chk in table.checks:
        parts.append(f"    CHECK {_parenthesized(chk.expression)}")
    qualified = _qualified(table.schema, new, quote)
    body = ",\n".join(parts)
    return "\n".join([*notes, f"CREATE TABLE {qualified} (\n{body}\n) PARTITION BY {by};"])


def _column(c: Column, quote: Quote) -> str:
    text = f"{quote(c.name)} {c.type}"
    if c.collation:
        text += f" COLLATE {quote(c.collation)}"
    if c.identity is not None:
        text += f" GENERATED {'ALWAYS' if c.identity.always else 'BY DEFAULT'} AS IDENTITY"
    elif c.generated:
        text += f" GENERATED ALWAYS AS {_parenthesized(c.generated)} STORED"
    elif c.default is not None:
        text += f" DEFAULT {c.default}"
    if not c.nullable:
        text += " NOT NULL"
    return text


def _parenthesized(expr: str) -> str:
    return expr if expr.startswith("(") and expr.endswith(")") else f"({expr})"


def _with_key(columns: tuple[str, ...], key: str) -> tuple[str, ...]:
    return columns if key in columns else (*columns, key)


def _default(table: Table, new: str, quote: Quote) -> str:
    return (
        f"CREATE TABLE {_qualified(table.schema, _name(table.name, '_default'), quote)}"
        f" PARTITION OF {_qualified(table.schema, new, quote)} DEFAULT;"
    )


def _migration(table: Table, new: str, key: str, quote: Quote) -> list[str]:
    old = _qualified(table.schema, table.name, quote)
    target = _qualified(table.schema, new, quote)
    renamed = quote(_name(table.name, "_old"))
    indexes = ", ".join(i.name for i in table.indexes) or "none besides the constraints"
    always = any(c.identity is not None and c.identity.always for c in table.columns)
    overriding = " OVERRIDING SYSTEM VALUE" if always else ""
    lines = [
        "-- Moving the rows: copy them in batches of the key, each its own transaction:",
        f"--   INSERT INTO {target}{overriding} SELECT * FROM {old}"
        f" WHERE {quote(key)} >= … AND {quote(key)} < …;",
    ]
    for c in table.columns:
        if c.identity is not None:  # the new table's own sequence must start past the copies
            lines.append(
                f"--   SELECT setval(pg_get_serial_sequence('{_literal(target)}', "
                f"'{_literal(c.name)}'), (SELECT max({quote(c.name)}) FROM {target}));"
            )
    return [
        *lines,
        "-- then, with writes paused (or copied again), swap the names in one transaction:",
        f"--   BEGIN; ALTER TABLE {old} RENAME TO {renamed};"
        f" ALTER TABLE {target} RENAME TO {quote(table.name)}; COMMIT;",
        f"-- Recreate the indexes on the new parent ({indexes}): each is built on every "
        "partition. Foreign keys that point at the table must be recreated too.",
    ]


def _literal(text: str) -> str:
    return text.replace("'", "''")


def _periods(first: date, last: date, daily: bool) -> list[tuple[date, date]]:
    """Consecutive day or month bounds from `first`'s period through `last`'s, at least
    three and at most MAX_RANGE_PARTITIONS."""
    out: list[tuple[date, date]] = []
    start = first if daily else first.replace(day=1)
    while len(out) < MAX_RANGE_PARTITIONS and (start <= last or len(out) < 3):
        end = start + timedelta(days=1) if daily else _next_month(start)
        out.append((start, end))
        start = end
    return out


def _next_month(d: date) -> date:
    return date(d.year + d.month // 12, d.month % 12 + 1, 1)


def _name(base: str, suffix: str) -> str:
    """`base` + `suffix`, `base` shortened so the name fits PostgreSQL's 63 bytes."""
    budget = MAX_NAME_BYTES - len(suffix.encode())
    cut = base
    while len(cut.encode()) > budget:
        cut = cut[:-1]
    return cut + suffix


def _qualified(schema: str, name: str, quote: Quote) -> str:
    return f"{quote(schema)}.{quote(name)}" if schema else quote(name)
