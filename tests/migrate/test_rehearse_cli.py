"""`dbarch check --rehearse`: measured effects beside the static verdict, from the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from dbarchitect.cli import main
from dbarchitect.migrate.safety.compare import Comparison
from dbarchitect.migrate.safety.effects import Effect
from dbarchitect.migrate.safety.rehearse import Measured

SCHEMA = "CREATE TABLE account (id bigint PRIMARY KEY, email text, n integer);\n"
MIGRATION = """SET lock_timeout = '2s';
ALTER TABLE account ALTER COLUMN n TYPE bigint;
CREATE INDEX CONCURRENTLY account_email_idx ON account (email);
"""


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


def test_rehearsal_reports_measured_locks_and_rewrites(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "schema.sql").write_text(SCHEMA)
    (tmp_path / "001.sql").write_text(MIGRATION)
    code, out, _ = run(
        [
            "check",
            str(tmp_path / "001.sql"),
            "--schema",
            str(tmp_path / "schema.sql"),
            "--rehearse",
            "--rows",
            "300",
        ],
        capsys,
    )
    assert code == 1  # the type change rewrites: an error-level hazard
    assert "column-type-rewrite" in out
    lines = out.splitlines()
    retype = next(ln for ln in lines if "001.sql:2" in ln and " ms " in ln)
    assert "public.account ACCESS EXCLUSIVE" in retype and "rewrites: public.account" in retype
    index = next(ln for ln in lines if "001.sql:3" in ln and " ms " in ln)
    assert "public.account SHARE UPDATE EXCLUSIVE" in index
    assert "3 statements rehearsed, 0 disagreements" in out


def test_rehearse_needs_a_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "001.sql").write_text(MIGRATION)
    code, _, err = run(["check", str(tmp_path / "001.sql"), "--rehearse"], capsys)
    assert code == 2 and "--schema" in err


def test_disagreements_are_named() -> None:
    measured = Measured(
        sql="x",
        line=1,
        effect=Effect(locks={"public.t": "AccessExclusiveLock"}, rewrites=frozenset({"public.t"})),
    )
    predicted = Effect(locks={"public.t": "ShareLock"})
    found = Comparison("m.sql:1", predicted, measured).disagreements
    assert found == [
        "public.t: measured ACCESS EXCLUSIVE, predicted SHARE",
        "public.t: rewritten, not predicted",
    ]
    agreeing = Comparison("m.sql:1", measured.effect, measured).disagreements
    assert agreeing == []
    failed = Measured(sql="x", line=1, effect=Effect(), error="cannot alter type of a column")
    assert Comparison("m.sql:1", predicted, failed).disagreements == []
