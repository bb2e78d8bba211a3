"""The MySQL engine on a real scratch MariaDB: server lifecycle, scratch databases, loading."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dbarchitect.engines import mariadb_server
from dbarchitect.engines.mysql import MysqlEngine, connect, version_number
from dbarchitect.engines.url import DatabaseURL, parse_url
from dbarchitect.errors import ConnectionFailed, EngineUnavailable, InputError
from tests.conftest import FIXTURES

ENGINE = MysqlEngine()


def _databases() -> set[str]:
    with connect(mariadb_server.get_server().url) as s:
        return {r["n"] for r in s.fetch("SELECT SCHEMA_NAME AS n FROM information_schema.SCHEMATA")}


def test_server_version_is_one_number(mysql_url: DatabaseURL) -> None:
    with connect(mysql_url) as s:
        text = s.fetch("SELECT VERSION() AS v")[0]["v"]
        assert s.server_version == version_number(text)
    assert version_number("10.11.19-MariaDB-0+deb12u1") == 101119
    assert version_number("8.0.36") == 80036


def test_scratch_is_empty_then_dropped_with_databases_its_files_made() -> None:
    with ENGINE.scratch() as url:
        assert url.database and url.database.startswith("dbarch_")
        with connect(url) as s:
            tables = s.fetch(
                "SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s",
                (url.database,),
            )
            assert tables[0]["n"] == 0
        ENGINE.run_script(
            url, "CREATE DATABASE made_by_file;\nUSE made_by_file;\nCREATE TABLE t (a INT);\n"
        )
        assert {url.database, "made_by_file"} <= _databases()
    assert url.database not in _databases()
    assert "made_by_file" not in _databases()


def test_load_files_follows_use_into_the_database_that_got_the_objects(tmp_path: Path) -> None:
    first = tmp_path / "01 create (v1).sql"
    first.write_text("CREATE DATABASE shop_x;\nUSE shop_x;\nCREATE TABLE item (id INT);\n")
    second = tmp_path / "02_more.sql"  # no USE: runs in the database the first file left us in
    # The last statement has no terminator: the client runs it at the end of the file.
    second.write_text("CREATE TABLE price (item_id INT);\nINSERT INTO item VALUES (1), (2)")
    with ENGINE.scratch() as url:
        result = ENGINE.load_files(url, [first, second])
        assert result.database == "shop_x"
        with connect(result) as s:
            assert s.fetch("SELECT COUNT(*) AS n FROM item")[0]["n"] == 2
            names = s.fetch("SHOW TABLES")
            assert sorted(next(iter(r.values())) for r in names) == ["item", "price"]


def test_load_files_keeps_the_scratch_database_when_the_file_does_not_switch(
    mysql_url: DatabaseURL, tmp_path: Path
) -> None:
    f = tmp_path / "plain.sql"
    f.write_text("DELIMITER //\nCREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END//\n")
    assert ENGINE.load_files(mysql_url, [f]) == mysql_url
    with connect(mysql_url) as s:
        rows = s.fetch(
            "SELECT ROUTINE_NAME AS n FROM information_schema.ROUTINES "
            "WHERE ROUTINE_SCHEMA = DATABASE()"
        )
    assert [r["n"] for r in rows] == ["p"]


def test_syntax_error_names_file_and_exact_line(mysql_url: DatabaseURL) -> None:
    path = FIXTURES / "mysql" / "bad_syntax.sql"
    with pytest.raises(InputError) as err:
        ENGINE.load_files(mysql_url, [path])
    message = str(err.value)
    assert message.startswith(f"{path}:8: You have an error in your SQL syntax")
    assert "\n" not in message
    with connect(mysql_url) as s:  # statements before the error ran, none after it
        names = [next(iter(r.values())) for r in s.fetch("SHOW TABLES")]
    assert names == ["ok_before"]


def test_server_error_in_script_names_where_and_statement_line(mysql_url: DatabaseURL) -> None:
    with pytest.raises(InputError, match=r"^inline\.sql:3: Table '.*nowhere' doesn't exist$"):
        ENGINE.run_script(mysql_url, "SELECT 1;\n\nSELECT x FROM nowhere;\n", where="inline.sql")


def test_missing_file_is_input_error(mysql_url: DatabaseURL, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope\.sql: cannot read"):
        ENGINE.load_files(mysql_url, [tmp_path / "nope.sql"])


def test_wrong_password_is_a_one_line_connection_failure(mysql_url: DatabaseURL) -> None:
    secret = "Corr3ct-Horse-pw"
    wrong = "Wr0ng-Battery-pw"
    with connect(mysql_url, read_only=False) as admin:
        admin.execute(f"CREATE USER 'dbarch_pw'@'localhost' IDENTIFIED BY '{secret}'")
        admin.execute(f"GRANT SELECT ON `{mysql_url.database}`.* TO 'dbarch_pw'@'localhost'")
    try:
        bad = parse_url(
            f"mysql://dbarch_pw:{wrong}@localhost/{mysql_url.database}?unix_socket={mysql_url.host}"
        )
        with pytest.raises(ConnectionFailed) as err:
            connect(bad)
        message = str(err.value)
        assert "Access denied for user 'dbarch_pw'" in message
        assert wrong not in message and "***" in message
        assert "\n" not in message
        good = parse_url(f"mysql://dbarch_pw:{secret}@/{mysql_url.database}?host={mysql_url.host}")
        with connect(good) as s:
            assert s.fetch("SELECT CURRENT_USER() AS u")[0]["u"] == "dbarch_pw@localhost"
    finally:
        with connect(mysql_url, read_only=False) as admin:
            admin.execute("DROP USER 'dbarch_pw'@'localhost'")


def test_unreachable_server_is_connection_failed(tmp_path: Path) -> None:
    url = parse_url(f"mysql://root:pw-xyz@/db?host={tmp_path}/no.sock")
    with pytest.raises(ConnectionFailed) as err:
        connect(url)
    assert "pw-xyz" not in str(err.value)
    assert str(err.value).startswith("cannot connect to mysql://root:***@/db")


def test_missing_binaries_give_engine_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DBARCH_MARIADB_BIN", str(tmp_path))
    with pytest.raises(EngineUnavailable) as err:
        mariadb_server.start_server()
    assert "install the mariadb-server package" in str(err.value)
    assert "\n" not in str(err.value)
    with pytest.raises(EngineUnavailable, match="mariadb-client"):
        mariadb_server.client_binary()


def test_server_runs_unprivileged_and_stops_at_exit() -> None:
    code = (
        "from dbarchitect.engines import mariadb_server as m\n"
        "s = m.get_server()\n"
        "print(s.pid, s.root, flush=True)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    pid_text, root = out.stdout.split()
    pid = int(pid_text)
    assert not Path(root).exists()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    server = mariadb_server.get_server()
    owner = Path(f"/proc/{server.pid}").stat().st_uid
    if os.geteuid() == 0:
        assert owner != 0  # mariadbd runs as mysql or nobody, never as root
    else:
        assert owner == os.geteuid()


def test_overlapping_scratches_do_not_drop_each_other() -> None:
    first = ENGINE.scratch()
    a = first.__enter__()
    second = ENGINE.scratch()
    b = second.__enter__()
    first.__exit__(None, None, None)  # a ends while b is still in use
    assert a.database not in _databases()
    assert b.database in _databases()
    second.__exit__(None, None, None)
    assert b.database not in _databases()
