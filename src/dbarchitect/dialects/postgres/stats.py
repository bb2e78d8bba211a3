"""PostgreSQL live statistics → Stats, in four bulk queries over one read-only snapshot.

The counters come from the cumulative statistics system (pg_stat_*). In PG 15 a backend
publishes its counters to shared memory at transaction end (at most once a second) and when it
exits, so a workload run by another, finished session is visible here. The queries live in
queries/stats_*.sql and only read: they pass the read-only session's statement guard.
"""

from __future__ import annotations

from typing import Any

from dbarchitect.dialects.postgres.introspect import load_query
from dbarchitect.engines.base import Session
from dbarchitect.model.stats import IndexStats, SequenceStats, Stats, TableStats

Row = dict[str, Any]


def collect_stats(session: Session) -> Stats:
    """Usage, size and maintenance counters of the user tables, indexes and sequences.

    Keys follow the review's object names: tables `schema.table`, indexes
    `schema.table.index`, sequences `schema.sequence`. System schemas are left out.
    """
    version = session.server_version
    with session.transaction():
        # Built-in functions must not be shadowed by same-named user functions.
        session.fetch("SELECT set_config('search_path', 'pg_catalog', true)")
        database = session.fetch(load_query("stats_database", version))
        tables = session.fetch(load_query("stats_tables", version))
        indexes = session.fetch(load_query("stats_indexes", version))
        sequences = session.fetch(load_query("stats_sequences", version))
    db: Row = database[0] if database else {}
    return Stats(
        server_version=version,
        window_seconds=float(db.get("window_seconds") or 0.0),
        blocks_hit=int(db.get("blocks_hit") or 0),
        blocks_read=int(db.get("blocks_read") or 0),
        xid_age=int(db.get("xid_age") or 0),
        tables={f"{r['schema']}.{r['name']}": _table(r) for r in tables},
        indexes={
            f"{r['schema']}.{r['table']}.{r['name']}": IndexStats(
                scans=int(r["scans"]), size_bytes=int(r["size_bytes"])
            )
            for r in indexes
        },
        sequences={f"{r['schema']}.{r['name']}": _sequence(r) for r in sequences},
    )


def _table(r: Row) -> TableStats:
    return TableStats(
        rows=int(r["rows"]),
        size_bytes=int(r["size_bytes"]),
        seq_scan=int(r["seq_scan"]),
        seq_tup_read=int(r["seq_tup_read"]),
        idx_scan=int(r["idx_scan"]),
        writes=int(r["writes"]),
        dead_rows=int(r["dead_rows"]),
        seconds_since_vacuum=_seconds(r["seconds_since_vacuum"]),
        seconds_since_analyze=_seconds(r["seconds_since_analyze"]),
        all_visible_pages=int(r["all_visible_pages"]),
        frozen_xid_age=int(r["frozen_xid_age"]),
        has_column_stats=bool(r["has_column_stats"]),
    )


def _sequence(r: Row) -> SequenceStats:
    last = r["last_value"]
    return SequenceStats(
        last_value=None if last is None else int(last),
        min_value=int(r["min_value"]),
        max_value=int(r["max_value"]),
        increment=int(r["increment"]),
        data_type=str(r["data_type"]),
        cycle=bool(r["cycle"]),
        owned_by=r["owned_by"],
    )


def _seconds(value: float | None) -> float | None:
    return None if value is None else float(value)
