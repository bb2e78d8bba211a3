"""What several tests of tuning share: the log generator and the scratch cluster's own log, a
PostgreSQL scratch database set up and introspected, a child interpreter with another hash
seed, and the checks both copy tuners (SQLite, MariaDB) must pass on the same query."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

from dbarchitect.dialects import get_dialect
from dbarchitect.engines import pgcluster
from dbarchitect.engines.postgres import PostgresEngine, connect
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.model import Schema
from dbarchitect.tune.copy_tuner import CopyTuner
from dbarchitect.tune.model import Candidate, Query, Timing
from tests.conftest import FIXTURES

LOGS = FIXTURES / "tune" / "logs"
WORKLOADS = FIXTURES / "tune" / "workloads"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("tune_log_generator", LOGS / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen = _generator()  # tests/fixtures/tune/logs/generate.py: the workloads its logs come from


def server_log_of(run: Callable[[], object], tmp_path: Path, name: str) -> Path:
    """What the scratch cluster logs while `run()` runs, as a file of its own."""
    log = pgcluster.get_cluster().root / "server.log"
    start = log.stat().st_size
    run()
    time.sleep(0.1)  # the server writes its log lines a moment after the client returns
    with log.open("rb") as fh:
        fh.seek(start)
        data = fh.read()
    path = tmp_path / name
    path.write_bytes(data)
    return path


@contextmanager
def postgres_db(setup: str, *, where: str = "<sql>") -> Iterator[tuple[DatabaseURL, Schema]]:
    """A scratch PostgreSQL database with `setup` run in it, and its introspected schema; the
    database is dropped when the block ends."""
    engine = PostgresEngine()
    with engine.scratch() as url:
        engine.run_script(url, setup, where=where)
        with connect(url, read_only=True) as session:
            schema = get_dialect("postgres").introspect(session)
        yield url, schema


def run_with_hash_seed(script: str, seed: str, *args: str, stdin: str | None = None) -> str:
    """What the Python `script` prints in a child interpreter whose PYTHONHASHSEED is `seed`
    (results that lean on the iteration order of sets or hashed keys then differ)."""
    env = {**os.environ, "PYTHONHASHSEED": seed}
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


# --- copy tuners: the same query and index on every engine ------------------------------------

TOP = "SELECT * FROM events WHERE user_id = ? ORDER BY created_at DESC LIMIT 10"
RIGHT = Candidate(table="events", columns=("user_id", "created_at"))  # the index TOP needs
USELESS = Candidate(table="events", columns=("payload",))


def cost_without_and_with_right(tuner: CopyTuner) -> tuple[str, float, float]:
    """TOP as planned, and its cost on the copy without and with RIGHT. Each of the two
    timings is one new what-if call; USELESS leaves the plan alone, so it costs the cached
    timing without one."""
    sql = tuner.plannable(TOP)
    calls = tuner.whatif_calls
    base = tuner.cost(sql, [])
    indexed = tuner.cost(sql, [RIGHT])
    assert tuner.cost(sql, [USELESS]) == base
    assert tuner.whatif_calls == calls + 2
    return sql, base, indexed


def verify_on_target(tuner: CopyTuner) -> Timing:
    """verify() of TOP with RIGHT built on the tuner's own database (then dropped); the tuner
    is closed afterwards."""
    try:
        sql = tuner.plannable(TOP)
        (timing,) = tuner.verify([(Query(fingerprint="f", text=TOP), sql)], [RIGHT], on_target=True)
    finally:
        tuner.close()
    return timing
