"""The labelled migration corpus: its measured facts are real, and it covers every hazard."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.migrate.label_corpus import CASES, measure

HAZARD_IDS = {
    "create-index-without-concurrently",
    "concurrently-in-transaction",
    "drop-index-without-concurrently",
    "reindex-without-concurrently",
    "detach-partition-without-concurrently",
    "add-unique-constraint-builds-index",
    "add-exclusion-constraint",
    "add-foreign-key-validates",
    "add-check-validates",
    "set-not-null-scans",
    "column-type-rewrite",
    "add-column-volatile-default",
    "add-column-serial-or-identity",
    "add-stored-generated-column",
    "drop-table",
    "drop-column",
    "drop-schema",
    "truncate",
    "rename-table",
    "rename-column",
    "unbatched-update-or-delete",
    "attach-partition-scans",
    "refresh-materialized-view-without-concurrently",
    "set-logged-or-unlogged",
    "vacuum-full-or-cluster",
    "enum-value-used-in-same-transaction",
    "unbalanced-transaction",
    "identifier-too-long",
    "missing-lock-timeout",
    "strong-lock-held-across-slow-step",
}
ALL_CASES = sorted(p for p in CASES.iterdir() if p.is_dir())


def _label(case: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((case / "label.json").read_text(encoding="utf-8"))
    return data


def test_corpus_size_and_coverage() -> None:
    labels = [_label(c) for c in ALL_CASES]
    hazards = [set(lb["hazards"]) for lb in labels]  # type: ignore[call-overload]
    assert len(ALL_CASES) >= 80
    assert sum(1 for h in hazards if not h) >= 25
    assert set().union(*hazards) == HAZARD_IDS


@pytest.mark.parametrize("case", ALL_CASES, ids=[c.name for c in ALL_CASES])
def test_case_files(case: Path) -> None:
    assert (case / "schema.sql").is_file()
    assert (case / "migration.sql").read_text(encoding="utf-8").strip()
    label = _label(case)
    assert set(label) == {"hazards", "measured"}
    assert set(label["hazards"]) <= HAZARD_IDS  # type: ignore[call-overload]


@pytest.mark.parametrize("case", ALL_CASES, ids=[c.name for c in ALL_CASES])
def test_measured_facts_are_real(case: Path) -> None:
    assert measure(case) == _label(case)["measured"]
