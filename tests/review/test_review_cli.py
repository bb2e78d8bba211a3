"""`dbarch review` and `dbarch rules` end to end: exit statuses, configuration, suppression."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dbarchitect.cli import main
from dbarchitect.review.docs import rules_reference
from tests.conftest import ROOT

SCHEMA = """
CREATE TABLE customer (id bigint PRIMARY KEY, name text);
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint REFERENCES customer);
CREATE TABLE audit_log (at timestamptz NOT NULL, note text);
COMMENT ON TABLE audit_log IS 'append-only; dbarch:ignore table-without-primary-key';
CREATE TABLE scratch_pad (note text);
"""


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


@pytest.fixture
def schema_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    path = tmp_path / "schema.sql"
    path.write_text(SCHEMA)
    return path


def _json(out: str) -> list[dict[str, object]]:
    findings: list[dict[str, object]] = json.loads(out)["findings"]
    return findings


RULES = ["--rule", "fk-without-index", "--rule", "table-without-primary-key"]


def test_findings_and_exit_status(schema_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["review", str(schema_file), *RULES, "-f", "json"], capsys)
    found = {(f["rule"], f["object"]) for f in _json(out)}
    assert found == {
        ("fk-without-index", "public.orders.orders_customer_id_fkey"),
        ("table-without-primary-key", "public.scratch_pad"),
    }, "audit_log is suppressed by the marker in its comment"
    assert code == 0, "only warnings, and --fail-on defaults to error"
    code, _, _ = run(["review", str(schema_file), *RULES, "--fail-on", "warning"], capsys)
    assert code == 1
    code, _, _ = run(["review", str(schema_file), *RULES, "--fail-on", "never"], capsys)
    assert code == 0


def test_configuration_file_changes_severity_and_ignores(
    schema_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (schema_file.parent / "dbarch.toml").write_text(
        "[review]\nfail-on = 'warning'\n"
        "[review.severity]\n'table-without-primary-key' = 'error'\n"
        "[review.ignore]\n'fk-without-index' = ['public.orders.orders_customer_id_fkey']\n"
    )
    code, out, _ = run(["review", str(schema_file), *RULES, "-f", "json"], capsys)
    findings = _json(out)
    assert [(f["rule"], f["severity"]) for f in findings] == [
        ("table-without-primary-key", "error")
    ]
    assert code == 1


def test_pyproject_section_is_read(schema_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (schema_file.parent / "pyproject.toml").write_text(
        "[project]\nname = 'x'\n[tool.dbarch.review]\ndisable = ['fk-without-index']\n"
    )
    _, out, _ = run(["review", str(schema_file), "-f", "json"], capsys)
    assert "fk-without-index" not in {f["rule"] for f in _json(out)}


def test_bad_configuration_is_a_one_line_error(
    schema_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (schema_file.parent / "dbarch.toml").write_text("[review]\ndisable = ['no-such-rule']\n")
    code, _, err = run(["review", str(schema_file)], capsys)
    assert code == 2 and "no-such-rule" in err and len(err.strip().splitlines()) == 1
    (schema_file.parent / "dbarch.toml").write_text("[review]\nfail-on = 'sometimes'\n")
    code, _, err = run(["review", str(schema_file)], capsys)
    assert code == 2 and "dbarch.toml" in err and "fail-on" in err


def test_unknown_rule_on_the_command_line(
    schema_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["review", str(schema_file), "--rule", "nope"], capsys)
    assert code == 2 and "nope" in err


def test_github_annotations_when_running_in_actions(
    schema_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    _, out, _ = run(["review", str(schema_file), *RULES], capsys)
    annotations = [line for line in out.splitlines() if line.startswith("::")]
    assert len(annotations) == 2
    assert all("file=schema.sql,line=" in line for line in annotations)


def test_rules_listing_and_explanation(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["rules"], capsys)
    assert code == 0 and "fk-without-index" in out and len(out.splitlines()) >= 50
    code, out, _ = run(["rules", "fk-without-index"], capsys)
    assert code == 0 and "Problem" in out and "Solution" in out


def test_rule_reference_is_up_to_date() -> None:
    page = ROOT / "docs" / "rules.md"
    assert page.read_text(encoding="utf-8") == rules_reference(), (
        "docs/rules.md drifted from the rules: run `dbarch rules --markdown > docs/rules.md`"
    )
