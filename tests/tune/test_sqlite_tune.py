"""SqliteTuner on a real database file of 100k generated events whose right index is known:
events(user_id, created_at) for `WHERE user_id = ? ORDER BY created_at DESC LIMIT 10`."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from dbarchitect.dialects import get_dialect
from dbarchitect.dialects.sqlite.tune import SqliteTuner
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.errors import InputError
from dbarchitect.tune.model import Candidate, Query
from tests.tune.helpers import (
    RIGHT,
    TOP,
    USELESS,
    cost_without_and_with_right,
    verify_on_target,
)

DATA = """
CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, nickname TEXT);
CREATE TABLE kinds (kind TEXT, label TEXT);
CREATE TABLE events (
  id INTEGER PRIMARY KEY, user_id INT NOT NULL REFERENCES users (id), created_at TEXT NOT NULL,
  kind TEXT NOT NULL, payload TEXT
);
WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 100000)
INSERT INTO events
SELECT n, (n * 7919) % 1000, datetime(1700000000 + n * 60, 'unixepoch'), 'k' || (n % 7),
       hex(randomblob(16))
FROM s;
INSERT INTO users SELECT DISTINCT user_id, 'user ' || user_id, NULL FROM events;
INSERT INTO kinds SELECT DISTINCT kind, upper(kind) FROM events;
"""


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def db() -> Iterator[DatabaseURL]:
    engine = get_dialect("sqlite").engine()
    with engine.scratch() as url:
        engine.run_script(url, DATA)
        yield url


@pytest.fixture(scope="module")
def tuner(db: DatabaseURL) -> Iterator[SqliteTuner]:
    dialect = get_dialect("sqlite")
    with dialect.engine().connect(db) as session:
        schema = dialect.introspect(session)
    path = Path(db.database or "")
    before = (_digest(path), path.stat().st_mtime_ns)
    tuner = dialect.tuner(db, schema)
    assert isinstance(tuner, SqliteTuner)
    yield tuner
    tuner.close()
    # Everything the module did (plans, costs, builds, sizes, verify) left the file alone.
    assert (_digest(path), path.stat().st_mtime_ns) == before


def test_plannable_binds_the_most_common_values(tuner: SqliteTuner, db: DatabaseURL) -> None:
    with sqlite3.connect(db.database or "") as conn:
        top = conn.execute(
            "SELECT user_id FROM (SELECT user_id FROM events LIMIT 10000) "
            "GROUP BY user_id ORDER BY count(*) DESC, user_id LIMIT 1"
        ).fetchone()[0]
    assert tuner.plannable(TOP) == TOP.replace("?", str(top))
    bound = tuner.plannable("SELECT id FROM events WHERE kind IN (?1, ?2) AND user_id = :u")
    assert bound.startswith("SELECT id FROM events WHERE kind IN ('k")
    first, second = bound.split("IN (")[1].split(")")[0].split(", ")
    assert first != second
    with pytest.raises(InputError, match=r"users\.nickname holds no value"):
        tuner.plannable("SELECT id FROM users WHERE nickname = ?")
    with pytest.raises(InputError, match="unknown column nope"):
        tuner.plannable("SELECT id FROM users WHERE nope = ?")


def test_plan_shows_the_scan_and_the_sort_with_fixes(tuner: SqliteTuner) -> None:
    sql = tuner.plannable(TOP)
    plan = tuner.plan(sql, analyze=True)
    details = [row["detail"] for row in plan["plan"]]
    assert details == ["SCAN events", "USE TEMP B-TREE FOR ORDER BY"]
    assert plan["ms"] > 0
    query = Query(fingerprint=tuner.fingerprint(TOP), text=TOP, source="queries.sql:3")
    findings = {f.rule: f for f in tuner.plan_findings(query, plan, analyzed=True)}
    assert set(findings) == {"tune/seq-scan-selective", "tune/temp-sort"}
    scan = findings["tune/seq-scan-selective"]
    assert scan.object == "queries.sql:3" and "100,000 rows" in scan.message
    assert scan.fix is not None
    assert scan.fix.startswith("CREATE INDEX IF NOT EXISTS")
    assert scan.fix.endswith("ON events (user_id, created_at DESC);")


def test_correlated_subquery_and_automatic_index_findings(tuner: SqliteTuner) -> None:
    correlated = (
        "SELECT u.name, (SELECT max(created_at) FROM events e WHERE e.user_id = u.id) FROM users u"
    )
    query = Query(fingerprint=tuner.fingerprint(correlated), text=correlated)
    found = tuner.plan_findings(query, tuner.plan(correlated), analyzed=False)
    assert [f.rule for f in found] == ["tune/correlated-subplan"]
    assert found[0].object == query.fingerprint[:12]
    assert "events.user_id = users.id" in (found[0].fix or "")

    auto = "SELECT k.label, e.id FROM kinds k JOIN events e ON e.kind = k.kind"
    query = Query(fingerprint=tuner.fingerprint(auto), text=auto)
    found = tuner.plan_findings(query, tuner.plan(auto), analyzed=False)
    assert [f.rule for f in found] == ["tune/automatic-index"]
    assert (found[0].fix or "").endswith("ON events (kind);")


def test_cost_drops_with_the_right_index_built_on_the_copy(tuner: SqliteTuner) -> None:
    sql, base, indexed = cost_without_and_with_right(tuner)
    assert indexed < base / 10, (base, indexed)
    # A candidate the planner does not use leaves the plan alone: same cost, no new timing.
    calls = tuner.whatif_calls
    assert tuner.cost(sql, [RIGHT, USELESS]) == indexed
    assert tuner.whatif_calls == calls
    plan = tuner.copy_plan(sql, [RIGHT])
    assert [r["detail"] for r in plan["plan"]] == [
        f"SEARCH events USING INDEX {tuner._scratch().built[RIGHT.key]} (user_id=?)"
    ]
    assert next(r["detail"] for r in tuner.copy_plan(sql, [])["plan"]) == "SCAN events"


def test_writes_are_timed_and_rolled_back(tuner: SqliteTuner) -> None:
    sql = tuner.plannable("UPDATE events SET kind = ? WHERE user_id = ?")
    before = tuner.cost(sql, [])
    after = tuner.cost(sql, [RIGHT])
    assert after < before
    copy = tuner._scratch().conn
    assert copy.execute("SELECT count(DISTINCT kind) FROM events").fetchone()[0] == 7


def test_size_is_measured_on_the_built_index(tuner: SqliteTuner) -> None:
    size = tuner.size(RIGHT)
    estimate = tuner._estimate(RIGHT)
    # 100k keys of an integer and a 19-character timestamp plus the rowid.
    assert 2_000_000 < size < 5_000_000
    assert 0.5 < estimate / size < 2.0
    assert tuner.size(RIGHT) == size


def test_index_ddl(tuner: SqliteTuner) -> None:
    wide = Candidate(
        table="events",
        columns=("user_id", "created_at DESC"),
        include=("kind",),
        where="kind = 'k1'",
    )
    assert tuner.index_ddl(wide, "e_idx") == (
        "CREATE INDEX IF NOT EXISTS e_idx ON events (user_id, created_at DESC, kind) "
        "WHERE kind = 'k1'"
    )
    assert tuner.index_ddl(Candidate(table="users", columns=("(lower(name))",)), "u_lower") == (
        "CREATE INDEX IF NOT EXISTS u_lower ON users ((lower(name)))"
    )
    with pytest.raises(InputError, match="no gin indexes"):
        tuner.index_ddl(Candidate(table="events", columns=("kind",), method="gin"), "x")


def test_verify_on_the_copy(tuner: SqliteTuner) -> None:
    sql = tuner.plannable(TOP)
    query = Query(fingerprint=tuner.fingerprint(TOP), text=TOP)
    (timing,) = tuner.verify([(query, sql)], [RIGHT])
    assert timing.fingerprint == query.fingerprint
    assert timing.ms_after < timing.ms_before / 10
    assert timing.cost_after < timing.cost_before
    assert not timing.disagrees
    with pytest.raises(InputError, match="needs permission to write"):
        tuner.verify([(query, sql)], [RIGHT], on_target=True)


def test_verify_on_target_builds_and_drops(db: DatabaseURL, tmp_path: Path) -> None:
    target = tmp_path / "target.db"
    shutil.copy(db.database or "", target)
    url = DatabaseURL(dialect="sqlite", scheme="sqlite", database=str(target))
    dialect = get_dialect("sqlite")
    with dialect.engine().connect(url) as session:
        schema = dialect.introspect(session)
    tuner = dialect.tuner(url, schema, allow_writes=True)
    assert isinstance(tuner, SqliteTuner)
    timing = verify_on_target(tuner)
    assert timing.ms_after < timing.ms_before
    with sqlite3.connect(target) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")]
    assert not [n for n in names if n.startswith("dbarch_")]


def test_statements_that_cannot_be_analysed_never_run_on_the_copy(tuner: SqliteTuner) -> None:
    with pytest.raises(InputError, match="not run on the copy: not a query"):
        tuner.cost("CREATE TABLE dropped_in (a)", [])
    with pytest.raises(InputError, match="not run on the copy: unknown table ghosts"):
        tuner.cost("DELETE FROM ghosts", [])
    names = tuner._scratch().conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    assert "dropped_in" not in [r[0] for r in names]


def test_memory_databases_are_refused() -> None:
    dialect = get_dialect("sqlite")
    url = DatabaseURL(dialect="sqlite", scheme="sqlite", database=":memory:")
    with pytest.raises(InputError, match="needs a database file"):
        SqliteTuner(url, dialect.introspect(dialect.engine().connect(url)))
