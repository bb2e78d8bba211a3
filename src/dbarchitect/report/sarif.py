"""`dbarch review --format sarif`: findings as SARIF 2.1.0 for GitHub code scanning and others.

One run, tool `dbarchitect`, one reporting descriptor per rule that produced a finding (its
documentation comes from the rule's metadata), one result per finding. GitHub code scanning
rejects a result without a physical location, so when the review read files every result gets
one: where the object is created, else the first file's first line. A live database has no
files: its results carry logical locations (the object's qualified name) only.

SARIF `fixes` describe byte replacements in the analysed files; our fixes are new statements
(a migration), so they go into the message text and the result's properties instead.
"""

from __future__ import annotations

import json
import os
import urllib.parse
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from dbarchitect import __version__
from dbarchitect.review.finding import Finding
from dbarchitect.review.registry import Rule

SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
LEVELS = {"error": "error", "warning": "warning", "info": "note"}
# SARIF's well-known logical location kinds, for the kinds of objects findings name.
_LOGICAL_KINDS = {
    "database": "namespace",
    "schema": "namespace",
    "extension": "module",
    "table": "type",
    "view": "type",
    "materialized view": "type",
    "partition": "type",
    "sequence": "type",
    "type": "type",
    "enum": "type",
    "domain": "type",
    "composite": "type",
    "column": "member",
    "index": "member",
    "constraint": "member",
    "trigger": "member",
    "policy": "member",
    "function": "function",
    "procedure": "function",
    "aggregate": "function",
}
# GitHub ranks alerts of rules tagged `security` by this property (0.0–10.0: low below 4,
# medium below 7, high below 9).
_SECURITY_SEVERITY = {"error": "8.0", "warning": "5.0", "info": "2.0"}


def render_sarif(
    findings: Sequence[Finding],
    *,
    rules: dict[str, Rule],
    source: str,
    files: Sequence[Path] | None = None,
) -> str:
    """The findings as a SARIF 2.1.0 log (JSON text, stable ordering, trailing newline)."""
    log = sarif_log(findings, rules=rules, source=source, files=files)
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


def sarif_log(
    findings: Sequence[Finding],
    *,
    rules: dict[str, Rule],
    source: str,
    files: Sequence[Path] | None = None,
) -> dict[str, Any]:
    """The SARIF log as a JSON-ready dict."""
    ordered = sorted(findings, key=_order)
    rule_ids = sorted({f.rule for f in ordered})
    index = {rid: i for i, rid in enumerate(rule_ids)}
    fallback = str(files[0]) if files else None
    driver: dict[str, Any] = {
        "name": "dbarchitect",
        "version": __version__,
        "semanticVersion": __version__,
        "rules": [_descriptor(rid, rules.get(rid), ordered) for rid in rule_ids],
    }
    run: dict[str, Any] = {
        "tool": {"driver": driver},
        "results": [_result(f, index[f.rule], fallback) for f in ordered],
        "properties": {"source": source},
    }
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def _order(f: Finding) -> tuple[tuple[int, str, str, str, str], str, int]:
    return (f.sort_key(), f.file or "", f.line or 0)


def pascal_case(rule_id: str) -> str:
    """`fk-without-index` → `FkWithoutIndex`: SARIF's reportingDescriptor.name style."""
    return "".join(part[:1].upper() + part[1:] for part in rule_id.split("-"))


def _descriptor(rule_id: str, rule: Rule | None, findings: Sequence[Finding]) -> dict[str, Any]:
    if rule is None:  # a finding from a rule outside the registry given: describe what we know
        severity = next(f.severity for f in findings if f.rule == rule_id)
        return {
            "id": rule_id,
            "name": pascal_case(rule_id),
            "shortDescription": {"text": rule_id},
            "defaultConfiguration": {"level": LEVELS[severity]},
        }
    help_text = rule.solution
    help_markdown = rule.solution
    if rule.example:
        help_text += f"\n\nExample:\n{rule.example}"
        help_markdown += f"\n\nExample:\n\n```sql\n{rule.example}\n```"
    properties: dict[str, Any] = {"tags": [rule.family]}
    if rule.family == "security":
        properties["security-severity"] = _SECURITY_SEVERITY[rule.severity]
    return {
        "id": rule.id,
        "name": pascal_case(rule.id),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.problem},
        "help": {"text": help_text, "markdown": help_markdown},
        "defaultConfiguration": {"level": LEVELS[rule.severity], "enabled": rule.enabled},
        "properties": properties,
    }


def _result(f: Finding, rule_index: int, fallback: str | None) -> dict[str, Any]:
    text = f.message if f.fix is None else f"{f.message}\nFix: {f.fix}"
    location: dict[str, Any] = {}
    file, line = (f.file, f.line or 1) if f.file else (fallback, 1)
    if file is not None:
        location["physicalLocation"] = {
            "artifactLocation": artifact_location(file),
            "region": {"startLine": line},
        }
    location["logicalLocations"] = [
        {
            "name": f.object.rsplit(".", 1)[-1],
            "fullyQualifiedName": f.object,
            "kind": _LOGICAL_KINDS.get(f.kind, "resource"),
        }
    ]
    properties: dict[str, Any] = {"kind": f.kind, "object": f.object}
    if f.fix is not None:
        properties["fix"] = f.fix
    return {
        "ruleId": f.rule,
        "ruleIndex": rule_index,
        "level": LEVELS[f.severity],
        "message": {"text": text},
        "locations": [location],
        "partialFingerprints": {"dbarchitect/v1": f.fingerprint},
        "properties": properties,
    }


def artifact_location(file: str) -> dict[str, str]:
    """A file as SARIF wants it: a URI relative to the repository (`%SRCROOT%`) when the file
    is inside it, else an absolute file URI."""
    rel = repo_relative(file)
    if rel is None:
        return {"uri": Path(os.path.abspath(file)).as_uri()}
    return {"uri": urllib.parse.quote(rel), "uriBaseId": "%SRCROOT%"}


def display_path(file: str) -> str:
    """The path GitHub resolves against the repository root, or the path as given."""
    rel = repo_relative(file)
    return rel if rel is not None else file


def repo_relative(file: str) -> str | None:
    """`file` relative to the enclosing git repository (the current directory when there is
    none), POSIX style; None when the file lies outside it."""
    path = Path(os.path.abspath(file))
    try:
        return path.relative_to(_root(os.getcwd())).as_posix()
    except ValueError:
        return None


@cache
def _root(cwd: str) -> Path:
    # CI checks the repository out and runs from its root or below: code scanning and
    # workflow annotations both want paths from that root.
    here = Path(cwd)
    for d in (here, *here.parents):
        if (d / ".git").exists():
            return d
    return here
