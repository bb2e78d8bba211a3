"""Migration safety: dbarchitect `check` vs squawk on the labelled corpus, same run.

The corpus (tests/fixtures/check/cases/*) labels each migration with the hazards a correct
checker must report; the labels come from rehearsals on real PostgreSQL (measured locks and
rewrites). Tools are compared case by case: a case is positive when its label has a hazard
beyond advice, and a tool flags it when it reports anything beyond advice or style. squawk's
style-only rules (IF NOT EXISTS, bigint preference, timeouts…) are excluded so neither tool is
scored on style. Precision, recall and run time go to benchmarks/RESULTS.md.

    .venv/bin/python -m benchmarks.check [--squawk PATH]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import time
from pathlib import Path

from benchmarks.results import write_section
from dbarchitect.migrate.safety.check import check_migrations
from dbarchitect.sources import load_schema

CASES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "check" / "cases"
ADVICE = {"missing-lock-timeout"}
SQUAWK_STYLE = [
    "prefer-robust-stmts",
    "prefer-bigint-over-int",
    "prefer-bigint-over-smallint",
    "prefer-identity",
    "prefer-text-field",
    "prefer-timestamptz",
    "require-statement-timeout",
    "require-lock-timeout",
    "ban-char-field",
]


def score(flags: dict[str, bool], truth: dict[str, bool]) -> tuple[float, float]:
    tp = sum(1 for c in truth if truth[c] and flags[c])
    fp = sum(1 for c in truth if not truth[c] and flags[c])
    fn = sum(1 for c in truth if truth[c] and not flags[c])
    return (tp / (tp + fp) if tp + fp else 1.0), (tp / (tp + fn) if tp + fn else 1.0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--squawk", default=shutil.which("squawk") or "squawk")
    args = parser.parse_args()
    cases = sorted(p for p in CASES.iterdir() if (p / "label.json").is_file())
    truth = {
        c.name: bool(set(json.loads((c / "label.json").read_text())["hazards"]) - ADVICE)
        for c in cases
    }
    ours: dict[str, bool] = {}
    t0 = time.perf_counter()
    for c in cases:
        schema = load_schema([str(c / "schema.sql")])
        found = check_migrations([c / "migration.sql"], schema=schema)
        ours[c.name] = any(f.rule not in ADVICE and f.severity != "info" for f in found)
    ours_time = time.perf_counter() - t0

    bare: dict[str, bool] = {}
    t0 = time.perf_counter()
    for c in cases:
        found = check_migrations([c / "migration.sql"])
        bare[c.name] = any(f.rule not in ADVICE and f.severity != "info" for f in found)
    bare_time = time.perf_counter() - t0

    theirs: dict[str, bool] = {}
    t0 = time.perf_counter()
    for c in cases:
        proc = subprocess.run(
            [
                args.squawk,
                "--reporter",
                "json",
                "--exclude",
                ",".join(SQUAWK_STYLE),
                str(c / "migration.sql"),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        out = proc.stdout.strip()
        theirs[c.name] = bool(json.loads(out)) if out.startswith("[") else proc.returncode != 0
    squawk_time = time.perf_counter() - t0
    version = subprocess.run(
        [args.squawk, "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()

    p1, r1 = score(ours, truth)
    p2, r2 = score(theirs, truth)
    p3, r3 = score(bare, truth)
    positives = sum(truth.values())
    rows = [
        f"- corpus: {len(cases)} migrations labelled from rehearsals on PostgreSQL 15 "
        f"({positives} hazardous, {len(cases) - positives} safe)",
        f"- dbarchitect check (with each case's schema): precision **{p1:.2f}**, recall "
        f"**{r1:.2f}**, {ours_time:.1f} s (includes loading each schema into a scratch database)",
        f"- dbarchitect check without a schema (as squawk runs): precision **{p3:.2f}**, "
        f"recall **{r3:.2f}**, {bare_time:.1f} s",
        f"- {version} (style rules excluded): precision **{p2:.2f}**, recall **{r2:.2f}**, "
        f"{squawk_time:.1f} s",
    ]
    write_section(Path(__file__).with_name("RESULTS.md"), "Migration safety (issue 5)", rows)
    print("\n".join(rows))


if __name__ == "__main__":
    main()
