"""Live statistics of a database, for the review rules that need them (unused indexes, bloat…).

Only a live database has them; a schema loaded from files into a scratch database has not
run a workload, so its statistics say nothing and are not collected. Keys follow the review's
object names: tables `schema.table`, indexes `schema.table.index`, sequences `schema.seq`.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True, kw_only=True)
class TableStats:
    rows: int = 0
    size_bytes: int = 0
    seq_scan: int = 0
    seq_tup_read: int = 0
    idx_scan: int = 0
    writes: int = 0
    dead_rows: int = 0
    seconds_since_vacuum: float | None = None
    seconds_since_analyze: float | None = None
    # Catalog facts that, unlike the counters above, survive a statistics reset:
    all_visible_pages: int = 0  # pages the visibility map marks all-visible (set by VACUUM)
    frozen_xid_age: int = 0  # transactions since the table was last frozen
    has_column_stats: bool = False  # the planner has column statistics (ANALYZE ran)


@dataclass(frozen=True, slots=True, kw_only=True)
class IndexStats:
    scans: int = 0
    size_bytes: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class SequenceStats:
    last_value: int | None
    min_value: int
    max_value: int
    increment: int = 1
    data_type: str = "bigint"
    cycle: bool = False
    owned_by: str | None = None  # "schema.table.column" the sequence feeds (serial, identity)


@dataclass(frozen=True, slots=True, kw_only=True)
class Stats:
    """Counters since `window_seconds` ago (the last statistics reset or server start)."""

    server_version: int
    window_seconds: float
    blocks_hit: int = 0
    blocks_read: int = 0
    xid_age: int = 0
    tables: dict[str, TableStats] = field(default_factory=dict)
    indexes: dict[str, IndexStats] = field(default_factory=dict)
    sequences: dict[str, SequenceStats] = field(default_factory=dict)
