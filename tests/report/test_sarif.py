"""SARIF output, validated against the official OASIS SARIF 2.1.0 schema (shipped as a fixture).

The fixture is the OASIS errata01 schema, byte for byte as the SARIF TC's repository publishes
it (oasis-tcs/sarif-spec, sarif-2.1/schema/sarif-schema-2.1.0.json; its commit #613 made that
copy "exactly match OASIS' official version"). It declares draft-04 but uses draft-06+ formats
(`uri-reference`) and the SARIF spec cites draft-07, so it is checked with Draft 7 rules.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from dbarchitect import __version__
from dbarchitect.report.findings import render_findings
from dbarchitect.report.sarif import (
    LEVELS,
    SCHEMA_URI,
    artifact_location,
    pascal_case,
    sarif_log,
)
from dbarchitect.review import Finding, ReviewConfig, Rule, all_rules
from dbarchitect.review.locate import locate
from dbarchitect.review.source import review_source
from tests.conftest import FIXTURES

SCHEMA_FILE = FIXTURES / "sarif" / "sarif-schema-2.1.0.json"
OFFICIAL_SHA256 = "c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e"
FK_CASE = FIXTURES / "review" / "fk-without-index"
RULES = {r.id: r for r in all_rules()}


@cache
def _schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return data


def _validator() -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(
        _schema(), format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
    )


def _errors(doc: Any) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in _validator().iter_errors(doc)]


def _rel(path: Path) -> Path:
    # The review is given the path as a user would type it, relative to the repository.
    return path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path


@pytest.fixture(scope="module")
def fk_review() -> tuple[list[Finding], list[Path]]:
    """A real review (every default rule) of the fk-without-index failing case, located."""
    files = [_rel(FK_CASE / "fail.sql")]
    _, findings = review_source([str(f) for f in files], ReviewConfig())
    return locate(findings, files), files


# --- the schema itself ------------------------------------------------------------------


def test_schema_fixture_is_the_unmodified_official_schema() -> None:
    assert hashlib.sha256(SCHEMA_FILE.read_bytes()).hexdigest() == OFFICIAL_SHA256
    schema = _schema()
    assert schema["id"] == SCHEMA_URI
    assert schema["properties"]["version"]["enum"] == ["2.1.0"]


def test_schema_is_a_valid_draft7_schema() -> None:
    jsonschema.Draft7Validator.check_schema(_schema())
    checker = jsonschema.Draft7Validator.FORMAT_CHECKER
    # Format checking is real only when the checkers the schema relies on are installed.
    assert {"uri", "uri-reference", "date-time"} <= set(checker.checkers)


@pytest.mark.parametrize(
    ("doc", "complaint"),
    [
        ({"runs": []}, "'version' is a required property"),
        ({"version": "2.0.0", "runs": []}, "is not one of ['2.1.0']"),
        ({"version": "2.1.0", "runs": [{"tool": {}}]}, "'driver' is a required property"),
        (
            {
                "version": "2.1.0",
                "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{"ruleId": "r"}]}],
            },
            "'message' is a required property",
        ),
        (
            {
                "version": "2.1.0",
                "runs": [
                    {
                        "tool": {"driver": {"name": "x"}},
                        "results": [{"message": {"text": "m"}, "level": "fatal"}],
                    }
                ],
            },
            "'fatal' is not one of",
        ),
        (
            {
                "version": "2.1.0",
                "runs": [
                    {
                        "tool": {"driver": {"name": "x"}},
                        "results": [
                            {
                                "message": {"text": "m"},
                                "locations": [
                                    {
                                        "physicalLocation": {
                                            "artifactLocation": {"uri": "a b.sql"},
                                            "region": {"startLine": 0},
                                        }
                                    }
                                ],
                            }
                        ],
                    }
                ],
            },
            "0 is less than the minimum of 1",
        ),
        (
            {
                "version": "2.1.0",
                "runs": [
                    {
                        "tool": {"driver": {"name": "x"}},
                        "results": [
                            {
                                "message": {"text": "m"},
                                "locations": [
                                    {"physicalLocation": {"artifactLocation": {"uri": "a b"}}}
                                ],
                            }
                        ],
                    }
                ],
            },
            "is not a 'uri-reference'",
        ),
        ({"version": "2.1.0", "runs": [], "extra": 1}, "Additional properties"),
    ],
)
def test_schema_rejects_invalid_sarif(doc: dict[str, Any], complaint: str) -> None:
    assert any(complaint in e for e in _errors(doc)), _errors(doc)


# --- our output -------------------------------------------------------------------------


def test_real_review_is_valid_sarif(fk_review: tuple[list[Finding], list[Path]]) -> None:
    findings, files = fk_review
    text = render_findings(findings, "sarif", rules=RULES, source=str(files[0]), files=files)
    doc = json.loads(text)
    assert _errors(doc) == []
    assert doc["$schema"] == SCHEMA_URI and doc["version"] == "2.1.0"
    run = doc["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "dbarchitect" and driver["version"] == __version__
    assert [r["id"] for r in driver["rules"]] == sorted({f.rule for f in findings})
    assert len(run["results"]) == len(findings)
    for result in run["results"]:
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        # GitHub code scanning refuses results without a physical location.
        assert result["locations"][0]["physicalLocation"]["region"]["startLine"] >= 1
    fk = next(r for r in run["results"] if r["ruleId"] == "fk-without-index")
    physical = fk["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"] == {
        "uri": "tests/fixtures/review/fk-without-index/fail.sql",
        "uriBaseId": "%SRCROOT%",
    }
    lines = (FK_CASE / "fail.sql").read_text().splitlines()
    assert "customer_id bigint REFERENCES customer" in lines[physical["region"]["startLine"] - 1]
    assert fk["level"] == LEVELS[RULES["fk-without-index"].severity]
    assert fk["message"]["text"].startswith("foreign key orders_customer_id_fkey")
    assert "\nFix: CREATE INDEX" in fk["message"]["text"]
    finding = next(f for f in findings if f.rule == "fk-without-index")
    assert fk["partialFingerprints"] == {"dbarchitect/v1": finding.fingerprint}
    assert fk["locations"][0]["logicalLocations"] == [
        {
            "name": "orders_customer_id_fkey",
            "fullyQualifiedName": "public.orders.orders_customer_id_fkey",
            "kind": "member",
        }
    ]


def test_rule_descriptor_documents_the_rule(fk_review: tuple[list[Finding], list[Path]]) -> None:
    findings, files = fk_review
    doc = sarif_log(findings, rules=RULES, source="x", files=files)
    rule = next(
        r for r in doc["runs"][0]["tool"]["driver"]["rules"] if r["id"] == "fk-without-index"
    )
    meta = RULES["fk-without-index"]
    assert rule["name"] == "FkWithoutIndex"
    assert rule["shortDescription"] == {"text": meta.title}
    assert rule["fullDescription"] == {"text": meta.problem}
    assert rule["help"]["text"].startswith(meta.solution)
    assert meta.example in rule["help"]["text"]
    assert f"```sql\n{meta.example}\n```" in rule["help"]["markdown"]
    assert rule["defaultConfiguration"]["level"] == LEVELS[meta.severity]
    assert rule["properties"]["tags"] == ["keys"]


def test_review_without_findings_is_valid_sarif() -> None:
    files = [_rel(FK_CASE / "pass.sql")]
    config = ReviewConfig(only=frozenset({"fk-without-index"}))
    _, findings = review_source([str(f) for f in files], config)
    assert findings == []
    doc = json.loads(render_findings([], "sarif", rules=RULES, source="pass.sql", files=files))
    assert _errors(doc) == []
    assert doc["runs"][0]["results"] == []
    assert doc["runs"][0]["tool"]["driver"]["rules"] == []


def _finding(**kw: Any) -> Finding:
    base: dict[str, Any] = {
        "rule": "table-without-primary-key",
        "severity": "warning",
        "kind": "table",
        "object": "public.audit",
        "message": "table public.audit has no primary key",
    }
    return Finding(**{**base, **kw})


def test_unlocated_findings_fall_back_to_the_first_file_when_files_were_reviewed() -> None:
    files = [Path("db/001_init.sql"), Path("db/002_more.sql")]
    findings = [
        _finding(),  # the locator found nothing (e.g. created in a DO block)
        _finding(kind="database", object="database", message="no"),
        _finding(object="public.t", file="db/002_more.sql", line=7),
    ]
    doc = sarif_log(findings, rules=RULES, source="db", files=files)
    assert _errors(doc) == []
    places = [
        (
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            r["locations"][0]["physicalLocation"]["region"]["startLine"],
        )
        for r in doc["runs"][0]["results"]
    ]
    assert sorted(places) == [
        ("db/001_init.sql", 1),
        ("db/001_init.sql", 1),
        ("db/002_more.sql", 7),
    ]


def test_live_database_results_have_logical_locations_only() -> None:
    findings = [_finding(), _finding(kind="column", object="public.audit.at", severity="info")]
    doc = sarif_log(findings, rules=RULES, source="postgresql://u@h/db", files=None)
    assert _errors(doc) == []
    results = doc["runs"][0]["results"]
    assert all("physicalLocation" not in r["locations"][0] for r in results)
    logical = [r["locations"][0]["logicalLocations"][0] for r in results]
    assert {(lo["fullyQualifiedName"], lo["kind"]) for lo in logical} == {
        ("public.audit", "type"),
        ("public.audit.at", "member"),
    }
    assert {r["level"] for r in results} == {"warning", "note"}
    assert doc["runs"][0]["properties"] == {"source": "postgresql://u@h/db"}


def _no_check(ctx: object) -> Iterator[Any]:
    return iter(())


def test_rule_outside_the_registry_and_security_severity() -> None:
    secure = Rule(
        id="grant-to-public",
        title="Privileges granted to PUBLIC",
        family="security",
        severity="error",
        problem="Every role gets them.",
        solution="Revoke them.",
        check=_no_check,
    )
    findings = [
        _finding(rule="grant-to-public", severity="error", kind="function", object="public.f()"),
        _finding(rule="not-registered", severity="info"),
    ]
    doc = sarif_log(findings, rules={"grant-to-public": secure}, source="x", files=None)
    assert _errors(doc) == []
    rules = {r["id"]: r for r in doc["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["grant-to-public"]["properties"]["security-severity"] == "8.0"
    assert "markdown" in rules["grant-to-public"]["help"]
    assert rules["not-registered"]["defaultConfiguration"] == {"level": "note"}
    assert rules["not-registered"]["name"] == "NotRegistered"


def test_artifact_uris(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    inside = tmp_path / "repo"
    (inside / "db dir").mkdir(parents=True)
    (inside / ".git").mkdir()
    outside = tmp_path / "elsewhere.sql"
    monkeypatch.chdir(inside / "db dir")
    # Relative to the repository root, not the current directory; spaces percent-encoded.
    assert artifact_location("schema.sql") == {
        "uri": "db%20dir/schema.sql",
        "uriBaseId": "%SRCROOT%",
    }
    assert artifact_location(str(outside)) == {"uri": outside.as_uri()}
    doc = sarif_log([_finding(file="schema.sql", line=3)], rules=RULES, source="x", files=None)
    assert _errors(doc) == []


def test_pascal_case() -> None:
    assert pascal_case("fk-without-index") == "FkWithoutIndex"
    assert pascal_case("rls") == "Rls"
