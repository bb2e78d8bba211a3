"""What the three documents share: their names, the context they are built from, the header
that links them, procedures as sections, and the review findings section."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dbarchitect.model import Schema
from dbarchitect.model.schema import Column, Table
from dbarchitect.model.stats import Stats
from dbarchitect.report.docs.facts import SchemaFacts
from dbarchitect.report.docs.guide import OperationsGuide, Procedure
from dbarchitect.report.docs.model import (
    Block,
    Code,
    CodeBlock,
    Inline,
    Link,
    Paragraph,
    Section,
    Text,
    prose,
    text,
)
from dbarchitect.report.docs.model import (
    Table as DocTable,
)
from dbarchitect.review.finding import SEVERITIES, Finding

DESIGN = "database-design"
OPTIMIZATION = "database-optimization"
OPERATIONS = "database-operations"
DOCUMENTS = (DESIGN, OPTIMIZATION, OPERATIONS)

_TITLES = {DESIGN: "design", OPTIMIZATION: "optimization", OPERATIONS: "operations"}


@dataclass(frozen=True, slots=True)
class Context:
    """Everything a document is written from."""

    schema: Schema
    guide: OperationsGuide
    facts: SchemaFacts
    findings: Sequence[Finding]
    stats: Stats | None
    source: str


def intro(ctx: Context, this: str, summary: str) -> tuple[Block, ...]:
    """The opening paragraph: what the document covers, where the schema came from, and
    links to the two other documents."""
    parts: list[Inline] = [*prose(f"{summary} for this {ctx.guide.engine} schema.")]
    if ctx.source:
        live = " (a live database, with its statistics)." if ctx.stats else "."
        parts += [" Written by ", Code("dbarch docs"), " from ", Code(ctx.source), live]
    others = [n for n in DOCUMENTS if n != this]
    parts += [" See also the ", _doc_link(others[0]), " and ", _doc_link(others[1]), " documents."]
    return (Paragraph(text(*parts)),)


def _doc_link(name: str) -> Link:
    return Link(label=_TITLES[name], key="", doc=name, code=False)


def procedures(items: Sequence[Procedure]) -> tuple[Section, ...]:
    """Each procedure as a subsection: its prose, then its code."""
    return tuple(Section(title=(p.title,), blocks=procedure_blocks(p)) for p in items)


def procedure_blocks(p: Procedure) -> tuple[Block, ...]:
    """A procedure's prose and code, without a heading."""
    blocks: list[Block] = []
    if p.text:
        blocks.append(Paragraph(prose(p.text)))
    if p.code:
        blocks.append(CodeBlock(p.code, p.lang))
    return tuple(blocks)


def findings_section(findings: Sequence[Finding]) -> Section | None:
    """Review findings grouped by severity, each with its message and fix."""
    if not findings:
        return None
    subs = []
    for severity in SEVERITIES:
        group = [f for f in findings if f.severity == severity]
        if not group:
            continue
        rows = tuple(
            (
                text(f.rule),
                text(f"{f.kind} ", *_code_or_empty(f.object)),
                text(f.message),
                text(*_code_or_empty(f.fix or "")),
            )
            for f in group
        )
        subs.append(
            Section(
                title=(f"{severity.capitalize()} ({len(group)})",),
                blocks=(DocTable(("Rule", "Object", "Finding", "Fix"), rows),),
            )
        )
    counts = ", ".join(
        f"{sum(f.severity == s for f in findings)} {s}"
        for s in SEVERITIES
        if any(f.severity == s for f in findings)
    )
    return Section(
        title=("Review findings",),
        key="findings",
        blocks=(
            Paragraph(
                prose(
                    f"`dbarch review` rules found {len(findings)} issue"
                    f"{'' if len(findings) == 1 else 's'} ({counts}). Each comes with its "
                    "fix; `dbarch rules RULE-ID` explains a rule."
                )
            ),
        ),
        subsections=tuple(subs),
    )


def _code_or_empty(value: str) -> Text:
    return (Code(value),) if value else ()


def generated_columns(table: Table) -> list[Column]:
    """Columns whose values a sequence or identity generates (integer ones can run out)."""
    return [
        c
        for c in table.columns
        if c.identity is not None or (c.default is not None and "nextval(" in c.default)
    ]


def human_bytes(n: float) -> str:
    """`512 B`, `12.5 kB`, `3.2 MB`, `1.1 GB` (powers of 1024, as the engines print them)."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"
