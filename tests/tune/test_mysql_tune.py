"""MysqlTuner on a real MariaDB database of 60k generated events whose right index is known:
events(user_id, created_at) for `WHERE user_id = ? ORDER BY created_at DESC LIMIT 10`."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from dbarchitect.dialects import get_dialect
from dbarchitect.dialects.mysql import tune_copy
from dbarchitect.dialects.mysql.tune import MysqlTuner
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.errors import InputError
from dbarchitect.model import Schema
from dbarchitect.tune.model import Candidate, Query
from tests.tune.helpers import RIGHT, TOP, cost_without_and_with_right, verify_on_target

DATA = """
CREATE TABLE users (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL, code VARCHAR(10),
  bio TEXT, KEY users_code (code));
CREATE TABLE events (id INT PRIMARY KEY AUTO_INCREMENT, user_id INT NOT NULL,
  created_at DATETIME NOT NULL, kind VARCHAR(20) NOT NULL, payload VARCHAR(64),
  KEY events_kind (kind));
INSERT INTO events (user_id, created_at, kind, payload)
SELECT (seq * 7919) % 1000, '2024-01-01' + INTERVAL seq MINUTE, CONCAT('k', seq % 7), MD5(seq)
FROM seq_1_to_60000;
INSERT INTO users SELECT seq, CONCAT('user ', seq), LPAD(seq, 6, '0'), NULL FROM seq_0_to_999;
CREATE VIEW busy AS SELECT user_id, count(*) AS n FROM events GROUP BY user_id;
ANALYZE TABLE events, users;
"""


def _fingerprint(url: DatabaseURL) -> list[object]:
    """What must not change in the user's database: tables, indexes and contents."""
    engine = get_dialect("mysql").engine()
    # CHECKSUM TABLE only reads, but the read-only guard knows it not: the test owns this DB.
    with engine.connect(url, read_only=False) as session:
        tables = session.fetch(
            "SELECT TABLE_NAME AS t FROM information_schema.TABLES "
            "WHERE TABLE_SCHEMA = DATABASE() ORDER BY 1"
        )
        indexes = session.fetch(
            "SELECT TABLE_NAME AS t, INDEX_NAME AS i FROM information_schema.STATISTICS "
            "WHERE TABLE_SCHEMA = DATABASE() ORDER BY 1, 2"
        )
        sums = session.fetch("CHECKSUM TABLE events, users")
    return [tables, indexes, sums]


@pytest.fixture(scope="module")
def db() -> Iterator[tuple[DatabaseURL, Schema]]:
    dialect = get_dialect("mysql")
    with dialect.engine().scratch() as url:
        dialect.engine().run_script(url, DATA)
        with dialect.engine().connect(url) as session:
            yield url, dialect.introspect(session)


@pytest.fixture(scope="module")
def tuner(db: tuple[DatabaseURL, Schema]) -> Iterator[MysqlTuner]:
    url, schema = db
    before = _fingerprint(url)
    tuner = get_dialect("mysql").tuner(url, schema)
    assert isinstance(tuner, MysqlTuner)
    yield tuner
    tuner.close()
    assert _fingerprint(url) == before  # every build went to the copy


def test_plan_and_findings(tuner: MysqlTuner) -> None:
    sql = tuner.plannable(TOP)
    assert sql == TOP.replace("?", "0")  # the most common user_id among the first rows
    dated = tuner.plannable("SELECT id FROM events WHERE created_at > ?")
    assert re.fullmatch(
        r"SELECT id FROM events WHERE created_at > '2024-01-\d\d \d\d:\d\d:00'", dated
    )
    plan = tuner.plan(sql, analyze=True)
    table = plan["plan"]["query_block"]["nested_loop"][0]["read_sorted_file"]["filesort"]["table"]
    assert table["access_type"] == "ALL"
    assert plan["optimizer_cost"] > 0 and plan["ms"] > 0
    query = Query(fingerprint=tuner.fingerprint(TOP), text=TOP, source="slow.sql:7")
    findings = {f.rule: f for f in tuner.plan_findings(query, plan, analyzed=True)}
    assert set(findings) == {"tune/seq-scan-selective", "tune/temp-sort"}
    assert findings["tune/seq-scan-selective"].fix == (
        "CREATE INDEX events_user_id_created_at_desc_idx ON events (user_id, created_at DESC) "
        "ALGORITHM=INPLACE LOCK=NONE;"
    )
    assert all(f.object == "slow.sql:7" for f in findings.values())


def test_correlated_subquery_finding(tuner: MysqlTuner) -> None:
    sql = (
        "SELECT u.name, (SELECT max(created_at) FROM events e WHERE e.user_id = u.id) AS m "
        "FROM users u"
    )
    query = Query(fingerprint=tuner.fingerprint(sql), text=sql)
    found = tuner.plan_findings(query, tuner.plan(sql), analyzed=False)
    assert "tune/correlated-subplan" in [f.rule for f in found]


def test_cost_drops_with_the_right_index_built_on_the_copy(tuner: MysqlTuner) -> None:
    sql, base, indexed = cost_without_and_with_right(tuner)
    assert indexed < base / 5, (base, indexed)
    assert tuner.copied_by == "server"  # the scratch database is on the same server here
    node = tuner.copy_plan(sql, [RIGHT])["plan"]["query_block"]["nested_loop"][0]["table"]
    assert node["access_type"] == "ref" and node["key"].startswith("dbarch_tune_")


def test_writes_are_planned_and_timed_on_the_copy(tuner: MysqlTuner) -> None:
    sql = tuner.plannable("UPDATE events SET kind = ? WHERE user_id = ?")
    assert tuner.plan(sql)["on"] == "copy"
    assert tuner.cost(sql, [RIGHT]) < tuner.cost(sql, [])
    with pytest.raises(InputError, match="naming a database"):
        tuner.cost("SELECT * FROM mysql.user", [])


def test_size_from_innodb_after_the_build(tuner: MysqlTuner) -> None:
    size = tuner.size(RIGHT)
    # 60k keys of INT + DATETIME + the primary key: about 1-3 MB of 16 KB pages.
    assert 500_000 < size < 4_000_000
    assert size % 16384 == 0
    assert 0.5 < tuner._grew[RIGHT.key] / size < 2  # the table's INDEX_LENGTH grew as much


def test_index_ddl(tuner: MysqlTuner) -> None:
    ddl = tuner.index_ddl(
        Candidate(table="users", columns=("bio", "name DESC"), include=("code",)), "u_idx"
    )
    assert (
        ddl == "CREATE INDEX u_idx ON users (bio(255), name DESC, code) ALGORITHM=INPLACE LOCK=NONE"
    )
    with pytest.raises(InputError, match="no partial indexes"):
        tuner.index_ddl(Candidate(table="events", columns=("kind",), where="kind = 'a'"), "x")
    with pytest.raises(InputError, match="cannot index the expression"):
        tuner.index_ddl(Candidate(table="users", columns=("(lower(name))",)), "x")


def test_shapes_know_mariadb_implicit_casts(tuner: MysqlTuner) -> None:
    shape = tuner.shape("SELECT id FROM users WHERE code = 42")
    (finding,) = shape.findings
    assert finding.rule == "tune/non-sargable" and "users.code" in finding.message
    assert tuner.shape("SELECT id FROM users WHERE code = '000042'").findings == ()
    busy = tuner.shape("SELECT n FROM busy WHERE user_id = 5")
    assert busy.tables == ("events",)  # the view, read through


def test_verify_on_the_copy(tuner: MysqlTuner) -> None:
    sql = tuner.plannable(TOP)
    (timing,) = tuner.verify([(Query(fingerprint="f", text=TOP), sql)], [RIGHT])
    assert timing.ms_after < timing.ms_before / 5
    with pytest.raises(InputError, match="needs permission to write"):
        tuner.verify([(Query(fingerprint="f", text=TOP), sql)], [RIGHT], on_target=True)


def test_verify_on_target_builds_and_drops(db: tuple[DatabaseURL, Schema]) -> None:
    url, schema = db
    timing = verify_on_target(MysqlTuner(url, schema, allow_writes=True))
    assert timing.ms_after < timing.ms_before
    # The module's fixture checks at the end that the target's indexes are as they were.


def test_copy_through_the_client_and_only_what_is_read(
    db: tuple[DatabaseURL, Schema], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows travel through the client in keyset pages when the scratch server is another one
    (forced here); only the tables the queries read are copied."""
    url, schema = db
    monkeypatch.setattr(tune_copy, "BATCH", 300)  # four pages of 300, 300, 300 and 100 rows
    tuner = MysqlTuner(url, schema, copy="client")
    try:
        sql = tuner.plannable("SELECT id FROM users WHERE name = ?")
        assert tuner.cost(sql, []) > 0
        assert tuner.copied_by == "client"
        copy = tuner._scratch(["users"])
        got = copy.fetch("SELECT count(*) AS n, sum(id) AS s, max(code) AS c FROM users")
        assert got == [{"n": 1000, "s": 499500, "c": "000999"}]
        tables = copy.fetch(
            "SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()"
        )
        assert tables == [{"t": "users"}]  # events (and the view on it) were never needed
    finally:
        tuner.close()
