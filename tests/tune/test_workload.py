"""The workload readers: .sql files with weights, PostgreSQL logs (real ones, produced by
tests/fixtures/tune/logs/generate.py and live on the scratch cluster) and pg_stat_statements
on the scratch cluster."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest
from pglast.parser import split

from dbarchitect.dialects.postgres.tune.fingerprint import fingerprint
from dbarchitect.dialects.postgres.tune.statements import read_pg_stat_statements
from dbarchitect.engines.postgres import PostgresEngine, conninfo
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.errors import InputError
from dbarchitect.tune.pglog import read_pg_log, sniff
from dbarchitect.tune.workload import load_workload, read_sql_workload, split_statements
from tests.conftest import REALWORLD, realworld_files, realworld_manifest
from tests.tune.helpers import LOGS, WORKLOADS, gen, run_with_hash_seed, server_log_of

# ---------------------------------------------------------------------------------------------
# Fingerprints


def test_fingerprint_ignores_constants_parameters_and_list_lengths() -> None:
    texts = [
        "SELECT * FROM orders WHERE id = 42 AND status IN ('a', 'b')",
        "select *\n  from orders where id = $1 and status in ($2)",
        "SELECT * FROM orders WHERE id = 7 AND status IN ('x', 'y', 'z')",
    ]
    assert len({fingerprint(t) for t in texts}) == 1
    assert fingerprint("SELECT * FROM orders WHERE id = 1") != fingerprint(
        "SELECT * FROM customers WHERE id = 1"
    )
    assert len(fingerprint("SELECT 1")) == 16


def test_fingerprint_of_broken_sql_is_an_input_error() -> None:
    with pytest.raises(InputError, match="syntax error at or near"):
        fingerprint("SELEC 1")


# ---------------------------------------------------------------------------------------------
# .sql files


def test_sql_workload_weights_grouping_and_skips() -> None:
    w = read_sql_workload(WORKLOADS / "queries.sql", fingerprint)
    got = [(q.source, q.calls, q.total_ms) for q in w.queries]
    # Sorted by total time, then calls, then fingerprint.
    assert got[:2] == [("queries.sql:6", 120, 5400.0), ("queries.sql:16", 20, 61.0)]
    by_source = {q.source: q for q in w.queries}
    # weight: 3 on line 13, grouped with line 19 (another literal): 3 + 1 calls.
    assert by_source["queries.sql:13"].calls == 4
    assert (
        by_source["queries.sql:13"].text == "SELECT count(*) FROM orders WHERE status = 'shipped'"
    )
    assert set(by_source) == {
        "queries.sql:6",
        "queries.sql:13",
        "queries.sql:16",
        "queries.sql:23",
        "queries.sql:40",
    }
    # Texts are the file's bytes: literals, case, quoting and inner comments untouched.
    assert (
        by_source["queries.sql:16"].text == "SELECT * FROM customers WHERE name = E'O\\'Brien; Zoë'"
    )
    assert "'Open; Pending'   -- the semicolon" in by_source["queries.sql:6"].text
    assert by_source["queries.sql:40"].text.startswith("WITH recent AS (\n")
    assert by_source["queries.sql:40"].text.endswith('ON "Customer".id = r.customer_id')
    skipped = {s.source: s.reason for s in w.skipped}
    assert skipped == {
        "queries.sql:2": "psql meta-command",
        "queries.sql:21": "not a query (SET): only DML is tuned",
        "queries.sql:22": "not a query (BEGIN): only DML is tuned",
        "queries.sql:24": "not a query (COMMIT): only DML is tuned",
        "queries.sql:26": "not a query (CREATE): only DML is tuned",
        "queries.sql:34": "calls must be a positive whole number, got 'many'",
        "queries.sql:36": 'cannot parse: syntax error at or near "SELEC"',
        "queries.sql:38": "EXPLAIN: list the statement itself, without EXPLAIN",
    }
    assert [s.source for s in w.skipped] == sorted(skipped, key=lambda s: int(s.split(":")[1]))


def test_splitter_matches_postgres_own_scanner_on_the_corpus() -> None:
    """Every PostgreSQL file of the real-world corpus splits into the statements pglast's
    scanner finds (its pieces keep their leading comments, ours do not)."""
    files = 0
    statements = 0
    for dataset in realworld_manifest()["datasets"]:
        if dataset["engine"] != "postgresql":
            continue
        for name in realworld_files(dataset):
            text = (REALWORLD / name).read_text(encoding="utf-8")
            try:
                ref = list(split(text, with_parser=False))
            except Exception:  # psql meta-commands the scanner cannot read
                continue
            ours = [s.text for s in split_statements(text) if not s.meta]
            assert len(ours) == len(ref), name
            for theirs, mine in zip(ref, ours, strict=True):
                assert theirs.endswith(mine), (name, mine[:80])
            files += 1
            statements += len(ours)
    assert files >= 50 and statements >= 5000


def test_splitter_edge_cases() -> None:
    text = (
        "select $$a;b$$, $t$ $$ ; $t$;\n"
        "select 'it''s;' /* c; /* nested; */ */ , \"q;\" from t;\n"
        "CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET a = CASE WHEN 1 THEN 2 END; END"
        ";\n"
        "select `x;y` from t"
    )
    got = [(s.line, s.text) for s in split_statements(text)]
    assert got == [
        (1, "select $$a;b$$, $t$ $$ ; $t$"),
        (2, "select 'it''s;' /* c; /* nested; */ */ , \"q;\" from t"),
        (
            3,
            "CREATE TRIGGER tr AFTER INSERT ON t BEGIN "
            "UPDATE t SET a = CASE WHEN 1 THEN 2 END; END",
        ),
        (4, "select `x;y` from t"),
    ]
    # A column named begin does not open a block: the statement still ends at its semicolon.
    assert [s.text for s in split_statements("CREATE TABLE t (begin int); SELECT 1")] == [
        "CREATE TABLE t (begin int)",
        "SELECT 1",
    ]


def test_missing_and_binary_files_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_sql_workload(tmp_path / "absent.sql", fingerprint)
    bad = tmp_path / "bad.sql"
    bad.write_bytes(b"SELECT 1;\nSELECT '\xff';\n")
    with pytest.raises(InputError, match=r"bad.sql:2: not UTF-8"):
        read_sql_workload(bad, fingerprint)


# ---------------------------------------------------------------------------------------------
# Logs: real fixtures


BASIC_LOGS = [
    "basic_m_p_c.log",
    "basic_pgbadger.log",
    "basic_user_at_db.log",
    "basic_log_statement.log",
    "basic_auto_explain_text.log",
    "basic_auto_explain_json.log",
    "basic.csv",
    "basic.json",
]


@pytest.mark.parametrize("name", BASIC_LOGS)
def test_real_logs_give_the_workload_that_ran(name: str) -> None:
    """The same workload logged eight ways: the same queries, texts and calls every time
    (auto_explain's plan and the duration line of one execution count once)."""
    w, events = read_pg_log(LOGS / name, fingerprint)
    assert {q.text: q.calls for q in w.queries} == gen.BASIC_EXPECTED
    assert all(q.total_ms > 0 for q in w.queries)
    assert all(q.source.startswith(f"{name}:") for q in w.queries)
    assert [q.total_ms for q in w.queries] == sorted((q.total_ms for q in w.queries), reverse=True)
    # One event per execution, all in the workload's one session, in time order.
    assert len(events) == sum(gen.BASIC_EXPECTED.values())
    assert len({e.session for e in events}) == 1
    assert [e.at for e in events] == sorted(e.at for e in events)
    lookups = [e for e in events if e.text == "SELECT id, total FROM orders WHERE customer_id = $1"]
    if "auto_explain_json" not in name:  # PostgreSQL 15's auto_explain does not log parameters
        assert [e.params for e in lookups] == [("'1'",), ("'2'",), ("'3'",), ("'4'",)]
        updates = [e.params for e in events if e.text.startswith("UPDATE")]
        assert updates == [("'shipped'", "'5'"), ("'shipped'", "'6'")]


def test_utility_statements_of_a_log_are_summed_up() -> None:
    w, _ = read_pg_log(LOGS / "basic_auto_explain_text.log", fingerprint)
    reasons = sorted(s.reason for s in w.skipped)
    assert reasons == [
        "not a query (BEGIN): 1 in the log",
        "not a query (COMMIT): 1 in the log",
        "not a query (LOAD): 1 in the log",
        "not a query (SET): 3 in the log",
    ]


def test_sniff_tells_the_layouts_apart() -> None:
    def head(name: str) -> str:
        return (LOGS / name).read_text(encoding="utf-8")[:4096]

    assert sniff(head("basic.csv")) == "csv"
    assert sniff(head("basic.json")) == "json"
    assert sniff(head("basic_pgbadger.log")) == "stderr"
    assert sniff(head("handwritten_offsets.log")) == "stderr"  # starts with a continuation
    assert sniff((WORKLOADS / "queries.sql").read_text(encoding="utf-8")) is None


def test_handwritten_log_prefix_facts() -> None:
    """Numeric zone offsets, %c session ids, tab continuations (one tab removed), named
    executes with quoted and NULL parameters; ERROR/STATEMENT and foreign lines ignored."""
    w, events = read_pg_log(LOGS / "handwritten_offsets.log", fingerprint)
    plus2 = timezone(timedelta(hours=2))
    first = datetime(2024, 3, 10, 14, 22, 1, 123000, tzinfo=plus2).timestamp()
    assert [(round(e.at, 3), e.session) for e in events] == [
        (round(first, 3), "65edb2a1.1092"),
        (round(first + 0.019, 3), "65edb2a1.1092"),
        (round(first + 0.327, 3), "65edb2a1.1093"),
    ]
    assert events[0].text == "SELECT id, name\n  FROM customers\n\tWHERE name LIKE 'Zo%'"
    assert events[1].params == ("'O''Brien'", "NULL")
    assert [(q.calls, q.total_ms, q.source) for q in w.queries] == [
        (2, 15.25, "handwritten_offsets.log:3"),
        (1, 1.5, "handwritten_offsets.log:9"),
    ]
    assert all("nope" not in q.text for q in w.queries)


def test_epoch_timestamps_and_transaction_ids() -> None:
    w, events = read_pg_log(LOGS / "handwritten_epoch_xid.log", fingerprint)
    assert {q.text: q.calls for q in w.queries} == {
        "UPDATE t SET a = 1 WHERE id = 3": 2,
        "SELECT 1 FROM t": 2,
    }
    # Statements outside a transaction (xid 0) have no session key: no events for them.
    assert [(e.at, e.session) for e in events] == [
        (1700000000.2, "xid:731"),
        (1700000000.25, "xid:731"),
    ]


def test_a_file_without_log_lines_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.log"
    path.write_text("hello\nworld: 1\n\tindented\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"notes.log: no PostgreSQL log lines"):
        read_pg_log(path, fingerprint)


def test_load_workload_dispatches_by_content_and_merges() -> None:
    paths = [WORKLOADS / "queries.sql", LOGS / "basic.csv", LOGS / "basic_m_p_c.log"]
    w, events = load_workload(paths, fingerprint)
    by_fp = {q.fingerprint: q for q in w.queries}
    status = by_fp[fingerprint("SELECT count(*) FROM orders WHERE status = 'open'")]
    # 4 from the .sql file (weight 3 + 1), 3 from each log; the .sql file's text is kept.
    assert status.calls == 4 + 3 + 3
    assert status.source == "queries.sql:13"
    assert len(events) == 2 * sum(gen.BASIC_EXPECTED.values())
    update = by_fp[fingerprint("UPDATE orders SET status = $1 WHERE id = $2")]
    assert (update.calls, update.source) == (1 + 2 + 2, "queries.sql:23")
    assert len(w.queries) == 5 + 3  # the .sql file's five, the logs' five but the shared two
    assert len(w.skipped) == 8 + 3 + 3


def test_outputs_do_not_depend_on_the_hash_seed() -> None:
    script = (
        "import json, sys\n"
        "from dataclasses import asdict\n"
        "from pathlib import Path\n"
        "from dbarchitect.dialects.postgres.tune.fingerprint import fingerprint\n"
        "from dbarchitect.tune.workload import load_workload\n"
        "w, ev = load_workload([Path(p) for p in sys.argv[1:]], fingerprint)\n"
        "print(json.dumps([asdict(w), [asdict(e) for e in ev]]))\n"
    )
    paths = [str(WORKLOADS / "queries.sql"), *(str(LOGS / n) for n in BASIC_LOGS)]
    outs = [run_with_hash_seed(script, seed, *paths) for seed in ("1", "4242")]
    assert outs[0] == outs[1]
    w, _ = load_workload([Path(p) for p in paths], fingerprint)
    assert json.loads(outs[0])[0] == json.loads(json.dumps(asdict(w)))


# ---------------------------------------------------------------------------------------------
# Live: the scratch cluster's own log, and pg_stat_statements


def test_live_log_with_auto_explain_counts_each_execution_once(
    shop_url: DatabaseURL, tmp_path: Path
) -> None:
    def connect() -> psycopg.Connection[tuple[object, ...]]:
        conn = psycopg.connect(conninfo(shop_url), autocommit=True)
        for stmt in (
            "SET log_min_duration_statement = 0",
            "LOAD 'auto_explain'",
            "SET auto_explain.log_min_duration = 0",
            "SET auto_explain.log_format = 'json'",
        ):
            conn.execute(stmt)
        return conn

    path = server_log_of(lambda: gen.basic(connect), tmp_path, "live.log")
    assert b'"Query Text"' in path.read_bytes()  # auto_explain did log plans
    w, events = read_pg_log(path, fingerprint)
    assert {q.text: q.calls for q in w.queries} == gen.BASIC_EXPECTED
    assert len(events) == sum(gen.BASIC_EXPECTED.values())
    assert all(e.session.isdigit() for e in events)  # the default prefix: %m [%p]


def test_pg_stat_statements_regrouped_by_fingerprint(shop_url: DatabaseURL) -> None:
    with psycopg.connect(conninfo(shop_url), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        conn.execute("CREATE EXTENSION IF NOT EXISTS hypopg")
        conn.execute("SELECT pg_stat_statements_reset()")
        # Literal IN lists of other lengths are separate entries for PostgreSQL 15's queryid
        # and one query for our fingerprint.
        conn.execute("SELECT * FROM orders WHERE id IN (1, 2)")
        conn.execute("SELECT * FROM orders WHERE id IN (3, 4, 5)")
        for c in (1, 2, 3):
            conn.execute("SELECT id, total FROM orders WHERE customer_id = %s", (c,))
        conn.execute("UPDATE orders SET status = 'open' WHERE id = 9")
        conn.execute("SET work_mem = '8MB'")
        conn.execute("SELECT relname FROM pg_class WHERE relname = 'orders'")
        conn.execute("SELECT 1")
        conn.execute("SELECT * FROM hypopg_create_index('CREATE INDEX ON orders (status)')")
        conn.execute("SELECT hypopg_reset()")
    with PostgresEngine().connect(shop_url) as session:
        w = read_pg_stat_statements(session, fingerprint)
        again = read_pg_stat_statements(session, fingerprint)
    got = {q.fingerprint: q.calls for q in w.queries}
    assert got == {
        fingerprint("SELECT * FROM orders WHERE id IN (1)"): 2,
        fingerprint("SELECT id, total FROM orders WHERE customer_id = 1"): 3,
        fingerprint("UPDATE orders SET status = 'open' WHERE id = 9"): 1,
    }
    assert all(q.total_ms > 0 and q.source.startswith("pg_stat_statements:") for q in w.queries)
    texts = {q.text for q in w.queries}
    assert "SELECT id, total FROM orders WHERE customer_id = $1" in texts
    # Our own reading of the view is not part of the workload.
    assert {q.fingerprint for q in again.queries} == set(got)
    assert w.skipped == ()


def test_pg_stat_statements_missing_names_the_fix(pg_url: DatabaseURL) -> None:
    with PostgresEngine().connect(pg_url) as session, pytest.raises(InputError) as err:
        read_pg_stat_statements(session, fingerprint)
    message = str(err.value)
    assert pg_url.database is not None and pg_url.database in message
    assert "CREATE EXTENSION pg_stat_statements" in message
    assert "shared_preload_libraries" in message
    assert "\n" not in message


def test_scratch_cluster_preloads_pg_stat_statements(pg_url: DatabaseURL) -> None:
    with PostgresEngine().connect(pg_url) as session:
        rows = session.fetch("SHOW shared_preload_libraries")
    assert "pg_stat_statements" in rows[0]["shared_preload_libraries"]


def test_weight_comments_are_recognised_only_as_weights(tmp_path: Path) -> None:
    path = tmp_path / "w.sql"
    path.write_text(
        "-- this query calls: the payment API\nSELECT 1 FROM a;\n"
        "-- calls: 5, total_ms: 12.5\nSELECT 1 FROM b;\n"
        "/* weight: 2 */ -- calls: 1_000\nSELECT 1 FROM c;\n"
        "-- total_ms: -3\nSELECT 1 FROM d;\n",
        encoding="utf-8",
    )
    w = read_sql_workload(path, fingerprint)
    assert sorted((q.source, q.calls, q.total_ms) for q in w.queries) == [
        ("w.sql:2", 1, 0.0),
        ("w.sql:4", 5, 12.5),
        ("w.sql:6", 2000, 0.0),
    ]
    assert [(s.source, s.reason) for s in w.skipped] == [
        ("w.sql:8", "total_ms must be a number of milliseconds, got '-3'")
    ]


def test_a_stderr_log_may_start_with_other_lines(tmp_path: Path) -> None:
    path = tmp_path / "server.log"
    path.write_text(
        "waiting for server to start....\n"
        "2024-05-01 10:00:00.001 UTC [77] LOG:  duration: 1.000 ms  statement: SELECT 1 FROM t\n"
        " done\n",
        encoding="utf-8",
    )
    w, events = load_workload([path], fingerprint)
    assert [(q.text, q.source) for q in w.queries] == [("SELECT 1 FROM t", "server.log:2")]
    assert [(e.session, e.at) for e in events] == [("77", 1714557600.001)]
