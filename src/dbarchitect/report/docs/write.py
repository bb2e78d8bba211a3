"""Build the three documents and write them as Markdown and as a static HTML site."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from pathlib import Path

from dbarchitect.codegen import erd
from dbarchitect.dialects import get_dialect
from dbarchitect.model import Schema
from dbarchitect.model.schema import Table
from dbarchitect.model.stats import Stats
from dbarchitect.report.describe import header_line
from dbarchitect.report.docs.common import DESIGN, DOCUMENTS, Context
from dbarchitect.report.docs.design import design_document, table_key
from dbarchitect.report.docs.facts import SchemaFacts
from dbarchitect.report.docs.model import Anchors, Diagram, Document, anchors
from dbarchitect.report.docs.operations import operations_document
from dbarchitect.report.docs.optimization import optimization_document
from dbarchitect.report.docs.render_html import diagram_html, page, render_html
from dbarchitect.report.docs.render_md import render_markdown
from dbarchitect.review.finding import SEVERITIES, Finding

_SUMMARIES = {
    DESIGN: "Tables, columns, constraints and why each index exists; relationships, "
    "partitioning, capacity, backup and recovery.",
    "database-optimization": "Index rationale, query patterns, foreign keys without an index, "
    "statistics and vacuum, pooling, caching, read replicas.",
    "database-operations": "Monitoring queries, alerts, backup and restore commands, "
    "troubleshooting, upgrades, hardening.",
}


def build_documents(
    schema: Schema,
    *,
    findings: Sequence[Finding] = (),
    stats: Stats | None = None,
    source: str = "",
    draw: bool = True,
) -> tuple[list[Document], Diagram]:
    """The design, optimization and operations documents and the ERD they share. With
    `draw`, Graphviz (when installed) draws the ERD as SVG whose tables link to their
    sections in the design document."""
    dialect = get_dialect(schema.dialect)
    guide = dialect.operations(schema, stats)
    facts = SchemaFacts(schema, guide, dialect.quote)
    ctx = Context(
        schema=schema, guide=guide, facts=facts, findings=findings, stats=stats, source=source
    )
    diagram = Diagram(mermaid=erd.mermaid(schema))
    design = design_document(ctx, diagram)
    if draw:
        # Headings do not depend on the diagram: the first build tells where each table is.
        found = anchors(design).by_key

        def link(t: Table) -> str:
            anchor = found.get(table_key(t.qualified))
            return f"{DESIGN}.html#{anchor}" if anchor else f"{DESIGN}.html"

        diagram = Diagram(mermaid=diagram.mermaid, svg=erd.svg(schema, link=link))
        design = design_document(ctx, diagram)
    return [design, optimization_document(ctx), operations_document(ctx)], diagram


def write_docs(
    schema: Schema,
    out: Path,
    *,
    findings: Sequence[Finding] = (),
    stats: Stats | None = None,
    source: str = "",
) -> list[Path]:
    """Write `database-design.md`, `database-optimization.md`, `database-operations.md` and
    the HTML site (`html/index.html` and a page per document) under `out`; return the paths
    written, Markdown first."""
    docs, diagram = build_documents(schema, findings=findings, stats=stats, source=source)
    site: dict[str, Anchors] = {d.name: anchors(d) for d in docs}
    html_dir = out / "html"
    html_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for d in docs:
        path = out / f"{d.name}.md"
        path.write_text(render_markdown(d, site), encoding="utf-8")
        written.append(path)
    index = html_dir / "index.html"
    index.write_text(_index_page(schema, diagram, findings, source), encoding="utf-8")
    written.append(index)
    for d in docs:
        path = html_dir / f"{d.name}.html"
        path.write_text(render_html(d, site, pages=DOCUMENTS), encoding="utf-8")
        written.append(path)
    return written


def _index_page(schema: Schema, diagram: Diagram, findings: Sequence[Finding], source: str) -> str:
    label = get_dialect(schema.dialect).label
    parts = ['<h1 id="database-documentation">Database documentation</h1>']
    origin = f" from <code>{escape(source)}</code>" if source else ""
    parts.append(f"<p>{escape(label)} schema{origin}: {escape(header_line(schema))}.</p>")
    cards = "".join(
        f'<div class="card"><h2><a href="{name}.html">{escape(_title(name))}</a></h2>'
        f"<p>{escape(_SUMMARIES[name])}</p></div>"
        for name in DOCUMENTS
    )
    parts.append(f'<div class="cards">{cards}</div>')
    if findings:
        counts = ", ".join(
            f"{sum(f.severity == s for f in findings)} {s}"
            for s in SEVERITIES
            if any(f.severity == s for f in findings)
        )
        parts.append(
            f"<p>Review: {len(findings)} findings ({escape(counts)}), listed with their fixes "
            f'in <a href="{DESIGN}.html">the design document</a>.</p>'
        )
    parts.append('<h2 id="entity-relationship-diagram">Entity-relationship diagram</h2>')
    parts.append(diagram_html(diagram))
    return page("Database documentation", "\n".join(parts), current="index", pages=DOCUMENTS)


def _title(name: str) -> str:
    return name.replace("database-", "").capitalize()
