"""`dbarch inspect` end to end: DDL it prints loads back to the same schema, on every engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from dbarchitect.cli import main
from tests.conftest import FIXTURES, REALWORLD, realworld_manifest

RICH = {
    "postgres": FIXTURES / "postgres" / "rich.sql",
    "sqlite": FIXTURES / "sqlite" / "rich.sql",
    "mysql": FIXTURES / "mysql" / "rich.sql",
}


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out, err = capsys.readouterr()
    assert exc.value.code in (0, None), err
    return out


@pytest.mark.parametrize("dialect", sorted(RICH))
def test_sql_output_reinspects_to_identical_json(
    dialect: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rendered = tmp_path / f"{dialect}.sql"
    run(["inspect", str(RICH[dialect]), "-d", dialect, "-f", "sql", "-o", str(rendered)], capsys)
    original = run(["inspect", str(RICH[dialect]), "-d", dialect, "-f", "json"], capsys)
    again = run(["inspect", str(rendered), "-d", dialect, "-f", "json"], capsys)
    assert original == again
    assert f'"dialect": "{dialect}"' in original


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_readable_formats_name_every_table(fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    out = run(["inspect", str(RICH["postgres"]), "-f", fmt], capsys)
    for table in ("customer", "order", "event_2024_other_h1", "special_item"):
        assert table in out


def test_dataset_that_needs_a_newer_server_fails_on_the_manifest_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    dataset = next(d for d in realworld_manifest()["datasets"] if d["name"] == "pagila-v4.1.0")
    path = REALWORLD / dataset["load"][0]
    with pytest.raises(SystemExit) as exc:
        main(["inspect", str(path)])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    expected = dataset["expected_on_postgresql_15"]["first_error"]  # psql:FILE:284: ERROR: …
    line = expected.split(":")[2]
    assert err == f"dbarch: error: {path}:{line}: function uuidv7() does not exist"
