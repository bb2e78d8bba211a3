"""`dbarch review` reports: findings as text, JSON, SARIF, GitHub annotations or Markdown.

Every format lists the findings in the same stable order (most severe first, then rule, kind,
object), so reports diff quietly between runs. Only `render_findings` is needed by callers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from itertools import groupby
from pathlib import Path
from typing import Any

from dbarchitect.errors import InputError
from dbarchitect.report.markdown_syntax import cell_text, code, escape_text, fenced, table
from dbarchitect.report.sarif import display_path, render_sarif
from dbarchitect.review.finding import RANK, SEVERITIES, Finding
from dbarchitect.review.registry import Rule

FORMATS = ("text", "json", "sarif", "github", "markdown")
_GITHUB_LEVELS = {"error": "error", "warning": "warning", "info": "notice"}


def render_findings(
    findings: Sequence[Finding],
    fmt: str,
    *,
    rules: dict[str, Rule],
    source: str,
    files: Sequence[Path] | None = None,
) -> str:
    """The findings of a review of `source` (a redacted URL or the paths given) in `fmt`:
    text, json, sarif, github or markdown. `files` are the SQL files reviewed, when the
    source was files: SARIF then gives every result a location in them."""
    ordered = sorted(findings, key=_order)
    if fmt == "text":
        return render_text(ordered)
    if fmt == "json":
        return render_json(ordered, source=source)
    if fmt == "sarif":
        return render_sarif(ordered, rules=rules, source=source, files=files)
    if fmt == "github":
        return render_github(ordered)
    if fmt == "markdown":
        return render_markdown(ordered, rules=rules, source=source)
    raise InputError(f"unknown report format {fmt!r} (one of: {', '.join(FORMATS)})")


def _order(f: Finding) -> tuple[tuple[int, str, str, str, str], str, int]:
    return (f.sort_key(), f.file or "", f.line or 0)


def counts(findings: Sequence[Finding]) -> dict[str, int]:
    """How many findings of each severity, every severity present (zeros included)."""
    return {s: sum(1 for f in findings if f.severity == s) for s in SEVERITIES}


def summary_line(findings: Sequence[Finding]) -> str:
    """`3 errors, 5 warnings, 2 info`, or `no findings`."""
    if not findings:
        return "no findings"
    n = counts(findings)
    return ", ".join(
        [
            f"{n['error']} error{'' if n['error'] == 1 else 's'}",
            f"{n['warning']} warning{'' if n['warning'] == 1 else 's'}",
            f"{n['info']} info",
        ]
    )


def _where(f: Finding) -> str | None:
    if f.file is None:
        return None
    return f"{f.file}:{f.line}" if f.line is not None else f.file


# --- text ---------------------------------------------------------------------------------


def render_text(findings: Sequence[Finding]) -> str:
    """One line per finding (`severity rule object: message`), its location and fix indented
    below, a blank line between rules, and the summary line last."""
    lines: list[str] = []
    for _, group in groupby(sorted(findings, key=_order), key=lambda f: (f.severity, f.rule)):
        for f in group:
            lines.append(f"{f.severity} {f.rule} {f.object}: {_one_line(f.message)}")
            where = _where(f)
            if where is not None:
                lines.append(f"  at {where}")
            if f.fix:
                fix = f.fix.strip().split("\n")
                lines.append(f"  fix: {fix[0]}")
                lines.extend(f"       {ln}" for ln in fix[1:])
        lines.append("")
    lines.append(summary_line(findings))
    return "\n".join(lines) + "\n"


def _one_line(text: str) -> str:
    return " ".join(text.split("\n"))


# --- json ---------------------------------------------------------------------------------


def render_json(findings: Sequence[Finding], *, source: str) -> str:
    """`{"source", "summary", "findings"}` with every field of every finding, stable order."""
    doc: dict[str, Any] = {
        "source": source,
        "summary": counts(findings),
        "findings": [
            {
                "rule": f.rule,
                "severity": f.severity,
                "kind": f.kind,
                "object": f.object,
                "message": f.message,
                "rationale": f.rationale,
                "fix": f.fix,
                "fingerprint": f.fingerprint,
                "file": f.file,
                "line": f.line,
            }
            for f in sorted(findings, key=_order)
        ],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


# --- GitHub Actions workflow commands ---------------------------------------------------------


def escape_data(text: str) -> str:
    """A workflow command's message: `%`, CR and LF percent-encoded (GitHub's toolkit rules)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value: as data, and also `:` and `,`."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(findings: Sequence[Finding]) -> str:
    """`::error file=…,line=…,title=rule::message` per finding (warning, notice for the
    others), the fix on the annotation's following lines; the summary line last, for the log."""
    lines = []
    for f in sorted(findings, key=_order):
        props = []
        if f.file is not None:
            props.append(f"file={escape_property(display_path(f.file))}")
            if f.line is not None:
                props.append(f"line={f.line}")
        props.append(f"title={escape_property(f.rule)}")
        message = f.message if f.fix is None else f"{f.message}\nFix: {f.fix}"
        lines.append(f"::{_GITHUB_LEVELS[f.severity]} {','.join(props)}::{escape_data(message)}")
    lines.append(summary_line(findings))
    return "\n".join(lines) + "\n"


# --- markdown -----------------------------------------------------------------------------


def render_markdown(findings: Sequence[Finding], *, rules: dict[str, Rule], source: str) -> str:
    """A report: the source, a summary table by severity, a table of the rules that fired
    (linked), and a section per rule with its title, why it matters, what to do, and every
    finding with its location and its fix as SQL."""
    out = ["# dbarch review", "", f"Source: {code(source)}", ""]
    if not findings:
        return "\n".join([*out, "No findings.", ""])
    n = counts(findings)
    out += [*table(["Severity", "Findings"], [[s, str(n[s])] for s in SEVERITIES]), ""]
    by_rule: dict[str, list[Finding]] = {}
    for f in sorted(findings, key=_order):
        by_rule.setdefault(f.rule, []).append(f)
    rows = []
    for rule_id, group in by_rule.items():
        title = rules[rule_id].title if rule_id in rules else ""
        link = f"[{code(rule_id)}](#{rule_id})"
        rows.append([link, cell_text(title), _worst(group), str(len(group))])
    out += [*table(["Rule", "Title", "Severity", "Findings"], rows), ""]
    for rule_id, group in by_rule.items():
        out += _rule_section(rule_id, rules.get(rule_id), group)
    return "\n".join(out)


def _worst(group: Sequence[Finding]) -> str:
    return max((f.severity for f in group), key=lambda s: RANK[s])


def _rule_section(rule_id: str, rule: Rule | None, group: Sequence[Finding]) -> list[str]:
    # The heading is the bare id, so its GitHub anchor is the id itself (ids are kebab-case).
    out = [f"## {rule_id}", ""]
    if rule is not None:
        out += [f"**{escape_text(rule.title, blocks=False)}** · {_worst(group)} · {rule.family}"]
        out += ["", f"**Why.** {escape_text(rule.problem)}", ""]
        out += [f"**What to do.** {escape_text(rule.solution)}", ""]
    elif group[0].rationale:
        out += [f"**Why.** {escape_text(group[0].rationale)}", ""]
    noun = "finding" if len(group) == 1 else "findings"
    out += [f"**{len(group)} {noun}:**", ""]
    for f in group:
        where = _where(f)
        at = f" ({code(where)})" if where else ""
        message = escape_text(_one_line(f.message), blocks=False)
        out.append(f"- {f.kind} {code(f.object)}{at}: {message}")
        if f.fix:
            out += ["", *("  " + ln if ln else ln for ln in fenced(f.fix.strip(), "sql"))]
        out.append("")
    return out
