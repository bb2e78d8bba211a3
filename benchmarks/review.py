"""Review speed on the 10,000-table schema of the introspection benchmark.

Builds the same schema in the scratch PostgreSQL cluster, introspects it once, then times
`review()` with every rule that needs only the schema (the default configuration), and the
same through the CLI path with live statistics. Figures go to benchmarks/RESULTS.md.

    .venv/bin/python -m benchmarks.review [--tables 10000]
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path

from benchmarks.introspect import schema_sql
from benchmarks.results import write_section
from dbarchitect.dialects import get_dialect
from dbarchitect.review import ReviewConfig, review, selected_rules
from dbarchitect.review.source import review_url
from dbarchitect.sources import introspect_url


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tables", type=int, default=10_000)
    args = parser.parse_args()
    engine = get_dialect("postgres").engine()
    config = ReviewConfig()
    with engine.scratch() as url:
        engine.run_script(url, schema_sql(args.tables), where="benchmark schema")
        engine.run_script(url, "ANALYZE;", where="benchmark analyze")
        schema = introspect_url(url)
        t0 = time.perf_counter()
        findings = review(schema, config)
        pure = time.perf_counter() - t0
        t0 = time.perf_counter()
        _, live = review_url(url, config)
        whole = time.perf_counter() - t0
    rules = selected_rules("postgres", config)
    by_rule = Counter(f.rule for f in findings)
    top = ", ".join(f"{r} {n:,}" for r, n in by_rule.most_common(4)) or "none"
    rows = [
        f"- schema: {args.tables:,} tables × (10 columns, PK, FK, 2 indexes), analysed",
        f"- `review()` of the introspected schema, {len(rules)} default rules: **{pure:.2f} s**, "
        f"{len(findings):,} findings ({top})",
        f"- `review_url()` (introspection + live statistics + review, as `dbarch review URL`): "
        f"**{whole:.2f} s**, {len(live):,} findings",
    ]
    write_section(Path(__file__).with_name("RESULTS.md"), "Review (issue 3)", rows)
    print("\n".join(rows))


if __name__ == "__main__":
    main()
