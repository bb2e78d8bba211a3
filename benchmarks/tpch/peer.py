"""postgres-mcp in a virtual environment of its own, made on first use under the cache dir.

postgres-mcp 0.3.0 requires Python ≥ 3.12 (the project runs on 3.11) and pins pglast==7.2.0,
which the package index reachable here does not serve; it is installed without its
dependencies and they are installed beside it by major version, pglast within 7.x (the same
libpg_query 17 parser). mcp stays below 2, the API it was written for.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks.tpch.data import TABLES, cache_dir

PACKAGE = "postgres-mcp==0.3.0"
DEPENDENCIES = (
    "attrs>=25.3,<27",
    "humanize>=4.8,<5",
    "instructor>=1.7.9,<2",
    "mcp[cli]>=1.5,<2",
    "pglast>=7.2,<8",
    "psycopg-pool>=3.2.6,<4",
    "psycopg[binary]>=3.2.6,<4",
)
RUNNER = Path(__file__).with_name("mcp_runner.py")


def _python312() -> str:
    """An interpreter postgres-mcp accepts: $DBARCH_BENCH_PYTHON, python3.13/3.12 on the
    PATH, or a pyenv-installed one."""
    env = os.environ.get("DBARCH_BENCH_PYTHON")
    if env:
        return env
    for name in ("python3.13", "python3.12"):
        found = shutil.which(name)
        if found and subprocess.run([found, "-V"], capture_output=True).returncode == 0:
            return found
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    for pattern in ("3.13*/bin/python3.13", "3.12*/bin/python3.12"):
        hits = sorted(glob.glob(str(pyenv / pattern)))
        if hits:
            return hits[-1]
    raise SystemExit(
        "postgres-mcp needs Python >= 3.12: none found (set DBARCH_BENCH_PYTHON to one)"
    )


def venv_python() -> Path:
    """The environment's interpreter, creating and filling the environment if needed."""
    root = cache_dir() / "postgres-mcp-venv"
    python = root / "bin" / "python"
    stamp = root / ".requirements"
    wanted = "\n".join((PACKAGE, *DEPENDENCIES))
    if python.exists() and stamp.exists() and stamp.read_text(encoding="utf-8") == wanted:
        return python
    shutil.rmtree(root, ignore_errors=True)
    subprocess.run([_python312(), "-m", "venv", str(root)], check=True)
    pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "--no-deps", PACKAGE], check=True)
    subprocess.run([*pip, *DEPENDENCIES], check=True)
    stamp.write_text(wanted, encoding="utf-8")
    return python


def version() -> str:
    return PACKAGE.split("==", 1)[1]


def run(conninfo: str, runs: list[tuple[list[str], int]]) -> list[dict[str, Any]]:
    """Run its advisor on each (queries, budget in MB), a fresh advisor each time, all in one
    process of its environment; one record per run (see mcp_runner.py)."""
    python = venv_python()
    job = json.dumps(
        {"conninfo": conninfo, "runs": [{"queries": q, "budget_mb": b} for q, b in runs]}
    )
    # Its candidate sets are Python sets: a fixed hash seed makes the figures repeatable.
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    proc = subprocess.run(
        # -I: the runner's own directory stays off sys.path, where this package's modules
        # would shadow the environment's (its `mcp` dependency among them).
        [str(python), "-I", str(RUNNER)],
        input=job,
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"postgres-mcp runner failed with status {proc.returncode}")
    records: list[dict[str, Any]] = json.loads(proc.stdout)
    return records


def qualified(sql: str) -> str:
    """`sql` with every column qualified by its table or alias (sqlglot's qualifier on the
    TPC-H schema): postgres-mcp pins an unqualified column on every table in scope and
    aborts, so this is the help a user would have to give it by hand."""
    import sqlglot
    from sqlglot.optimizer.qualify import qualify

    schema: dict[str, object] = {
        table: dict(_column(c) for c in columns.split(", ") if c.strip())
        for table, (columns, _) in TABLES.items()
    }
    tree = qualify(
        sqlglot.parse_one(sql, read="postgres"),
        schema=schema,
        dialect="postgres",
        quote_identifiers=False,
        expand_stars=False,
        validate_qualify_columns=False,
    )
    return tree.sql(dialect="postgres")


def _column(spec: str) -> tuple[str, str]:
    name, rest = spec.strip().split(" ", 1)
    return name, rest.replace(" NOT NULL", "")
