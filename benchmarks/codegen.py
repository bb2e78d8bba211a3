"""SQLAlchemy model generation: dbarchitect vs sqlacodegen on real schemas.

For each real PostgreSQL schema of ../shared/realworld, in the same run: load it into a scratch
database; generate models with dbarchitect (`render_models` on the introspected schema) and with
sqlacodegen (reading the same database); `create_all` each set of models into a fresh database
and introspect it; count what differs from the original (the migration diff's operations, the
tables, columns, foreign keys, indexes and checks that came back). A model file that does not
import or does not create counts as reproducing nothing. The figures go to
benchmarks/RESULTS.md.

sqlacodegen is installed in an environment of its own (~/.cache/dbarchitect-bench/sqlacodegen)
so that its pins never touch ours.

    .venv/bin/python -m benchmarks.codegen
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.results import write_section
from dbarchitect.codegen.sqlalchemy import render_models
from dbarchitect.dialects import get_dialect
from dbarchitect.errors import DbarchError
from dbarchitect.migrate.diff import diff
from dbarchitect.model import Schema
from dbarchitect.sources import introspect_url
from dbarchitect.sources.sqlalchemy import load_models

ROOT = Path(__file__).resolve().parents[1]
REALWORLD = ROOT.parent / "shared" / "realworld"
PEER_ENV = Path.home() / ".cache" / "dbarchitect-bench" / "sqlacodegen"
DATASETS = ("pagila", "chinook-postgresql", "synapse-postgresql", "musicbrainz", "basejump")


def peer_python() -> Path:
    """sqlacodegen's interpreter, installing it on first use."""
    python = PEER_ENV / "bin" / "python"
    if not (PEER_ENV / "bin" / "sqlacodegen").exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEER_ENV)], check=True)
        pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        subprocess.run([*pip, "sqlacodegen", "psycopg[binary]"], check=True)
    return python


def peer_version() -> str:
    out = subprocess.run(
        [str(PEER_ENV / "bin" / "python"), "-m", "pip", "show", "sqlacodegen"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return next(ln.split()[-1] for ln in out.splitlines() if ln.startswith("Version"))


def counts(schema: Schema) -> dict[str, int]:
    tables = [t for t in schema.tables if t.partition_of is None]
    return {
        "tables": len(tables),
        "columns": sum(len(t.columns) for t in tables),
        "foreign keys": sum(len(t.foreign_keys) for t in tables),
        "indexes": sum(len(t.indexes) + len(t.uniques) for t in tables),
        "checks": sum(len(t.checks) for t in tables),
    }


def reproduced(original: Schema, got: Schema | None) -> dict[str, int]:
    """How many of the original's objects came back exactly equal."""
    if got is None:
        return dict.fromkeys(counts(original), 0)
    out = dict.fromkeys(counts(original), 0)
    for table in original.tables:
        if table.partition_of is not None:
            continue
        other = got.table(table.qualified)
        if other is None:
            continue
        out["tables"] += table == other
        out["columns"] += sum(c == other.column(c.name) for c in table.columns)
        out["foreign keys"] += len(set(table.foreign_keys) & set(other.foreign_keys))
        both = set(table.indexes) & set(other.indexes)
        out["indexes"] += len(both) + len(set(table.uniques) & set(other.uniques))
        out["checks"] += len(set(table.checks) & set(other.checks))
    return out


def dataset_files(name: str) -> list[Path]:
    manifest = json.loads((REALWORLD / "manifest.json").read_text())
    data = next(d for d in manifest["datasets"] if d["name"] == name)
    if "load_order_file" in data:
        order = REALWORLD / data["load_order_file"]
        return [order.parent / ln.strip() for ln in order.read_text().splitlines() if ln.strip()]
    return [REALWORLD / f for f in data["load"]]


def try_models(path: Path) -> tuple[Schema | None, str]:
    try:
        return load_models(str(path), dialect="postgres"), ""
    except DbarchError as exc:
        # Name the file, not the temp directory it was in.
        return None, str(exc).splitlines()[0].replace(str(path.parent) + "/", "")[:120]


def one(name: str, python: Path, work: Path) -> dict[str, object]:
    engine = get_dialect("postgres").engine()
    with engine.scratch() as scratch:
        # A dump may switch to a database of its own (Chinook's `\c chinook`).
        url = engine.load_files(scratch, dataset_files(name))
        # Both times include reading the catalog, as sqlacodegen's does.
        t0 = time.perf_counter()
        original = introspect_url(url)
        ours_text = render_models(original)
        ours_time = time.perf_counter() - t0
        sa_url = f"postgresql+psycopg://{url.user}@/{url.database}?host={url.host}&port={url.port}"
        peer_file = work / f"{name}_sqlacodegen.py"
        # Every schema holding tables, not only the default one sqlacodegen reads by itself.
        namespaces = ",".join(sorted({t.schema for t in original.tables}))
        t0 = time.perf_counter()
        run = subprocess.run(
            [
                str(python.parent / "sqlacodegen"),
                sa_url,
                "--schemas",
                namespaces,
                "--outfile",
                str(peer_file),
            ],
            capture_output=True,
            text=True,
        )
        peer_time = time.perf_counter() - t0
    ours_file = work / f"{name}_dbarch.py"
    ours_file.write_text(ours_text, encoding="utf-8")
    ours, ours_err = try_models(ours_file)
    if run.returncode != 0:
        theirs, peer_err = None, (run.stderr.strip().splitlines() or ["failed"])[-1][:120]
    else:
        theirs, peer_err = try_models(peer_file)
    return {
        "name": name,
        "total": counts(original),
        "ours": reproduced(original, ours),
        "theirs": reproduced(original, theirs),
        "ours_diff": len(diff(ours, original).operations) if ours else None,
        "theirs_diff": len(diff(theirs, original).operations) if theirs else None,
        "ours_time": ours_time,
        "peer_time": peer_time,
        "ours_err": ours_err,
        "peer_err": peer_err,
    }


def main() -> None:
    python = peer_python()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in DATASETS:
            rows.append(one(name, python, Path(tmp)))
            print(json.dumps(rows[-1]), flush=True)
    lines = [
        f"sqlacodegen {peer_version()} and dbarchitect generate SQLAlchemy models from the same",
        "loaded database; each model file is `create_all`-ed into a fresh database and",
        "introspected. Cells: objects that came back exactly equal, of the original's count",
        "(partitions not counted); `diff` is the number of migration operations still between",
        "the original and what the models created (0 = identical). sqlacodegen is given every",
        "schema that holds tables (`--schemas`). Times include reading the catalog, and for",
        "sqlacodegen the start of its process (about 1 s).",
        "",
        "| schema | objects | dbarchitect | sqlacodegen | diff ours / peer | time ours / peer |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        total = r["total"]
        assert isinstance(total, dict)
        kinds = list(total)
        cell = " · ".join(f"{total[k]} {k}" for k in kinds)
        ours = r["ours"]
        theirs = r["theirs"]
        assert isinstance(ours, dict) and isinstance(theirs, dict)
        o = " · ".join(str(ours[k]) for k in kinds)
        t = " · ".join(str(theirs[k]) for k in kinds)
        if r["peer_err"]:
            t += f" ({r['peer_err']})"
        if r["ours_err"]:
            o += f" ({r['ours_err']})"
        d = f"{r['ours_diff']} / {r['theirs_diff']}"
        secs = f"{r['ours_time']:.2f} s / {r['peer_time']:.2f} s"
        lines.append(f"| {r['name']} | {cell} | {o} | {t} | {d} | {secs} |")
    write_section(
        ROOT / "benchmarks" / "RESULTS.md", "SQLAlchemy model generation (issue 7)", lines
    )


if __name__ == "__main__":
    main()
