"""dbarchitect's side: `dbarch tune URL --workload FILE --budget B --format json`, as a user
runs it (a separate process, interpreter start-up and introspection included in its time)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dbarchitect.engines.url import DatabaseURL


@dataclass(frozen=True)
class Advice:
    """What one `dbarch tune` run proposed, read from its JSON (a serialized TuneResult)."""

    ddls: tuple[str, ...]
    estimated_bytes: int
    whatif_calls: int
    analysed: int
    statements: int
    skipped: tuple[str, ...]  # "source: reason"
    seconds: float


def _dbarch() -> str:
    beside = Path(sys.executable).with_name("dbarch")
    found = str(beside) if beside.exists() else shutil.which("dbarch")
    if found is None:
        raise SystemExit("`dbarch` is not installed: pip install -e . in this environment")
    return found


def run(url: DatabaseURL, workload: Path, budget: str) -> Advice:
    """One advisor run at `budget` (a size as the CLI reads it, e.g. 0.2GB)."""
    cmd = [
        _dbarch(),
        "tune",
        url.render(redact=False),
        "--workload",
        str(workload),
        "--budget",
        budget,
        "--format",
        "json",
    ]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        last = detail[-1] if detail else f"exit status {proc.returncode}"
        if "No such command" in proc.stderr:
            last = "this dbarch has no `tune` command yet"
        raise SystemExit(f"dbarch tune failed at --budget {budget}: {last}")
    return parse(json.loads(proc.stdout), seconds)


def parse(result: dict[str, Any], seconds: float) -> Advice:
    """The fields the benchmark needs from `dbarch tune --format json` output."""
    advice = result.get("advice", [])
    workload = result.get("workload", {})
    queries = workload.get("queries", [])
    skipped = workload.get("skipped", [])
    skipped_sources = {s.get("source", "") for s in skipped}
    query_sources = {q.get("source", "") for q in queries}
    return Advice(
        ddls=tuple(a["ddl"] for a in advice),
        estimated_bytes=sum(int(a.get("size_bytes", 0)) for a in advice),
        whatif_calls=int(result.get("whatif_calls", 0)),
        analysed=sum(1 for q in queries if q.get("source", "") not in skipped_sources),
        statements=len(queries) + sum(1 for s in skipped if s.get("source") not in query_sources),
        skipped=tuple(f"{s.get('source', '')}: {s.get('reason', '')}" for s in skipped),
        seconds=seconds,
    )
