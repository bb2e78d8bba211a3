"""database-design.md: overview, ERD, every table with its columns, constraints and indexes
(and why each index exists), relationships, partitioning, capacity, backup and recovery."""

from __future__ import annotations

from dbarchitect.codegen.erd import key_marks
from dbarchitect.model.schema import ForeignKey, Table
from dbarchitect.report.describe import (
    check_text,
    column_value_source,
    exclusion_text,
    fk_target,
    header_line,
    pk_text,
    policy_text,
    rls_text,
    trigger_text,
    unique_text,
)
from dbarchitect.report.docs.common import (
    DESIGN,
    OPERATIONS,
    OPTIMIZATION,
    Context,
    findings_section,
    human_bytes,
    intro,
    procedure_blocks,
)
from dbarchitect.report.docs.facts import index_entry_width, row_width
from dbarchitect.report.docs.model import (
    Block,
    BulletList,
    Code,
    Diagram,
    Document,
    Inline,
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

_ON_DELETE = {
    "NO ACTION": "deleting the parent row is refused while rows here reference it",
    "RESTRICT": "deleting the parent row is refused while rows here reference it",
    "CASCADE": "deleting the parent row deletes these rows with it",
    "SET NULL": "deleting the parent row clears the reference here",
    "SET DEFAULT": "deleting the parent row resets the reference here to its default",
}


def table_key(qualified: str) -> str:
    """The link key of a table's section."""
    return f"table:{qualified}"


def table_link(qualified: str, doc: str | None = None) -> Link:
    return Link(label=qualified, key=table_key(qualified), doc=doc)


def design_document(ctx: Context, diagram: Diagram) -> Document:
    """The design document of `ctx.schema`."""
    sections = [
        _overview(ctx),
        Section(
            title=("Entity-relationship diagram",),
            key="erd",
            blocks=(
                diagram,
                para(
                    "Crow's feet mark the many side; a bar means exactly one, a circle zero. "
                    "Solid lines are identifying (the key is part of the child's primary key), "
                    "dashed lines are not. Partitions are drawn as their partitioned table."
                ),
            ),
        ),
        Section(
            title=("Tables",),
            key="tables",
            subsections=tuple(_table_section(ctx, t) for t in ctx.facts.tables),
        ),
        _relationships(ctx),
    ]
    if ctx.schema.views:
        sections.append(_views(ctx))
    sections += [_partitioning(ctx), _capacity(ctx), _backup(ctx)]
    found = findings_section(ctx.findings)
    if found:
        sections.append(found)
    return Document(
        name=DESIGN,
        title="Database design",
        intro=intro(ctx, DESIGN, "The structure, relationships, capacity and recovery plan"),
        sections=tuple(sections),
    )


def _overview(ctx: Context) -> Section:
    facts, schema = ctx.facts, ctx.schema
    items: list[Text] = [prose(header_line(schema) + ".")]
    items.append(
        text(
            f"{len(facts.tables)} tables in the diagram, {len(facts.relationships)} "
            f"relationships, {len(facts.junction_tables())} many-to-many link tables."
        )
    )
    hubs = sorted(facts.referencing.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:5]
    if hubs:
        parts: list[Inline] = ["Most referenced: "]
        for i, (name, refs) in enumerate(hubs):
            parts += [", " if i else "", table_link(name), f" ({len(refs)})"]
        items.append(text(*parts))
    if ctx.stats:
        rows = sum(s.rows for s in ctx.stats.tables.values())
        size = sum(s.size_bytes for s in ctx.stats.tables.values())
        items.append(text(f"{rows:,} rows in {human_bytes(size)} of table data (live statistics)."))
    if ctx.findings:
        items.append(
            text(
                f"{len(ctx.findings)} review findings: see ",
                Link(label="Review findings", key="findings", code=False),
                ".",
            )
        )
    blocks: list[Block] = [BulletList(tuple(items))]
    comments = [n for n in schema.namespaces if n.comment]
    for n in comments:
        blocks.append(para(Code(n.name), f": {n.comment}"))
    return Section(title=("Overview",), key="overview", blocks=tuple(blocks))


def _table_section(ctx: Context, t: Table) -> Section:
    facts = ctx.facts
    fks = facts.own_fks(t)
    blocks: list[Block] = []
    if t.comment:
        blocks.append(para(t.comment))
    notes = _table_notes(t)
    if notes:
        blocks.append(Paragraph(notes))
    rows = []
    for col in t.columns:
        rows.append(
            (
                text(Code(col.name)),
                text(Code(col.type)),
                text("yes" if col.nullable else "no"),
                text(*[Code(v) for v in ["; ".join(column_value_source(col))] if v]),
                text(", ".join(key_marks(t, col.name, fks))),
                text(col.comment or ""),
            )
        )
    if rows:
        header = ("Column", "Type", "Null", "Default", "Keys", "Comment")
        blocks.append(DocTable(header, tuple(rows)))
    constraints = _constraints(t, fks)
    if constraints:
        blocks += [para("Constraints:"), BulletList(tuple(constraints))]
    paths = facts.access_paths(t)
    if paths:
        prows = tuple(
            (text(Code(p.name)), text(p.kind), text(Code(p.definition)), text("; ".join(p.reasons)))
            for p in paths
        )
        blocks += [
            para("Indexes and why each exists:"),
            DocTable(("Name", "Kind", "Definition", "Why"), prows),
        ]
    parts = facts.partitions.get(t.qualified, [])
    if parts:
        blocks.append(
            DocTable(
                ("Partition", "Bounds"),
                tuple(
                    (text(Code(p.qualified)), text(Code(p.partition_bound or ""))) for p in parts
                ),
            )
        )
    extra = [text(Code(trigger_text(tr))) for tr in t.triggers]
    rls = rls_text(t)
    if rls:
        extra.append(text(f"Row level security: {rls}."))
    extra += [text("Policy ", Code(policy_text(p))) for p in t.policies]
    if extra:
        blocks += [para("Triggers and security:"), BulletList(tuple(extra))]
    blocks.append(_size_line(ctx, t))
    return Section(
        title=("Table ", Code(t.qualified)), key=table_key(t.qualified), blocks=tuple(blocks)
    )


def _table_notes(t: Table) -> Text:
    out: list[Inline] = []
    if t.partitioning:
        out += [f"Partitioned by {t.partitioning.strategy} ", Code(t.partitioning.key), ". "]
    if t.unlogged:
        out.append("Unlogged: not crash-safe and not replicated. ")
    if t.inherits:
        out += ["Inherits ", *[Code(p) for p in t.inherits], ". "]
    if t.options:
        out += ["Options: ", Code(", ".join(f"{k}={v}" for k, v in t.options)), "."]
    return text(*out)


def _constraints(t: Table, fks: list[ForeignKey]) -> list[Text]:
    out: list[Text] = []
    if t.primary_key:
        out.append(text("Primary key ", Code(pk_text(t.primary_key))))
    for fk in fks:
        out.append(
            text(
                "Foreign key ",
                Code(f"{fk.name} ({', '.join(fk.columns)})"),
                " → ",
                table_link(fk_target(fk)),
                f" ({', '.join(fk.ref_columns)}): {_ON_DELETE[fk.on_delete]}"
                + ("; updates cascade" if fk.on_update == "CASCADE" else "")
                + ("; checked at commit" if fk.initially_deferred else "")
                + ("; not yet validated for existing rows" if fk.not_valid else "")
                + ".",
            )
        )
    out += [text("Unique ", Code(unique_text(u))) for u in t.uniques]
    out += [text("Check ", Code(check_text(c))) for c in t.checks]
    out += [text("Exclusion ", Code(exclusion_text(x))) for x in t.exclusions]
    return out


def _stats_for(ctx: Context, t: Table) -> tuple[int, int, int] | None:
    """Rows, table bytes and index bytes of `t` and its partitions, from live statistics."""
    if ctx.stats is None:
        return None
    members = [t, *ctx.facts.partitions.get(t.qualified, [])]
    found = [ctx.stats.tables[m.qualified] for m in members if m.qualified in ctx.stats.tables]
    if not found:
        return None
    index_bytes = sum(
        s.size_bytes
        for key, s in ctx.stats.indexes.items()
        for m in members
        if key.startswith(m.qualified + ".") and "." not in key[len(m.qualified) + 1 :]
    )
    return sum(s.rows for s in found), sum(s.size_bytes for s in found), index_bytes


def _size_line(ctx: Context, t: Table) -> Paragraph:
    width = row_width(t, ctx.guide)
    measured = _stats_for(ctx, t)
    if measured:
        rows, size, index = measured
        per_row = f", {size // rows:,} bytes per row" if rows else ""
        return para(
            f"Size: {rows:,} rows, {human_bytes(size)} of table data{per_row}, "
            f"{human_bytes(index)} of indexes (estimated from types: {width} bytes per row)."
        )
    return para(f"Estimated row size: {width} bytes (from the column types).")


def _relationships(ctx: Context) -> Section:
    rows = []
    for r in ctx.facts.relationships:
        child, parent = r.child.name, r.parent.name
        many = "zero or one row" if r.unique else "zero or more rows"
        one = "zero or one" if r.optional else "exactly one"
        rows.append(
            (
                text(table_link(r.child.qualified)),
                text(Code(", ".join(r.fk.columns))),
                text(table_link(r.parent.qualified)),
                text(f"each {child} row has {one} {parent}; a {parent} has {many} in {child}"),
                text(r.fk.on_delete),
            )
        )
    blocks: list[Block] = []
    if rows:
        header = ("Child", "Columns", "Parent", "Cardinality", "On delete")
        blocks.append(DocTable(header, tuple(rows)))
    else:
        blocks.append(para("The schema declares no foreign keys."))
    links = [
        text(table_link(name), " links ", *_join_links(parents), " (many-to-many)")
        for name, parents in sorted(ctx.facts.junction_tables().items())
    ]
    links += [
        text(
            table_link(r.child.qualified),
            " refers to itself through ",
            Code(", ".join(r.fk.columns)),
            " (a hierarchy)",
        )
        for r in ctx.facts.relationships
        if r.child.qualified == r.parent.qualified
    ]
    if links:
        blocks.append(BulletList(tuple(links)))
    return Section(title=("Relationships",), key="relationships", blocks=tuple(blocks))


def _join_links(names: list[str]) -> list[Inline]:
    out: list[Inline] = []
    for i, name in enumerate(names):
        out += [" and " if i == len(names) - 1 and i else ", " if i else "", table_link(name)]
    return out


def _views(ctx: Context) -> Section:
    rows = tuple(
        (
            text(Code(v.qualified)),
            text("materialized" if v.materialized else "view"),
            text(
                Code(", ".join(d.split(":", 1)[-1] for d in v.depends_on)) if v.depends_on else ""
            ),
            text(v.comment or ""),
        )
        for v in ctx.schema.views
    )
    return Section(
        title=("Views",),
        key="views",
        blocks=(DocTable(("View", "Kind", "Uses", "Comment"), rows),),
    )


def _partitioning(ctx: Context) -> Section:
    blocks: list[Block] = []
    parted = [t for t in ctx.facts.tables if t.partitioning]
    for t in parted:
        assert t.partitioning is not None
        n = len(ctx.facts.partitions.get(t.qualified, []))
        blocks.append(
            para(
                table_link(t.qualified),
                f" is partitioned by {t.partitioning.strategy} on ",
                Code(t.partitioning.key),
                f" into {n} partition{'' if n == 1 else 's'}.",
            )
        )
    if not parted:
        blocks.append(para("No table is partitioned."))
    candidates = ctx.facts.partition_candidates()
    if candidates and ctx.guide.partitioning:
        rows = []
        for t, col in candidates:
            measured = _stats_for(ctx, t)
            now = f"{measured[0]:,} rows, {human_bytes(measured[1])}" if measured else "unknown"
            rows.append((text(table_link(t.qualified)), text(Code(col.name)), text(now)))
        blocks += [
            para(
                "Tables with a creation timestamp are the natural RANGE candidates once one "
                "passes about 10 million rows or 8 GB, or when old rows are deleted in bulk "
                "(retention becomes dropping a partition):"
            ),
            DocTable(("Table", "Range key", "Now"), tuple(rows)),
        ]
    for p in ctx.guide.partitioning:
        blocks += list(procedure_blocks(p))
    return Section(title=("Partitioning",), key="partitioning", blocks=tuple(blocks))


def _capacity(ctx: Context) -> Section:
    guide, facts = ctx.guide, ctx.facts
    rows: list[tuple[Text, ...]] = []
    total_row, total_index = 0, 0
    for t in facts.tables:
        width = row_width(t, guide)
        index = sum(index_entry_width(t, p.columns or ("?",), guide) for p in facts.access_paths(t))
        total_row, total_index = total_row + width, total_index + index
        measured = _stats_for(ctx, t)
        if ctx.stats is not None:
            rows.append(
                (
                    text(table_link(t.qualified)),
                    text(f"{measured[0]:,}" if measured else "—"),
                    text(human_bytes(measured[1]) if measured else "—"),
                    text(human_bytes(measured[2]) if measured else "—"),
                    text(f"{width} + {index}"),
                )
            )
        else:
            rows.append(
                (
                    text(table_link(t.qualified)),
                    text(f"{width} + {index}"),
                    text(human_bytes((width + index) * 1_000_000)),
                    text(human_bytes((width + index) * 10_000_000)),
                )
            )
    blocks: list[Block] = []
    if ctx.stats is not None:
        blocks.append(
            para(
                "Measured sizes from the live database's statistics, with the estimated bytes "
                "per row (table + indexes) from the column types for comparison:"
            )
        )
        header: tuple[str, ...] = ("Table", "Rows", "Table data", "Indexes", "Est. bytes/row")
    else:
        blocks.append(
            para(
                "Row counts are not known (the schema was not read from a live database), so "
                "sizes are estimated from the column types: fixed-size types at their storage "
                f"size, text about 32 bytes, JSON 128, plus {guide.row_overhead_bytes} bytes of "
                f"{guide.engine} row overhead and {guide.index_entry_overhead_bytes} per index "
                "entry. Multiply by the expected row counts:"
            )
        )
        header = ("Table", "Bytes/row (table + indexes)", "At 1 million rows", "At 10 million rows")
    blocks.append(DocTable(header, tuple(rows)))
    blocks.append(
        para(
            f"One row in every table costs about {total_row + total_index:,} bytes "
            f"({total_row:,} table, {total_index:,} indexes). Leave room for bloat, "
            "free-space maps and WAL or logs: plan disk at twice the estimate."
        )
    )
    return Section(title=("Capacity",), key="capacity", blocks=tuple(blocks))


def _backup(ctx: Context) -> Section:
    blocks: list[Block] = [para(*prose(p)) for p in ctx.guide.recovery]
    blocks.append(
        para(
            "The commands are in the operations document: ",
            Link(label="backup", key="backup", doc=OPERATIONS, code=False),
            " and ",
            Link(label="restore", key="restore", doc=OPERATIONS, code=False),
            "; index and maintenance advice is in the ",
            Link(label="optimization", key="", doc=OPTIMIZATION, code=False),
            " document.",
        )
    )
    return Section(title=("Backup and recovery",), key="backup", blocks=tuple(blocks))
