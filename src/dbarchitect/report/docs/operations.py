"""database-operations.md: monitoring queries that run on the engine, alerts with thresholds,
backup and restore commands, troubleshooting, upgrade and hardening steps."""

from __future__ import annotations

from dbarchitect.report.docs.common import (
    OPERATIONS,
    Context,
    generated_columns,
    intro,
    procedures,
)
from dbarchitect.report.docs.design import table_link
from dbarchitect.report.docs.guide import Check
from dbarchitect.report.docs.model import (
    Block,
    BulletList,
    Code,
    CodeBlock,
    Document,
    Link,
    Paragraph,
    Section,
    Text,
    para,
    prose,
    text,
)
from dbarchitect.report.docs.model import (
    Table as DocTable,
)


def check_key(check: Check) -> str:
    """The link key of a monitoring query's section."""
    return f"check:{check.key}"


def operations_document(ctx: Context) -> Document:
    """The operations document of `ctx.schema`."""
    g = ctx.guide
    sections = [
        _monitoring(ctx),
        _alerts(ctx),
        Section(title=("Backup",), key="backup", subsections=procedures(g.backup)),
        Section(title=("Restore",), key="restore", subsections=procedures(g.restore)),
        Section(
            title=("Troubleshooting",),
            key="troubleshooting",
            subsections=procedures(g.troubleshooting),
        ),
        Section(title=("Upgrades",), key="upgrade", subsections=procedures(g.upgrade)),
        Section(title=("Hardening",), key="hardening", subsections=procedures(g.hardening)),
    ]
    return Document(
        name=OPERATIONS,
        title="Database operations",
        intro=intro(
            ctx, OPERATIONS, "Monitoring, alerts, backups, troubleshooting, upgrades and hardening"
        ),
        sections=tuple(s for s in sections if s.blocks or s.subsections),
    )


def _monitoring(ctx: Context) -> Section:
    blocks: list[Block] = [
        para(
            "Each query reads the engine's statistics and catalogs; all but those marked "
            "otherwise change nothing and run on a read-only connection. Schedule them in "
            "the monitoring system and alert on the thresholds below."
        )
    ]
    watched: list[Text] = []
    for t in ctx.facts.tables:
        for col in generated_columns(t):
            small = col.logical in ("smallint", "integer")
            watched.append(
                text(
                    table_link(t.qualified, "database-design"),
                    " ",
                    Code(f"{col.name} {col.type}"),
                    " — can run out: widen it before the sequence check passes 75%."
                    if small
                    else "",
                )
            )
    if watched:
        blocks += [
            para("Generated keys in this schema (the exhaustion checks watch them):"),
            BulletList(tuple(watched)),
        ]
    subs = []
    for c in ctx.guide.monitoring:
        parts: list[Block] = [Paragraph(prose(c.purpose))]
        notes = []
        if c.requires:
            notes.append(f"Requires {c.requires}.")
        if not c.read_only:
            notes.append(
                "This one acts on the database: it is safe, but needs a writable connection."
            )
        if notes:
            parts.append(Paragraph(prose(" ".join(notes))))
        parts.append(CodeBlock(c.sql, "sql"))
        subs.append(Section(title=(c.title,), key=check_key(c), blocks=tuple(parts)))
    return Section(
        title=("Monitoring",), key="monitoring", blocks=tuple(blocks), subsections=tuple(subs)
    )


def _alerts(ctx: Context) -> Section:
    checks = {c.key: c for c in ctx.guide.monitoring}
    rows = []
    for a in ctx.guide.alerts:
        check = checks.get(a.check or "")
        rows.append(
            (
                text(a.metric),
                text(a.warning),
                text(a.critical),
                prose(a.action),
                text(Link(label=check.title, key=check_key(check), code=False))
                if check
                else text("—"),
            )
        )
    if not rows:
        return Section(title=("Alerts",), key="alerts")
    return Section(
        title=("Alerts",),
        key="alerts",
        blocks=(
            para("Thresholds to page on, with the query that measures each and what to do:"),
            DocTable(("Metric", "Warning", "Critical", "Action", "Measured by"), tuple(rows)),
        ),
    )
