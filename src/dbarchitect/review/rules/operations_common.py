"""Helpers shared by the operations rules (live statistics): table lookup, windows, units."""

from __future__ import annotations

from collections.abc import Iterator

from dbarchitect.model import Table
from dbarchitect.model.stats import Stats, TableStats
from dbarchitect.review.context import ReviewContext, object_name

DAY = 86_400.0
MIB = 1024 * 1024


def window_days(ctx: ReviewContext) -> float:
    """The statistics window a rule about absence (never scanned, never vacuumed) needs."""
    return ctx.threshold("stats-window-days", 7)


def window_is_long(ctx: ReviewContext, stats: Stats) -> bool:
    """Counters cover at least `stats-window-days`: long enough for absence to mean something.

    A fresh database, or one whose counters were just reset, has scanned nothing and
    vacuumed nothing; judged too early, every index would look unused.
    """
    return stats.window_seconds >= window_days(ctx) * DAY


def storage_tables(ctx: ReviewContext) -> Iterator[tuple[Table, str, TableStats]]:
    """Tables that hold rows (partitions included, partitioned parents not) with their stats.

    Partitions count here, unlike in the design rules: each one is vacuumed, analyzed and
    bloated on its own.
    """
    stats = ctx.stats
    if stats is None:
        return
    for t in ctx.schema.tables:
        if t.partitioning is not None:
            continue
        key = object_name(t.schema, t.name)
        s = stats.tables.get(key)
        if s is not None:
            yield t, key, s


def sql_name(ctx: ReviewContext, schema: str, name: str) -> str:
    """`schema.name` as SQL, each part quoted where needed."""
    return f"{ctx.quote(schema)}.{ctx.quote(name)}" if schema else ctx.quote(name)


def autovacuum_disabled(t: Table) -> bool:
    """The table's storage parameters switch autovacuum off."""
    return any(
        k == "autovacuum_enabled" and v.strip("'\"").lower() in ("off", "false", "no", "0")
        for k, v in t.options
    )


def reset_autovacuum(ctx: ReviewContext, t: Table) -> str:
    """The statement that hands the table back to autovacuum, when it was switched off."""
    if not autovacuum_disabled(t):
        return ""
    return f"\nALTER TABLE {ctx.qname(t)} RESET (autovacuum_enabled);"


def size(n: float) -> str:
    """A byte count for people: 512 kB, 12.3 MB, 4.1 GB."""
    for unit in ("bytes", "kB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit in ("bytes", "kB") else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def days(seconds: float) -> str:
    """A duration in days for messages ("3.5 days", "0.2 days")."""
    return f"{seconds / DAY:.1f} days"
