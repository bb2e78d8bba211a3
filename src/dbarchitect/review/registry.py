"""The rule registry: every rule declares its id, documentation and needs once.

Rules register with the explicit `@rule(...)` decorator; a duplicate id fails at import.
`RULES` is a plain dict you can print.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from dbarchitect.review.finding import Hit, Severity

if TYPE_CHECKING:
    from dbarchitect.review.context import ReviewContext

Needs = Literal["schema", "stats", "data"]
Check = Callable[["ReviewContext"], Iterable[Hit]]
_ID = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
ENGINES = ("postgres", "sqlite", "mysql")


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    """A review rule and its reference documentation."""

    id: str
    title: str
    family: str
    severity: Severity
    problem: str
    solution: str
    check: Check
    engines: tuple[str, ...] = ENGINES
    needs: Needs = "schema"
    enabled: bool = True
    example: str = ""

    def applies_to(self, dialect: str) -> bool:
        return dialect in self.engines


RULES: dict[str, Rule] = {}


def rule(
    *,
    id: str,
    title: str,
    family: str,
    severity: Severity,
    problem: str,
    solution: str,
    engines: tuple[str, ...] = ENGINES,
    needs: Needs = "schema",
    enabled: bool = True,
    example: str = "",
) -> Callable[[Check], Check]:
    """Register the decorated check function as a rule."""

    def register(check: Check) -> Check:
        if not _ID.match(id):
            raise ValueError(f"rule id {id!r} is not kebab-case")
        if id in RULES:
            raise ValueError(f"duplicate rule id {id!r}")
        unknown = set(engines) - set(ENGINES)
        if unknown:
            raise ValueError(f"rule {id}: unknown engines {sorted(unknown)}")
        RULES[id] = Rule(
            id=id,
            title=title,
            family=family,
            severity=severity,
            problem=reflow(problem),
            solution=reflow(solution),
            check=check,
            engines=engines,
            needs=needs,
            enabled=enabled,
            example=example.strip(),
        )
        return check

    return register


def reflow(text: str) -> str:
    """Paragraphs as single lines, so every output format can wrap them its own way."""
    paragraphs = [" ".join(p.split()) for p in text.strip().split("\n\n")]
    return "\n\n".join(p for p in paragraphs if p)


def all_rules() -> list[Rule]:
    """Every registered rule, by family then id."""
    import dbarchitect.review.rules  # noqa: F401  (registers the rules)

    return sorted(RULES.values(), key=lambda r: (r.family, r.id))
