"""Review rules: operations — maintenance (vacuum, analyze) and hard limits (sequences, XIDs).

Part of the operations family; operations.py imports this module so its rules register.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from dbarchitect.model import Column, Table
from dbarchitect.model.stats import SequenceStats
from dbarchitect.review.context import ReviewContext, object_name
from dbarchitect.review.finding import Hit
from dbarchitect.review.registry import rule
from dbarchitect.review.rules.operations_common import (
    days,
    reset_autovacuum,
    sql_name,
    storage_tables,
    window_is_long,
)


def _min_rows(ctx: ReviewContext) -> float:
    return ctx.threshold("maintenance-min-rows", 1000)


@rule(
    id="table-never-vacuumed",
    title="Table has never been vacuumed",
    family="operations",
    severity="info",
    problem="""
VACUUM does more than reclaim dead rows: it sets the visibility map, without which index-only
scans must visit the table for every row, and it freezes old rows, so that the transaction-ID
wraparound protection never has to do all that work at once in an emergency vacuum. A table
that has rows and was never vacuumed has all of that still ahead of it; on PostgreSQL 13 and
later autovacuum handles inserted rows too, so this usually means autovacuum is switched off
for the table or cannot keep up.

The rule needs statistics covering `stats-window-days` (default 7), since vacuum timestamps
are counters that a statistics reset clears, and also requires that no page of the table is
marked all-visible (which only VACUUM does); tables under `maintenance-min-rows` rows
(default 1,000) are ignored.
""",
    solution="""
Run VACUUM (ANALYZE) on the table, re-enable autovacuum if it was switched off, and run
VACUUM (ANALYZE) after every bulk load.
""",
    example="VACUUM (ANALYZE, VERBOSE) public.events;",
    engines=("postgres",),
    needs="stats",
)
def table_never_vacuumed(ctx: ReviewContext) -> Iterator[Hit]:
    stats = ctx.stats
    if stats is None or not window_is_long(ctx, stats):
        return
    for t, key, s in storage_tables(ctx):
        if s.rows < _min_rows(ctx) or s.seconds_since_vacuum is not None:
            continue
        if s.all_visible_pages > 0:
            continue
        why = ", autovacuum is disabled for it" if reset_autovacuum(ctx, t) else ""
        yield Hit(
            kind="table",
            object=key,
            message=f"table {t.qualified} ({s.rows:,} rows) has not been vacuumed in "
            f"{days(stats.window_seconds)} of statistics and no page of it is all-visible{why}",
            fix=f"VACUUM (ANALYZE, VERBOSE) {ctx.qname(t)};{reset_autovacuum(ctx, t)}",
        )


@rule(
    id="table-never-analyzed",
    title="Table has never been analyzed",
    family="operations",
    severity="warning",
    problem="""
The planner chooses join orders, join methods and indexes from the column statistics that
ANALYZE gathers. A table with rows and no statistics is planned from built-in guesses (fixed
selectivities, row counts taken from the file size), which easily picks a nested loop over
millions of rows or ignores a good index.

It typically happens after a bulk load, when autovacuum is switched off for the table, or on
a partitioned table's parent, which autovacuum never analyzes. Tables under
`maintenance-min-rows` rows (default 1,000) are ignored.
""",
    solution="Run ANALYZE on the table now, and after every bulk load; keep autovacuum on.",
    example="ANALYZE public.events;",
    engines=("postgres",),
    needs="stats",
)
def table_never_analyzed(ctx: ReviewContext) -> Iterator[Hit]:
    for t, key, s in storage_tables(ctx):
        if s.rows < _min_rows(ctx) or s.seconds_since_analyze is not None:
            continue
        if s.has_column_stats:  # analyzed before the last statistics reset
            continue
        yield Hit(
            kind="table",
            object=key,
            message=f"table {t.qualified} ({s.rows:,} rows) has never been analyzed: "
            "the planner has no statistics on its columns",
            fix=f"ANALYZE {ctx.qname(t)};{reset_autovacuum(ctx, t)}",
        )


_RANGE = {
    "smallint": (-(2**15), 2**15 - 1),
    "integer": (-(2**31), 2**31 - 1),
    "bigint": (-(2**63), 2**63 - 1),
}
_NEXTVAL = re.compile(r"nextval\('((?:[^']|'')+)'::regclass\)")


def _split_name(text: str) -> list[str]:
    """`schema."My Seq"` → ["schema", "My Seq"]: an identifier path as the engine prints it."""
    parts, cur, quoted, i = [], "", False, 0
    while i < len(text):
        ch = text[i]
        if quoted and ch == '"' and text[i + 1 : i + 2] == '"':
            cur, i = cur + '"', i + 2
            continue
        if ch == '"':
            quoted = not quoted
        elif ch == "." and not quoted:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
        i += 1
    return [*parts, cur]


def _fed_columns(ctx: ReviewContext, keys: set[str]) -> dict[str, list[tuple[Table, Column]]]:
    """Sequence key → the columns it numbers: OWNED BY/identity, or a nextval() default."""
    stats = ctx.stats
    assert stats is not None
    owned = {stats.sequences[k].owned_by: k for k in keys if stats.sequences[k].owned_by}
    out: dict[str, list[tuple[Table, Column]]] = {}
    for t, c in ctx.columns():
        key = owned.get(object_name(t.schema, t.name, c.name))
        if key is not None:
            out.setdefault(key, []).append((t, c))
        for m in _NEXTVAL.finditer(c.default or ""):
            path = _split_name(m.group(1).replace("''", "'"))
            key = object_name(*(path if len(path) > 1 else [t.schema, *path]))
            if key not in keys:
                continue
            fed = out.setdefault(key, [])
            if not any(x is c for _, x in fed):
                fed.append((t, c))
    return out


def _span(seq: SequenceStats, column_types: list[str]) -> tuple[int, int, int | None]:
    """The usable range of a sequence feeding columns of these types, and which column
    type (index into `column_types`) narrows it, or None when the sequence itself does."""
    lo, hi, by = seq.min_value, seq.max_value, None
    for i, name in enumerate(column_types):
        c_lo, c_hi = _RANGE.get(name, _RANGE["bigint"])
        if seq.increment > 0 and c_hi < hi:
            hi, by = c_hi, i
        if seq.increment < 0 and c_lo > lo:
            lo, by = c_lo, i
    return lo, hi, by


def _used(seq: SequenceStats, lo: int, hi: int) -> float:
    """The share of [lo, hi] the sequence has consumed, in its direction."""
    if hi <= lo or seq.last_value is None:
        return 0.0
    done = seq.last_value - lo if seq.increment > 0 else hi - seq.last_value
    return done / (hi - lo)


def _widen(ctx: ReviewContext, fed: list[tuple[Table, Column]]) -> list[str]:
    """ALTER COLUMN … TYPE bigint for the fed columns and the foreign keys that copy them."""
    out: list[str] = []
    targets = [(t, c.name) for t, c in fed if c.type in ("smallint", "integer")]
    for t, col in targets:
        out.append(f"ALTER TABLE {ctx.qname(t)} ALTER COLUMN {ctx.quote(col)} TYPE bigint;")
        for child in ctx.tables:
            for fk in child.foreign_keys:
                if (fk.ref_schema, fk.ref_table) != (t.schema, t.name) or fk.inherited:
                    continue
                for mine, theirs in zip(fk.columns, fk.ref_columns, strict=False):
                    c = next((x for x in child.columns if x.name == mine), None)
                    if theirs == col and c is not None and c.type in ("smallint", "integer"):
                        stmt = (
                            f"ALTER TABLE {ctx.qname(child)} ALTER COLUMN {ctx.quote(mine)} "
                            "TYPE bigint;"
                        )
                        if stmt not in out:
                            out.append(stmt)
    if out:
        out.append("-- each ALTER COLUMN TYPE rewrites its table under an ACCESS EXCLUSIVE lock")
    return out


def _sequence_fix(
    ctx: ReviewContext, name: str, seq: SequenceStats, fed: list[tuple[Table, Column]]
) -> str | None:
    stmts = _widen(ctx, fed)
    lo, hi = _RANGE.get(seq.data_type, _RANGE["bigint"])
    # An identity column's sequence follows its column to bigint; others are altered here.
    if seq.data_type != "bigint" and not any(c.identity for _, c in fed):
        stmts.insert(0, f"ALTER SEQUENCE {name} AS bigint;")
    if seq.increment > 0 and seq.max_value < hi:
        stmts.insert(0, f"ALTER SEQUENCE {name} NO MAXVALUE;")
    if seq.increment < 0 and seq.min_value > lo:
        stmts.insert(0, f"ALTER SEQUENCE {name} NO MINVALUE;")
    return "\n".join(stmts) or None


@rule(
    id="sequence-near-exhaustion",
    title="Sequence is close to its last value",
    family="operations",
    severity="error",
    problem="""
When a sequence reaches its maximum, nextval() fails and every insert that needs a new key
fails with it: the application stops writing. The limit is the smaller of the sequence's own
MAXVALUE and the range of the column it fills — a bigint sequence feeding an integer column
still breaks at 2,147,483,647, with "integer out of range". Widening a big integer key takes a
table rewrite, so it must be planned well before the end.

The rule fires when more than `sequence-used-max` (default 0.75) of the range is used.
Sequences with CYCLE are skipped: they wrap around by design.
""",
    solution="""
Change the key column to bigint (and the foreign-key columns that reference it), and the
sequence to bigint or NO MAXVALUE. On a large table, rather than one rewriting ALTER, add a
bigint column, fill it in batches, and swap it in during a short maintenance window.
""",
    example="ALTER SEQUENCE public.orders_id_seq AS bigint;\n"
    "ALTER TABLE public.orders ALTER COLUMN id TYPE bigint;",
    engines=("postgres",),
    needs="stats",
)
def sequence_near_exhaustion(ctx: ReviewContext) -> Iterator[Hit]:
    stats = ctx.stats
    if stats is None:
        return
    max_used = ctx.threshold("sequence-used-max", 0.75)
    namespaces = {ns.name for ns in ctx.schema.namespaces}
    # Which columns a sequence feeds only matters when a narrow one could put it over the
    # limit; mapping every column of a large schema for every sequence would be wasted.
    candidates: dict[str, str] = {}
    for key, seq in stats.sequences.items():
        schema = next((ns for ns in namespaces if key.startswith(ns + ".")), None)
        if schema is None or seq.last_value is None or seq.cycle or seq.increment == 0:
            continue
        if any(_used(seq, *_span(seq, [name])[:2]) > max_used for name in _RANGE):
            candidates[key] = schema
    feeds = _fed_columns(ctx, set(candidates)) if candidates else {}
    for key, schema in candidates.items():
        seq = stats.sequences[key]
        fed = feeds.get(key, [])
        lo, hi, by = _span(seq, [c.type for _, c in fed])
        used = _used(seq, lo, hi)
        if used <= max_used:
            continue
        if by is not None:
            t, c = fed[by]
            bound = f"{c.type} column {t.qualified}.{c.name}"
        elif (seq.increment > 0 and hi < _RANGE.get(seq.data_type, _RANGE["bigint"])[1]) or (
            seq.increment < 0 and lo > _RANGE.get(seq.data_type, _RANGE["bigint"])[0]
        ):
            bound = "the sequence's " + ("MAXVALUE" if seq.increment > 0 else "MINVALUE")
        else:
            bound = f"{seq.data_type} sequence"
        name = sql_name(ctx, schema, key[len(schema) + 1 :])
        yield Hit(
            kind="sequence",
            object=key,
            message=f"sequence {key} has used {used:.0%} of its range: last value "
            f"{seq.last_value:,} of at most {hi if seq.increment > 0 else lo:,} ({bound})",
            fix=_sequence_fix(ctx, name, seq, fed),
        )


@rule(
    id="xid-wraparound-age",
    title="Transaction ID age is approaching wraparound",
    family="operations",
    severity="error",
    problem="""
PostgreSQL transaction IDs are 32-bit and compared modulo 2^32, so rows must be frozen by
VACUUM before they are about two billion transactions old. The database's age(datfrozenxid)
is the age of its oldest unfrozen table; when it nears 2^31, PostgreSQL first warns, then
refuses every command that needs a new transaction ID until the database is vacuumed — an
outage. A high age means vacuum has not been able to freeze some table: autovacuum disabled
or too slow, or an old transaction, prepared transaction or replication slot holding back the
horizon.

The limit is `xid-age-max` (default 1,000,000,000, half the way to the hard stop).
""",
    solution="""
Find what holds the horizon back (pg_stat_activity for old backend_xmin, pg_prepared_xacts,
pg_replication_slots) and end it; then VACUUM (FREEZE) the oldest tables, starting with those
whose age(relfrozenxid) is highest, and make sure autovacuum can keep up afterwards.
""",
    example="VACUUM (FREEZE, VERBOSE) public.events;",
    engines=("postgres",),
    needs="stats",
)
def xid_wraparound_age(ctx: ReviewContext) -> Iterator[Hit]:
    stats = ctx.stats
    if stats is None:
        return
    limit = ctx.threshold("xid-age-max", 1_000_000_000)
    if stats.xid_age <= limit:
        return
    # Freeze the user tables past the limit, oldest first, when one of them is the oldest
    # relation; when a system catalog is, only a database-wide VACUUM moves the age.
    oldest = sorted(
        ((s.frozen_xid_age, t) for t, _, s in storage_tables(ctx) if s.frozen_xid_age > limit),
        key=lambda pair: (-pair[0], pair[1].schema, pair[1].name),
    )[:5]
    fix = [f"VACUUM (FREEZE, VERBOSE) {ctx.qname(t)};" for _, t in oldest]
    if not oldest or oldest[0][0] < stats.xid_age:
        fix = ["VACUUM (FREEZE, VERBOSE);"]
    yield Hit(
        kind="database",
        object="database",
        message=f"the database's oldest unfrozen transaction ID is {stats.xid_age:,} "
        f"transactions old, above {limit:,.0f}; writes stop near 2,147,483,647",
        fix="\n".join(fix),
    )
