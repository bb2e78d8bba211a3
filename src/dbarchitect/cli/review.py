"""`dbarch review SOURCE` and `dbarch rules [RULE-ID]`."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from dbarchitect.cli.output import exit_on, report_format
from dbarchitect.engines.url import looks_like_url, parse_url
from dbarchitect.errors import InputError
from dbarchitect.review import RULES, all_rules, load_config
from dbarchitect.review.docs import rule_markdown, rules_reference
from dbarchitect.review.source import review_source
from dbarchitect.sources import looks_like_spec, sql_files
from dbarchitect.sources.sqlalchemy import looks_like_models


class ReviewFormat(StrEnum):
    text = "text"
    json = "json"
    sarif = "sarif"
    github = "github"
    markdown = "markdown"


class FailOn(StrEnum):
    error = "error"
    warning = "warning"
    info = "info"
    never = "never"


def review(
    source: Annotated[
        list[str] | None,
        typer.Argument(
            help="Database URL, SQL file(s) or directory (default: $DATABASE_URL).",
            show_default=False,
        ),
    ] = None,
    dialect: Annotated[
        str | None, typer.Option("--dialect", "-d", help="Engine for SQL files.")
    ] = None,
    fmt: Annotated[
        ReviewFormat | None,
        typer.Option(
            "--format",
            "-f",
            help="Output format (github when GITHUB_ACTIONS is set, else text).",
            case_sensitive=False,
            show_default=False,
        ),
    ] = None,
    fail_on: Annotated[
        FailOn | None,
        typer.Option(
            "--fail-on",
            help="Exit 1 when a finding is at least this severe "
            "[default: error, or the configuration's].",
            show_default=False,
        ),
    ] = None,
    config_path: Annotated[
        Path | None, typer.Option("--config", "-c", help="dbarch.toml or pyproject.toml to use.")
    ] = None,
    rule_ids: Annotated[
        list[str] | None, typer.Option("--rule", "-r", help="Run only these rules; repeatable.")
    ] = None,
    schema: Annotated[
        list[str] | None, typer.Option("--schema", "-s", help="Only these schemas; repeatable.")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the report to this file.")
    ] = None,
) -> None:
    """Review a schema: findings an architect would flag, each with its reason and fix."""
    from dbarchitect.report.findings import render_findings
    from dbarchitect.review.locate import locate

    config = load_config(config_path)
    if rule_ids:
        unknown = sorted(set(rule_ids) - {r.id for r in all_rules()})
        if unknown:
            raise InputError(f"unknown rule id(s): {', '.join(unknown)} (see `dbarch rules`)")
        config = config.model_copy(update={"only": frozenset(rule_ids)})
    sources = source or [parse_url(None).render(redact=False)]
    _, findings = review_source(sources, config, dialect=dialect, schemas=schema or None)
    files = None
    single = sources[0] if len(sources) == 1 else ""
    if not (looks_like_url(single) or looks_like_models(single) or looks_like_spec(single)):
        files = sql_files(sources) if not sources[0].endswith(".json") else None
        if files:
            findings = locate(findings, files)
    shown = str(parse_url(sources[0])) if looks_like_url(sources[0]) else " ".join(sources)
    chosen = report_format(fmt.value if fmt else None)
    text = render_findings(findings, chosen, rules=RULES, source=shown, files=files)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
    exit_on(findings, fail_on.value if fail_on else config.fail_on)


def rules(
    rule_id: Annotated[str | None, typer.Argument(help="Explain this rule.")] = None,
    markdown: Annotated[
        bool, typer.Option("--markdown", help="The full rule reference as Markdown.")
    ] = False,
) -> None:
    """List the review rules, or explain one."""
    every = all_rules()
    if markdown:
        typer.echo(rules_reference(), nl=False)
        return
    if rule_id is not None:
        if rule_id not in RULES:
            raise InputError(f"unknown rule {rule_id!r} (see `dbarch rules`)")
        typer.echo(rule_markdown(RULES[rule_id], level=1), nl=False)
        return
    width = max(len(r.id) for r in every)
    for r in every:
        flag = "" if r.enabled else "  (off by default)"
        engines = ",".join(r.engines)
        typer.echo(
            f"{r.id:<{width}}  {r.severity:<7}  {r.family:<13}  {r.title}  [{engines}]{flag}"
        )
