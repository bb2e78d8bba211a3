"""`dbarch tune SOURCE`: plan findings and index advice that the planner confirms."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from dbarchitect.engines.url import looks_like_url, parse_url
from dbarchitect.errors import InputError


class TuneFormat(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"


_UNITS = {
    "": 1,
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")


def parse_size(text: str, *, option: str = "--budget") -> int:
    """`500MB`, `0.2GB`, `1.5GiB`, `1048576` → bytes (kB/MB/GB decimal, KiB/MiB/GiB binary)."""
    m = _SIZE.match(text)
    unit = m.group(2).lower() if m else ""
    if m is None or unit not in _UNITS:
        raise InputError(f"{option} {text!r}: expected a size such as 500MB, 0.2GB or 1GiB")
    return int(float(m.group(1)) * _UNITS[unit])


def tune(
    source: Annotated[
        str | None,
        typer.Argument(help="Database URL (default: $DATABASE_URL).", show_default=False),
    ] = None,
    workload: Annotated[
        list[Path] | None,
        typer.Option(
            "--workload",
            "-w",
            help="Queries: a .sql file (-- calls: N before a statement weighs it) or a server "
            "log; repeatable. Default: the database's pg_stat_statements.",
        ),
    ] = None,
    budget: Annotated[
        str, typer.Option("--budget", "-b", help="Space the new indexes may take.")
    ] = "500MB",
    curve: Annotated[
        str | None,
        typer.Option("--curve", help="Report the workload cost at these budgets: 0.2GB,1GB."),
    ] = None,
    analyze: Annotated[
        bool,
        typer.Option("--analyze", help="EXPLAIN ANALYZE the reading queries (runs them)."),
    ] = False,
    verify: Annotated[
        bool,
        typer.Option(
            "--verify", help="Build the chosen indexes on a scratch copy and time the queries."
        ),
    ] = False,
    on_target: Annotated[
        bool,
        typer.Option(
            "--on-target",
            help="With --verify: build on the target database itself, then drop them.",
        ),
    ] = False,
    fmt: Annotated[
        TuneFormat, typer.Option("--format", "-f", case_sensitive=False, help="Output format.")
    ] = TuneFormat.text,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the report to this file.")
    ] = None,
) -> None:
    """Find what makes a workload slow and the fewest, smallest indexes that fix it.

    Nothing is applied: costs of indexes that do not exist come from HypoPG, and --verify
    builds them on a scratch copy unless --on-target says otherwise.
    """
    from dbarchitect.report.tune import render_tune
    from dbarchitect.tune.advise import TuneOptions
    from dbarchitect.tune.advise import tune as run_tune

    if on_target and not verify:
        raise InputError("--on-target only goes with --verify")
    if source is not None and not looks_like_url(source):
        raise InputError(f"{source}: dbarch tune needs a database URL")
    url = parse_url(source)
    for path in workload or ():
        if not path.is_file():
            raise InputError(f"{path}: no such workload file")
    budget_bytes = parse_size(budget)
    curve_budgets = (
        tuple(
            sorted(parse_size(part, option="--curve") for part in curve.split(",") if part.strip())
        )
        if curve
        else ()
    )
    options = TuneOptions(
        budget_bytes=budget_bytes,
        curve_budgets=curve_budgets,
        analyze=analyze,
        verify=verify,
        on_target=on_target,
    )
    result = run_tune(url, workload or [], options)
    text = render_tune(result, fmt.value, source=str(url), budget_bytes=options.budget_bytes)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
