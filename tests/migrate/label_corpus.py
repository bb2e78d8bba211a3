"""(Re)generate the measured part of every corpus label by rehearsing the case for real.

Usage: python tests/migrate/label_corpus.py [case ...]. The hazards of a label are expert
labelling and are kept as they are; only "measured" is rewritten.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from dbarchitect.migrate.safety.rehearse import rehearse, summarize

CASES = Path(__file__).resolve().parent.parent / "fixtures" / "check" / "cases"
ROWS = 200  # locks and rewrites do not depend on the table size


def measure(case: Path) -> dict[str, Any]:
    """The measured facts of one corpus case."""
    schema = (case / "schema.sql").read_text(encoding="utf-8")
    migration = (case / "migration.sql").read_text(encoding="utf-8")
    return summarize(rehearse(schema, migration, rows=ROWS))


def main(names: list[str]) -> None:
    """Rewrite the measured part of the named cases (all when none are named)."""
    cases = [CASES / n for n in names] if names else sorted(p for p in CASES.iterdir())
    for case in cases:
        path = case / "label.json"
        label = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        label = {"hazards": sorted(label.get("hazards", [])), "measured": measure(case)}
        path.write_text(json.dumps(label, indent=2) + "\n", encoding="utf-8")
        print(f"{case.name}: {json.dumps(label['measured'])}")


if __name__ == "__main__":
    main(sys.argv[1:])
