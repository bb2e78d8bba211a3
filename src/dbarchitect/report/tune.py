"""`dbarch tune` reports: the advice, its evidence and the findings as text, JSON or Markdown."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from dbarchitect.report.findings import render_text as findings_text
from dbarchitect.report.markdown_syntax import (
    cell_code,
    cell_text,
    code,
    escape_text,
    fenced,
    table,
)
from dbarchitect.tune.model import TuneResult

FORMATS = ("text", "json", "markdown")


def render_tune(result: TuneResult, fmt: str, *, source: str, budget_bytes: int) -> str:
    """The result of tuning `source` (a redacted URL) in `fmt`."""
    if fmt == "json":
        return render_json(result, source=source, budget_bytes=budget_bytes)
    if fmt == "markdown":
        return render_markdown(result, source=source, budget_bytes=budget_bytes)
    return render_text(result, source=source, budget_bytes=budget_bytes)


def render_json(result: TuneResult, *, source: str, budget_bytes: int) -> str:
    doc: dict[str, Any] = {"source": source, "budget_bytes": budget_bytes}
    doc.update(dataclasses.asdict(result))
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def human_bytes(n: float) -> str:
    """Decimal units, as budgets are given: 1.3 GB, 250 MB, 8 kB."""
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{int(n)} B"


_JUDGED = {"hypopg": "gain from HypoPG what-if", "build": "gain measured on a built copy"}


def _num(x: float) -> str:
    """Costs span from fractions of a millisecond (SQLite) to millions (PostgreSQL)."""
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def _change(before: float, after: float) -> str:
    if before <= 0:
        return f"{_num(before)} → {_num(after)}"
    return f"{_num(before)} → {_num(after)} ({(after - before) / before:+.0%})"


def _final_cost(result: TuneResult) -> float:
    return result.curve[-1].cost if result.curve else result.base_cost


def _headline(result: TuneResult, budget_bytes: int) -> list[str]:
    w = result.workload
    calls = sum(q.calls for q in w.queries)
    lines = [
        f"Workload: {len(w.queries)} queries, {calls:,} calls; "
        f"{result.analysed} analysed, {len(w.skipped)} skipped"
    ]
    total = sum(a.size_bytes for a in result.advice)
    lines.append(
        f"Index advice within {human_bytes(budget_bytes)}: {len(result.advice)} indexes, "
        f"{human_bytes(total)}; workload cost {_change(result.base_cost, _final_cost(result))}; "
        f"{result.whatif_calls:,} what-if calls"
    )
    return lines


def render_text(result: TuneResult, *, source: str, budget_bytes: int) -> str:
    lines = [f"Tuning {source}", *_headline(result, budget_bytes), ""]
    for i, a in enumerate(result.advice, 1):
        lines.append(f"{i}. {a.ddl};")
        lines.append(
            f"   size ≈ {human_bytes(a.size_bytes)}; {_JUDGED[a.judged_by]}; {a.candidate.reason}"
        )
        for g in a.gains[:5]:
            lines.append(
                f"   helps {g.fingerprint[:12]}: cost {_change(g.cost_before, g.cost_after)}"
            )
        if len(a.gains) > 5:
            lines.append(f"   … and {len(a.gains) - 5} more queries")
        lines.append(f"   writes: {a.write_overhead}")
    if result.curve:
        lines += ["", "Cost by budget:"]
        lines += [
            f"  {human_bytes(p.budget_bytes):>9}  {p.indexes:3} indexes  cost {_num(p.cost)}"
            for p in result.curve
        ]
    if result.timings:
        lines += ["", "Verified (EXPLAIN ANALYZE, ms before → after):"]
        for t in result.timings:
            flag = "  planner and clock disagree" if t.disagrees else ""
            lines.append(f"  {t.fingerprint[:12]}  {_num(t.ms_before)} → {_num(t.ms_after)}{flag}")
    for n in result.nplus1:
        lines += [
            "",
            f"N+1 in session {n.session}: {n.repeats} × {n.child[:12]} within "
            f"{n.window_ms:,.0f} ms after {n.parent[:12]} ({n.source})",
            f"  {n.child_text}",
            f"  batch instead: {n.batched}",
        ]
    for p in result.partitions:
        lines += ["", f"Partition {p.table} by {p.strategy} ({p.key}): {p.reason}", p.ddl]
    if _skipped(result):
        lines += ["", "Skipped:", *_skipped(result)]
    if result.findings:
        lines += ["", findings_text(result.findings).rstrip("\n")]
    return "\n".join(lines) + "\n"


def render_markdown(result: TuneResult, *, source: str, budget_bytes: int) -> str:
    out = [f"# Tuning {escape_text(source)}", ""]
    out += [escape_text(line) + "  " for line in _headline(result, budget_bytes)]
    if result.advice:
        out += ["", "## Indexes", ""]
        rows = [
            [
                cell_code(a.ddl),
                cell_text(human_bytes(a.size_bytes)),
                cell_text(
                    "; ".join(
                        f"{g.fingerprint[:12]} {_change(g.cost_before, g.cost_after)}"
                        for g in a.gains
                    )
                ),
                cell_text(a.write_overhead),
            ]
            for a in result.advice
        ]
        out += table(["Index", "Size", "Queries helped (cost)", "Write overhead"], rows)
    if result.curve:
        out += ["", "## Cost by budget", ""]
        out += table(
            ["Budget", "Indexes", "Workload cost"],
            [[human_bytes(p.budget_bytes), str(p.indexes), _num(p.cost)] for p in result.curve],
        )
    if result.timings:
        out += ["", "## Verified", ""]
        out += table(
            ["Query", "ms before", "ms after", "Cost before", "Cost after", "Disagree"],
            [
                [
                    code(t.fingerprint[:12]),
                    _num(t.ms_before),
                    _num(t.ms_after),
                    _num(t.cost_before),
                    _num(t.cost_after),
                    "yes" if t.disagrees else "",
                ]
                for t in result.timings
            ],
        )
    if result.nplus1:
        out += ["", "## N+1 queries", ""]
        for n in result.nplus1:
            out.append(
                escape_text(
                    f"Session {n.session}: {n.repeats} × {n.child[:12]} within "
                    f"{n.window_ms:,.0f} ms after {n.parent[:12]} ({n.source}). Batch instead:"
                )
            )
            out += ["", *fenced(n.batched, "sql"), ""]
    if result.partitions:
        out += ["", "## Partitioning", ""]
        for p in result.partitions:
            out.append(escape_text(f"{p.table}: {p.strategy} on {p.key}. {p.reason}"))
            out += ["", *fenced(p.ddl, "sql"), ""]
    if result.findings:
        out += ["", "## Findings", ""]
        out += table(
            ["Severity", "Rule", "Query", "Finding", "Fix"],
            [
                [
                    f.severity,
                    code(f.rule),
                    cell_text(f.object),
                    cell_text(f.message),
                    cell_code(f.fix),
                ]
                for f in result.findings
            ],
        )
    skipped = _skipped(result)
    if skipped:
        out += ["", "## Skipped", ""] + [escape_text(s.strip()) + "  " for s in skipped]
    return "\n".join(out).rstrip("\n") + "\n"


def _skipped(result: TuneResult) -> list[str]:
    return [f"  {s.source}: {s.reason}" for s in result.workload.skipped]
