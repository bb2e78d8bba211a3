"""What the commands that report findings (review, check) share: format choice, exit status."""

from __future__ import annotations

import os
from collections.abc import Sequence

import typer

from dbarchitect.review.finding import RANK, Finding


def report_format(given: str | None) -> str:
    """The format asked for, else GitHub annotations inside GitHub Actions, else text."""
    if given:
        return given
    return "github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text"


def exit_on(findings: Sequence[Finding], threshold: str) -> None:
    """Exit with status 1 when a finding is at least as severe as `threshold` (or never)."""
    if threshold != "never" and any(RANK[f.severity] >= RANK[threshold] for f in findings):
        raise typer.Exit(1)
