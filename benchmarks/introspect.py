"""Introspection speed: dbarchitect vs SQLAlchemy reflection on a 10,000-table schema.

Builds, in the scratch PostgreSQL cluster, N tables of 10 columns with a primary key, a
foreign key and 2 secondary indexes each, then times, in the same run on the same database:
dbarchitect's `introspect_url`; SQLAlchemy's `MetaData.reflect()`, its fastest path (bulk
`get_multi_*` queries); and the `inspect(engine)` Inspector asked table by table
(`get_columns`, `get_pk_constraint`, `get_foreign_keys`, `get_indexes`,
`get_unique_constraints`, `get_check_constraints`), as tools built on the Inspector use it.
The times and ratios are written to benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/introspect.py [--tables 10000]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from benchmarks.results import write_section
from dbarchitect.dialects import get_dialect
from dbarchitect.sources import introspect_url


def schema_sql(n: int) -> str:
    out = []
    for i in range(n):
        # FKs form a tree, not a chain: SQLAlchemy follows referenced tables recursively and
        # a 10,000-long chain exceeds Python's recursion limit.
        parent = f"t{i // 2}"
        out.append(
            f"CREATE TABLE t{i} (id bigint PRIMARY KEY, parent_id bigint REFERENCES {parent}(id),"
            " code text NOT NULL, name varchar(80), amount numeric(12,2) DEFAULT 0,"
            " created_at timestamptz NOT NULL DEFAULT now(), flag boolean, qty integer,"
            " note text, data jsonb);\n"
            f"CREATE INDEX t{i}_code_idx ON t{i} (code);\n"
            f"CREATE INDEX t{i}_name_created_idx ON t{i} (name, created_at DESC);\n"
        )
    return "".join(out)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tables", type=int, default=10_000)
    args = parser.parse_args()
    engine = get_dialect("postgres").engine()
    with engine.scratch() as url:
        t0 = time.perf_counter()
        engine.run_script(url, schema_sql(args.tables), where="benchmark schema")
        build = time.perf_counter() - t0
        # Both tools are timed on analysed catalogs (autovacuum would have got there): with
        # statistics fresh from a 10,000-table load, plans depend on when autovacuum ran.
        engine.run_script(url, "ANALYZE;", where="benchmark analyze")

        t0 = time.perf_counter()
        schema = introspect_url(url)
        ours = time.perf_counter() - t0
        assert len(schema.tables) == args.tables

        import sqlalchemy as sa

        sa_url = f"postgresql+psycopg://{url.user}@/{url.database}?host={url.host}&port={url.port}"
        sa_engine = sa.create_engine(sa_url)
        t0 = time.perf_counter()
        meta = sa.MetaData()
        meta.reflect(bind=sa_engine)
        theirs = time.perf_counter() - t0
        assert len(meta.tables) == args.tables

        t0 = time.perf_counter()
        insp = sa.inspect(sa_engine)
        for name in insp.get_table_names():
            insp.get_columns(name)
            insp.get_pk_constraint(name)
            insp.get_foreign_keys(name)
            insp.get_indexes(name)
            insp.get_unique_constraints(name)
            insp.get_check_constraints(name)
        per_table = time.perf_counter() - t0
        sa_engine.dispose()

    rows = [
        f"- schema: {args.tables:,} tables × (10 columns, PK, FK, 2 indexes);"
        f" built in {build:.1f} s, then ANALYZE",
        f"- dbarchitect `introspect_url` (all object kinds): **{ours:.2f} s**",
        f"- SQLAlchemy {sa.__version__} `MetaData.reflect()` (tables, columns, keys, indexes): "
        f"**{theirs:.2f} s**",
        f"- SQLAlchemy `inspect(engine)` Inspector, table by table (same six kinds): "
        f"**{per_table:.1f} s**",
        f"- ratios: **{theirs / ours:.1f}×** faster than `MetaData.reflect()`, "
        f"**{per_table / ours:.1f}×** faster than the per-table Inspector (target ≥ 20×)",
    ]
    write_section(Path(__file__).with_name("RESULTS.md"), "Introspection (issue 2)", rows)
    print("\n".join(rows))


if __name__ == "__main__":
    main()
