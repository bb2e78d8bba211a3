"""Index tuning on TPC-H SF1: `dbarch tune` vs postgres-mcp's index advisor, same session.

Data: TPC-H generated offline by DuckDB's tpch extension (cached under
~/.cache/dbarchitect-bench, or $DBARCH_BENCH_CACHE), loaded into a database on the scratch
PostgreSQL cluster with primary keys only, ANALYZEd, HypoPG installed. Workload: DuckDB's 22
TPC-H queries, one statement each in the cached queries.sql.

Advisors, at 0.2, 0.64 and 1.28 GB (decimal):
- dbarchitect: `dbarch tune URL --workload queries.sql --budget B --format json`.
- postgres-mcp 0.3.0 (its own Python ≥ 3.12 environment, made on first use): the DTA advisor
  that its `analyze_query_indexes` tool runs, on the 22 queries as written; and, since that
  aborts, again with its columns qualified by sqlglot and the queries it still aborts on
  dropped (each query is first tried alone) — the help a user would have to give it.

Every proposal is judged the same way: summed planner cost of the 19 queries of the
literature's workload (without Q2, Q17, Q20) and of all 22, with the indexes simulated by
HypoPG, relative to no new index; then the indexes are built for real (size on disk), the 22
queries are run under a statement timeout, best of two passes (a timeout counts as the
timeout and is not retried), and the indexes are dropped. Advisor time is the wall time of
the tool's run; what-if calls are dbarch's own count and, for postgres-mcp, the EXPLAIN
statements it sent.

    .venv/bin/python -m benchmarks.tune [--timeout 60] [--passes 2]
        [--budgets 0.2,0.64,1.28] [--sf 1] [--no-peer] [--no-ours]

A partial run (any option changed) prints its figures without recording them.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.results import write_section
from benchmarks.tpch import data, measure, ours, peer
from dbarchitect.engines.postgres import conninfo
from dbarchitect.engines.url import DatabaseURL

DEFAULT_BUDGETS = "0.2,0.64,1.28"


@dataclass
class Proposal:
    """One advisor run and what the common judge measured of its indexes."""

    tool: str
    budget_gb: float
    ddls: tuple[str, ...]
    seconds: float
    whatif_calls: int
    analysed: str  # "22/22"
    estimated_bytes: int = 0
    notes: list[str] = field(default_factory=list)
    cost19: float = 1.0  # relative to no new index
    cost22: float = 1.0
    real_bytes: int = 0
    build_s: float = 0.0
    costs: dict[int, float] = field(default_factory=dict)  # planner cost per query
    run: measure.Run | None = None


@dataclass
class Context:
    url: DatabaseURL
    queries: dict[int, str]
    base_costs: dict[int, float]
    base_run: measure.Run
    timeout: float
    passes: int
    judged: dict[tuple[str, ...], tuple[dict[int, float], measure.Built, measure.Run]] = field(
        default_factory=dict
    )


def judge(ctx: Context, p: Proposal) -> None:
    """HypoPG costs, then a real build, a timed run and a drop; identical sets measured once."""
    key = tuple(sorted({measure.plain(d) for d in p.ddls}))
    if not key:
        p.cost19 = p.cost22 = 1.0
        p.costs, p.run = ctx.base_costs, ctx.base_run
        return
    if key not in ctx.judged:
        costs = measure.plan_costs(ctx.url, ctx.queries, key)
        built = measure.build(ctx.url, key)
        try:
            run = measure.timed_run(ctx.url, ctx.queries, ctx.timeout, ctx.passes)
        finally:
            measure.drop_all(ctx.url)
        ctx.judged[key] = (costs, built, run)
        print(
            f"  judged {p.tool} {p.budget_gb:g} GB: "
            f"build {built.seconds:.1f} s, run {run.total():.1f} s"
        )
    costs, built, run = ctx.judged[key]
    n19 = [n for n in ctx.queries if n not in data.EXCLUDED]
    p.cost19 = sum(costs[n] for n in n19) / sum(ctx.base_costs[n] for n in n19)
    p.cost22 = sum(costs.values()) / sum(ctx.base_costs.values())
    p.real_bytes, p.build_s, p.costs, p.run = built.size_bytes, built.seconds, costs, run


def our_proposals(ctx: Context, workload: Path, budgets: list[float]) -> list[Proposal]:
    out = []
    for gb in budgets:
        advice = ours.run(ctx.url, workload, f"{gb:g}GB")
        notes = [f"skipped {s}" for s in advice.skipped]
        out.append(
            Proposal(
                tool="dbarchitect",
                budget_gb=gb,
                ddls=advice.ddls,
                seconds=advice.seconds,
                whatif_calls=advice.whatif_calls,
                analysed=f"{advice.analysed}/{advice.statements}",
                estimated_bytes=advice.estimated_bytes,
                notes=notes,
            )
        )
        print(f"  dbarch tune {gb:g}GB: {len(advice.ddls)} indexes, {advice.seconds:.1f} s")
    return out


def peer_proposals(ctx: Context, budgets: list[float]) -> tuple[list[Proposal], list[str]]:
    """postgres-mcp as written, then helped (qualified columns, aborting queries dropped)."""
    info = conninfo(ctx.url)
    order = sorted(ctx.queries)
    mbs = [round(gb * 1e9 / 2**20) for gb in budgets]  # its budget is in MiB
    label = f"postgres-mcp {peer.version()}"
    out: list[Proposal] = []
    written = peer.run(info, [([ctx.queries[n] for n in order], mb) for mb in mbs])
    for gb, rec in zip(budgets, written, strict=True):
        out.append(_peer_proposal(f"{label} (as written)", gb, rec, len(order)))
    qualified = {n: peer.qualified(ctx.queries[n]) for n in order}
    alone = peer.run(info, [([qualified[n]], mbs[0]) for n in order])
    accepted = [n for n, rec in zip(order, alone, strict=True) if not rec["error"]]
    refused = [
        f"Q{n}: {_first(rec['error'])}" for n, rec in zip(order, alone, strict=True) if rec["error"]
    ]
    helped = peer.run(info, [([qualified[n] for n in accepted], mb) for mb in mbs])
    for gb, rec in zip(budgets, helped, strict=True):
        p = _peer_proposal(f"{label} (helped)", gb, rec, len(order))
        p.analysed = f"{len(accepted) if not rec['error'] else 0}/{len(order)}"
        out.append(p)
    notes = [
        f"{label} as written: "
        + "; ".join(sorted({_first(r["error"]) for r in written if r["error"]}) or ["no error"]),
        f"{label} alone on each qualified query: aborts on {len(refused)} of {len(order)} "
        f"({', '.join(refused)})",
    ]
    return out, notes


def _peer_proposal(tool: str, gb: float, rec: dict[str, object], total: int) -> Proposal:
    indexes = rec["indexes"]
    assert isinstance(indexes, list)
    error = rec["error"]
    p = Proposal(
        tool=tool,
        budget_gb=gb,
        ddls=tuple(str(i["definition"]) for i in indexes),
        seconds=float(rec["seconds"]),  # type: ignore[arg-type]
        whatif_calls=int(rec["whatif_calls"]),  # type: ignore[call-overload]
        analysed=f"{rec['analysed']}/{total}",
        estimated_bytes=sum(int(i["estimated_size_bytes"]) for i in indexes),
        notes=[f"aborted: {_first(str(error))}"] if error else [],
    )
    if rec.get("time_limit_hit"):
        p.notes.append("stopped by its 30 s time limit (checked after each greedy step)")
    print(f"  {tool} {gb:g} GB: {len(p.ddls)} indexes, {p.seconds:.1f} s, error: {error}")
    return p


def _first(message: object) -> str:
    text = str(message or "").removeprefix("Error in workload analysis: ")
    return text.splitlines()[0] if text else ""


def _mb(n: int) -> str:
    return f"{n / 1e6:,.0f} MB"


def report(
    ctx: Context, proposals: list[Proposal], setup: list[str], notes: list[str]
) -> list[str]:
    base = ctx.base_run
    rows = [*setup, ""]
    rows.append(
        "| tool | budget | rel. cost 19 q / 22 q | indexes | size real (est.) "
        "| real time 22 q, before → after | advisor | what-if calls | queries analysed |"
    )
    rows.append("|---|---|---|---|---|---|---|---|---|")
    for p in proposals:
        assert p.run is not None
        timeouts = f" ({len(p.run.timeouts)} t/o)" if p.run.timeouts else ""
        after = f"{p.run.total():.1f} s{timeouts}"
        rows.append(
            f"| {p.tool} | {p.budget_gb:g} GB | **{p.cost19:.1%}** / {p.cost22:.2%} | "
            f"{len(set(p.ddls))} | {_mb(p.real_bytes)} ({_mb(p.estimated_bytes)}) | "
            f"{base.total():.1f} s → **{after}** | {p.seconds:.1f} s | {p.whatif_calls:,} | "
            f"{p.analysed} |"
        )
    rows.append("")
    rows += notes
    rows += [f"- {p.tool} {p.budget_gb:g} GB: {n}" for p in proposals for n in p.notes]
    rows.append("- indexes proposed:")
    for p in proposals:
        if p.ddls:
            listed = "; ".join(f"`{measure.plain(d)}`" for d in p.ddls)
            rows.append(f"  - {p.tool} {p.budget_gb:g} GB: {listed}")
    rows += per_query(ctx, proposals)
    rows += targets(ctx, proposals)
    return rows


def per_query(ctx: Context, proposals: list[Proposal]) -> list[str]:
    """Per query, planner cost relative to no index and real seconds, for each distinct set of
    indexes proposed (where the estimate and the clock disagree shows here)."""
    cols: list[Proposal] = []
    for p in proposals:
        if p.ddls and p.run and all(set(p.ddls) != set(q.ddls) for q in cols):
            cols.append(p)
    head = "".join(f" {p.tool} {p.budget_gb:g} GB |" for p in cols)
    rows = [
        "",
        f"Per query: planner cost with the indexes ÷ without, and real seconds (best of "
        f"{ctx.passes}, timeout {ctx.timeout:g} s):",
        "",
        f"| query | no index: cost, s |{head}",
        "|---" * (2 + len(cols)) + "|",
    ]
    for n in sorted(ctx.queries):
        cells = [f"{ctx.base_costs[n]:,.0f}, {_secs(ctx.base_run, n)}"]
        for p in cols:
            assert p.run is not None
            cells.append(f"{p.costs[n] / ctx.base_costs[n]:.0%}, {_secs(p.run, n)}")
        rows.append(f"| Q{n} | " + " | ".join(cells) + " |")
    return rows


def _secs(run: measure.Run, n: int) -> str:
    return "t/o" if n in run.timeouts else f"{run.seconds[n]:.2f} s"


def targets(ctx: Context, proposals: list[Proposal]) -> list[str]:
    """The issue's targets, each with what was measured against it."""
    mine = [p for p in proposals if p.tool == "dbarchitect"]
    if not mine:
        return []
    lo, hi = min(mine, key=lambda p: p.budget_gb), max(mine, key=lambda p: p.budget_gb)
    everything = all(p.analysed.split("/")[0] == p.analysed.split("/")[1] for p in mine)
    calls = max(p.whatif_calls for p in mine)
    secs = max(p.seconds for p in mine)
    out = [
        "",
        "Targets (issue 6): every query analysed; on the 19 queries relative cost ≤ ~34% at "
        "0.2 GB and ≤ ~18% at 1.28 GB; ≤ ~2,000 what-if calls; seconds not minutes; larger "
        "real-time reduction than postgres-mcp at the same budget.",
        f"- every query analysed: {'met' if everything else 'NOT met'} "
        f"({', '.join(p.analysed for p in mine)})",
        f"- relative cost, 19 q: {lo.cost19:.1%} at {lo.budget_gb:g} GB "
        f"({'met' if lo.cost19 <= 0.34 else 'NOT met'}), {hi.cost19:.1%} at {hi.budget_gb:g} GB "
        f"({'met' if hi.cost19 <= 0.18 else 'NOT met'})",
        f"- what-if calls: at most {calls:,} ({'met' if calls <= 2000 else 'NOT met'})",
        f"- advisor time: at most {secs:.1f} s ({'met' if secs < 60 else 'NOT met'})",
    ]
    for p in mine:
        peers = [q for q in proposals if q.tool != p.tool and q.budget_gb == p.budget_gb]
        if not peers or p.run is None:
            continue
        best_peer = min(q.run.total() for q in peers if q.run)
        ok = p.run.total() < best_peer
        out.append(
            f"- real time at {p.budget_gb:g} GB: {p.run.total():.1f} s vs postgres-mcp's best "
            f"{best_peer:.1f} s ({'met' if ok else 'NOT met'})"
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sf", type=float, default=1.0)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--passes", type=int, default=2)
    parser.add_argument("--budgets", default=DEFAULT_BUDGETS, help="GB, comma-separated")
    parser.add_argument("--no-peer", action="store_true")
    parser.add_argument("--no-ours", action="store_true")
    args = parser.parse_args()
    partial = (args.sf, args.timeout, args.passes, args.budgets, args.no_peer, args.no_ours) != (
        1.0,
        60.0,
        2,
        DEFAULT_BUDGETS,
        False,
        False,
    )
    budgets = [float(b) for b in args.budgets.split(",")]
    started = time.perf_counter()
    load_avg = os.getloadavg()[0]

    csv_dir, gen_s = data.generate(args.sf)
    print(f"data: {csv_dir} ({f'generated in {gen_s:.1f} s' if gen_s else 'cached'})")
    url, load_s = data.load(csv_dir, database=f"tpch_sf{args.sf:g}".replace(".", "_"))
    print(f"loaded in {load_s:.1f} s")
    workload = csv_dir / "queries.sql"
    queries = data.read_queries(workload)
    base_costs = measure.plan_costs(url, queries, [])
    base_run = measure.timed_run(url, queries, args.timeout, args.passes)
    print(f"no index: {base_run.total():.1f} s, timeouts {base_run.timeouts}")
    ctx = Context(url, queries, base_costs, base_run, args.timeout, args.passes)

    proposals: list[Proposal] = []
    notes: list[str] = []
    if not args.no_ours:
        proposals += our_proposals(ctx, workload, budgets)
    if not args.no_peer:
        found, notes = peer_proposals(ctx, budgets)
        proposals += found
    for p in proposals:
        judge(ctx, p)

    with measure.connection(url) as conn:
        row = conn.execute("SELECT pg_database_size(current_database()), version()").fetchone()
    assert row is not None
    setup = [
        f"- data: TPC-H SF{args.sf:g} from DuckDB's tpch extension "
        f"({f'generated in {gen_s:.0f} s' if gen_s else 'cached CSV'}); loaded into "
        f"{str(row[1]).split(',')[0]} with primary keys only in **{load_s:.0f} s** "
        f"(COPY, keys, VACUUM ANALYZE; {_mb(int(row[0]))})",
        f"- workload: DuckDB's 22 TPC-H queries; relative cost = summed planner cost with the "
        f"proposed indexes simulated by HypoPG ÷ without (19 q: without Q2, Q17, Q20); real "
        f"time = each query's best of {args.passes} passes, a {args.timeout:g} s timeout "
        f"counted as {args.timeout:g} s; "
        f"no index: {base_run.total():.1f} s ({len(base_run.timeouts)} timeouts: "
        f"{', '.join(f'Q{n}' for n in base_run.timeouts) or 'none'})",
        f"- machine: {os.cpu_count()} CPUs, load average {load_avg:.1f} at start and "
        f"{os.getloadavg()[0]:.1f} at the end (other work shares it: real times are noisy); "
        f"whole benchmark {time.perf_counter() - started:.0f} s",
    ]
    rows = report(ctx, proposals, setup, notes)
    print("\n".join(rows))
    if partial:
        print("(partial run: not recorded)")
        return
    write_section(Path(__file__).with_name("RESULTS.md"), "Index tuning (issue 6)", rows)


if __name__ == "__main__":
    main()
