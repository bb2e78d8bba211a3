"""The tuning job: workload → shapes and plans → findings → candidates → selection → advice.

Pure orchestration over a Tuner: every engine-specific step (parsing, planning, what-if costs,
sizes, builds) is the Tuner's. Nothing is applied to the user's database: what-if costs are
hypothetical and `verify` builds on a scratch copy unless the caller allowed the target.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from dbarchitect.dialects import get_dialect
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.errors import InputError
from dbarchitect.model import Schema
from dbarchitect.model.stats import Stats
from dbarchitect.review.config import ReviewConfig
from dbarchitect.review.engine import review
from dbarchitect.review.finding import Finding
from dbarchitect.tune.candidates import candidates, existing_indexes, index_name
from dbarchitect.tune.model import (
    Candidate,
    CurvePoint,
    IndexAdvice,
    LogEvent,
    Query,
    QueryGain,
    Shape,
    Skipped,
    Timing,
    TuneResult,
    Workload,
)
from dbarchitect.tune.nplus1 import find_nplus1
from dbarchitect.tune.partition import partition_advice
from dbarchitect.tune.select import select
from dbarchitect.tune.tuner import Tuner
from dbarchitect.tune.workload import load_workload

# Existing indexes worth dropping: the review's rules say which and why.
REMOVAL_RULES = frozenset({"duplicate-index", "redundant-index", "unused-index"})


@dataclass(frozen=True, slots=True, kw_only=True)
class TuneOptions:
    budget_bytes: int = 500 * 1000**2
    curve_budgets: tuple[int, ...] = ()
    analyze: bool = False  # EXPLAIN ANALYZE: runs the queries (reads only, DML rolled back)
    verify: bool = False  # build the chosen indexes on a scratch copy and time the queries
    on_target: bool = False  # the user allowed building on the target itself


Analysed = tuple[Query, str, Shape]


def tune(url: DatabaseURL, workload: Sequence[Path], options: TuneOptions) -> TuneResult:
    """Tune the database at `url` for the queries in `workload` (its own record when empty)."""
    dialect = get_dialect(url.dialect)
    with dialect.engine().connect(url, read_only=True) as session:
        schema = dialect.introspect(session)
        stats = dialect.collect_stats(session)
    tuner = dialect.tuner(url, schema, allow_writes=options.on_target)
    try:
        if workload:
            queries, events = load_workload(workload, tuner.fingerprint)
        else:
            queries, events = tuner.live_workload(), []
        return run(tuner, schema, stats, queries, events, options, quote=dialect.quote)
    finally:
        tuner.close()


def run(
    tuner: Tuner,
    schema: Schema,
    stats: Stats | None,
    workload: Workload,
    events: Sequence[LogEvent],
    options: TuneOptions,
    *,
    quote: Callable[[str], str],
) -> TuneResult:
    """The whole analysis on one Tuner; every step's output is sorted, so runs are repeatable."""
    analysed, findings, skipped = _analyse(tuner, workload, analyze=options.analyze)
    shapes = [(q, s) for q, _, s in analysed]
    pool = candidates(shapes, schema, stats, methods=tuner.methods)
    chosen: tuple[Candidate, ...] = ()
    base = 0.0
    curve: tuple[CurvePoint, ...] = ()
    advice: list[IndexAdvice] = []
    if pool:
        tuner.start_whatif()
        sel = select(
            pool,
            analysed,
            tuner.cost,
            tuner.size,
            options.budget_bytes,
            curve_budgets=options.curve_budgets,
            existing=existing_indexes(schema, {c.table for c in pool}),
        )
        chosen, base, curve = sel.chosen, sel.base_cost, sel.curve
        sources = {q.fingerprint: q.source for q, _, _ in analysed}
        skipped += [Skipped(source=sources.get(fp, fp), reason=why) for fp, why in sel.skipped]
        advice = [
            _advice(tuner, c, helped, sel.per_query, stats, analysed)
            for c, helped in zip(chosen, sel.helped, strict=True)
        ]
    findings += _removals(schema, stats)
    timings: tuple[Timing, ...] = ()
    if options.verify and chosen:
        timings = tuple(
            tuner.verify([(q, sql) for q, sql, _ in analysed], chosen, on_target=options.on_target)
        )
    elif not analysed:
        base = 0.0
    return TuneResult(
        workload=Workload(
            queries=workload.queries,
            skipped=tuple(sorted(skipped, key=lambda s: (s.source, s.reason))),
        ),
        analysed=len(analysed),
        findings=tuple(sorted(_unique(findings), key=Finding.sort_key)),
        advice=tuple(advice),
        curve=curve,
        base_cost=base,
        whatif_calls=tuner.whatif_calls,
        timings=timings,
        nplus1=tuple(find_nplus1(events, tuner.fingerprint, batch=tuner.batched)),
        partitions=tuple(partition_advice(schema, stats, shapes, quote)),
    )


def _analyse(
    tuner: Tuner, workload: Workload, *, analyze: bool
) -> tuple[list[Analysed], list[Finding], list[Skipped]]:
    """Shape, bind and plan every query; one that cannot be analysed is skipped with the reason."""
    analysed: list[Analysed] = []
    findings: list[Finding] = []
    skipped = list(workload.skipped)
    for q in workload.queries:
        try:
            shape = tuner.shape(q.text)
            sql = tuner.plannable(q.text)
            plan = tuner.plan(sql, analyze=analyze)
        except InputError as exc:
            skipped.append(Skipped(source=q.source, reason=str(exc), text=q.text))
            continue
        where = q.source or q.fingerprint[:12]
        from_plan = tuner.plan_findings(q, plan, analyzed=analyze)
        # What the plan confirms is reported from the plan (with its figures), once.
        confirmed = {f.rule for f in from_plan}
        findings += [
            f if f.object else replace(f, object=where)
            for f in shape.findings
            if f.rule not in confirmed
        ]
        findings += from_plan
        analysed.append((q, sql, shape))
    skipped.sort(key=lambda s: (s.source, s.reason))
    return analysed, findings, skipped


def _advice(
    tuner: Tuner,
    c: Candidate,
    helped: Sequence[tuple[str, float, float]],
    per_query: dict[str, tuple[float, float]],
    stats: Stats | None,
    analysed: Sequence[Analysed],
) -> IndexAdvice:
    """One chosen index with the queries that would lose most without it (from the selection,
    which costs them the way it costed the search: mostly from its cache)."""
    gains = tuple(
        QueryGain(
            fingerprint=fp,
            cost_before=per_query.get(fp, (without, with_it))[0],
            cost_after=with_it,
        )
        for fp, with_it, without in helped
    )
    name = index_name(c, tuner.max_identifier_bytes)
    return IndexAdvice(
        candidate=c,
        name=name,
        ddl=tuner.index_ddl(c, name),
        size_bytes=tuner.size(c),
        gains=gains,
        write_overhead=_write_overhead(c, analysed, stats),
        judged_by="build" if c.method in tuner.built_methods else "hypopg",
    )


def _write_overhead(c: Candidate, analysed: Sequence[Analysed], stats: Stats | None) -> str:
    """How many writes would maintain the new index: the workload's own and the server's."""
    parts = []
    calls = sum(q.calls for q, _, s in analysed if s.writes == c.table)
    if calls:
        parts.append(f"{calls:,} writing calls in the workload")
    t = stats.tables.get(c.table) if stats else None
    if t is not None and t.writes:
        # A count, not a rate: the counters' window moves between runs, the count does not.
        parts.append(f"{t.writes:,} rows written on {c.table} since the statistics reset")
    if not parts:
        return f"no writes seen on {c.table}"
    return "; ".join(parts) + " would each also update this index"


def _removals(schema: Schema, stats: Stats | None) -> list[Finding]:
    """Existing indexes that are duplicates, prefixes of others or never used."""
    return review(schema, ReviewConfig(only=REMOVAL_RULES), stats=stats)


def _unique(findings: Sequence[Finding]) -> list[Finding]:
    """Two texts of one query can yield the same finding; it is reported once."""
    return list(dict.fromkeys(findings))
