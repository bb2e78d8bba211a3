"""The static checker against the corpus whose labels come from rehearsals on PostgreSQL 15.

Prints precision and recall over (case, hazard) pairs; guards them from regressing.
"""

from __future__ import annotations

import json

from dbarchitect.migrate.safety.check import check_migrations
from dbarchitect.sources import load_schema
from tests.conftest import FIXTURES

CASES = sorted(p for p in (FIXTURES / "check" / "cases").iterdir() if (p / "label.json").exists())


def test_precision_and_recall_on_the_measured_corpus() -> None:
    tp = fp = fn = 0
    wrong = []
    for case in CASES:
        expected = set(json.loads((case / "label.json").read_text())["hazards"])
        schema = load_schema([str(case / "schema.sql")])
        found = {f.rule for f in check_migrations([case / "migration.sql"], schema=schema)}
        tp += len(found & expected)
        fp += len(found - expected)
        fn += len(expected - found)
        if found != expected:
            wrong.append(
                f"{case.name}: extra {sorted(found - expected)}, missed {sorted(expected - found)}"
            )
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    safe = sum(1 for c in CASES if not json.loads((c / "label.json").read_text())["hazards"])
    print(
        f"\ncheck on {len(CASES)} cases ({safe} safe): precision {precision:.3f}, "
        f"recall {recall:.3f} ({tp} right, {fp} extra, {fn} missed)"
    )
    for line in wrong:
        print("  " + line)
    assert len(CASES) >= 80 and safe >= 25
    assert precision >= 0.95 and recall >= 0.95, wrong
