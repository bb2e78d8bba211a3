"""database-optimization.md: index rationale, query patterns the keys imply, foreign keys
without an index, statistics and vacuum, connection pooling, caching and read replicas."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from dbarchitect.model.schema import Table
from dbarchitect.report.docs.common import (
    DESIGN,
    OPERATIONS,
    OPTIMIZATION,
    Context,
    intro,
    procedures,
)
from dbarchitect.report.docs.design import table_link
from dbarchitect.report.docs.model import (
    Block,
    BulletList,
    Code,
    CodeBlock,
    Document,
    Inline,
    Link,
    Section,
    Text,
    para,
    text,
)
from dbarchitect.report.docs.model import (
    Table as DocTable,
)

MAX_PATTERNS = 150  # a schema of hundreds of tables lists its first patterns and a count


def optimization_document(ctx: Context) -> Document:
    """The optimization document of `ctx.schema`."""
    sections = [
        _index_rationale(ctx),
        _unindexed_foreign_keys(ctx),
        _query_patterns(ctx),
        _statistics(ctx),
        Section(
            title=("Connection pooling",), key="pooling", subsections=procedures(ctx.guide.pooling)
        ),
        _caching(ctx),
        _replicas(ctx),
    ]
    return Document(
        name=OPTIMIZATION,
        title="Database optimization",
        intro=intro(
            ctx,
            OPTIMIZATION,
            "Why each index exists, what the keys imply for queries, and how to keep the "
            "engine fast",
        ),
        sections=tuple(s for s in sections if s.blocks or s.subsections),
    )


def _index_rationale(ctx: Context) -> Section:
    stats = ctx.stats
    rows = []
    for t in ctx.facts.tables:
        for p in ctx.facts.access_paths(t):
            row: list[Text] = [
                text(table_link(t.qualified, DESIGN)),
                text(Code(p.name)),
                text(p.kind),
                text("; ".join(p.reasons)),
            ]
            if stats is not None:
                s = stats.indexes.get(f"{t.qualified}.{p.name}")
                row.append(text(f"{s.scans:,}" if s else "—"))
            rows.append(tuple(row))
    header: tuple[str, ...] = ("Table", "Index", "Kind", "Why")
    if stats is not None:
        header += ("Scans",)
    blocks: list[Block] = [
        para(
            "Every index costs space and a write on each insert and on each update of its "
            "columns; each one here earns that by one of the reasons given."
            + (" Scans are counted since the statistics were last reset." if stats else "")
        ),
        DocTable(header, tuple(rows)),
    ]
    redundant = sum(
        any(r.startswith("redundant:") for r in p.reasons)
        for t in ctx.facts.tables
        for p in ctx.facts.access_paths(t)
    )
    if redundant:
        blocks.append(
            para(
                f"{redundant} of these are a prefix of another index of the same table and "
                "can usually be dropped (check the scans first)."
            )
        )
    return Section(title=("Index rationale",), key="indexes", blocks=tuple(blocks))


def _unindexed_foreign_keys(ctx: Context) -> Section:
    missing = ctx.facts.unsupported_foreign_keys()
    if not missing:
        blocks: tuple[Block, ...] = (
            para(
                "Every foreign key has an index that leads with its columns: deleting a parent "
                "row and joining from a parent to its children use it."
            ),
        )
    else:
        statements = []
        items: list[Text] = []
        for t, fk in missing:
            statements += index_statements(ctx, t, fk.columns)
            items.append(
                text(
                    table_link(t.qualified, DESIGN),
                    " ",
                    Code(f"({', '.join(fk.columns)})"),
                    " → ",
                    table_link(fk.ref_qualified, DESIGN),
                )
            )
        blocks = (
            para(
                f"{len(missing)} foreign key{'' if len(missing) == 1 else 's'} have no index "
                "leading with their columns. Each delete or key update of a parent row then "
                "scans the child table to check for references, and listing a parent's "
                "children scans it too:"
            ),
            BulletList(tuple(items)),
            CodeBlock("\n".join(statements), "sql"),
        )
    return Section(title=("Foreign keys without an index",), key="fk-indexes", blocks=blocks)


def index_statements(ctx: Context, t: Table, columns: Sequence[str]) -> list[str]:
    """The engine's statements that build an index on `columns` of `t` without blocking
    writes where it can: on a partitioned table, the parent's index, then each partition's
    (recursively) attached to it, when the engine cannot build it in one online statement."""
    q, guide = ctx.facts.quote, ctx.guide
    name = f"{t.name}_{'_'.join(columns)}_idx"
    cols = ", ".join(q(c) for c in columns)
    table = ctx.facts.table_name(t)
    parts = ctx.facts.partitions.get(t.qualified, [])
    if not parts or guide.create_parent_index is None or guide.attach_index is None:
        return [guide.create_index.format(name=q(name), table=table, columns=cols)]
    out = [guide.create_parent_index.format(name=q(name), table=table, columns=cols)]
    for part in parts:
        out += index_statements(ctx, part, columns)
        child = f"{part.name}_{'_'.join(columns)}_idx"
        out.append(
            guide.attach_index.format(
                parent=_qualified(q, t.schema, name), name=_qualified(q, part.schema, child)
            )
        )
    return out


def _qualified(q: Callable[[str], str], schema: str, name: str) -> str:
    return f"{q(schema)}.{q(name)}" if schema else q(name)


def _query_patterns(ctx: Context) -> Section:
    patterns = ctx.facts.query_patterns()
    blocks: list[Block] = [
        para(
            "The queries the keys imply: the children of a parent along each foreign key, "
            "the join from parent to children, and lookups by each unique key. Each is "
            "served by the index named; design other queries to lean on the same paths."
        )
    ]
    for p in patterns[:MAX_PATTERNS]:
        blocks.append(para(p.title, " — served by ", p.served_by, "."))
        blocks.append(CodeBlock(p.sql, "sql"))
    if len(patterns) > MAX_PATTERNS:
        blocks.append(para(f"… and {len(patterns) - MAX_PATTERNS} more of the same shapes."))
    return Section(title=("Query patterns",), key="patterns", blocks=tuple(blocks))


def _statistics(ctx: Context) -> Section:
    subs = list(procedures(ctx.guide.statistics))
    if ctx.guide.table_maintenance:
        subs.append(
            Section(
                title=("Per-table settings from the live statistics",),
                key="table-maintenance",
                subsections=procedures(ctx.guide.table_maintenance),
            )
        )
    elif ctx.stats is None and ctx.guide.statistics:
        subs.append(
            Section(
                title=("Per-table settings",),
                blocks=(
                    para(
                        "Run ",
                        Code("dbarch docs"),
                        " against the live database to get settings for its large and busy "
                        "tables from their statistics; meanwhile the ",
                        Link(label="dead rows", key="monitoring", doc=OPERATIONS, code=False),
                        " monitoring queries show which tables need them.",
                    ),
                ),
            )
        )
    return Section(title=("Statistics and vacuum",), key="statistics", subsections=tuple(subs))


def _caching(ctx: Context) -> Section:
    blocks: list[Block] = []
    refs = ctx.facts.reference_tables()
    if refs:
        parts: list[Inline] = []
        for i, t in enumerate(refs):
            parts += [", " if i else "", table_link(t.qualified, DESIGN)]
        blocks += [
            para(
                "Reference data in this schema — small tables many others point at, with no "
                "references of their own — is read far more often than it changes: cache it "
                "in the application and invalidate on change:"
            ),
            para(*parts),
        ]
    if ctx.stats and (ctx.stats.blocks_hit + ctx.stats.blocks_read):
        ratio = ctx.stats.blocks_hit / (ctx.stats.blocks_hit + ctx.stats.blocks_read)
        blocks.append(para(f"The live database serves {ratio:.2%} of its block reads from memory."))
    return Section(
        title=("Caching",),
        key="caching",
        blocks=tuple(blocks),
        subsections=procedures(ctx.guide.caching),
    )


def _replicas(ctx: Context) -> Section:
    blocks: list[Block] = []
    views = [v.qualified for v in ctx.schema.views]
    if views and ctx.guide.replicas:
        blocks.append(
            para(
                "Reporting reads suit replicas: this schema's views (",
                *[x for i, v in enumerate(views) for x in ((", " if i else ""), Code(v))],
                ") and the lookups of reference data can run there; reads that must see a "
                "write just made stay on the primary.",
            )
        )
    return Section(
        title=("Read replicas",),
        key="replicas",
        blocks=tuple(blocks),
        subsections=procedures(ctx.guide.replicas),
    )
