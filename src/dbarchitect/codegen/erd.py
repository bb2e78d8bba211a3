"""Entity-relationship diagrams of a Schema: Mermaid `erDiagram`, Graphviz DOT, and SVG.

Cardinality comes from the constraints, not from names: a foreign key whose columns are all
NOT NULL means the child has exactly one parent (`||`), a nullable one zero or one (`|o`); the
child side is "zero or one" (`o|`) when the referencing columns are unique (a primary key,
a unique constraint or a unique index without WHERE over exactly them), else "zero or more"
(`o{`). A foreign key inside the child's primary key is identifying (solid line), any other
non-identifying (dashed). Partitions are drawn as their partitioned parent: they carry the
parent's columns and keys, and a diagram of 14 copies of `payment` explains nothing.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from dbarchitect.model.schema import ForeignKey, Schema, Table

DOT_TIMEOUT_S = 60.0
MAX_COLUMNS = 40  # a wider table shows its first columns and a count of the rest


@dataclass(frozen=True, slots=True)
class Relationship:
    """One foreign key seen as an ERD edge from `child` to `parent`."""

    child: Table
    parent: Table
    fk: ForeignKey
    optional: bool  # some referencing column is nullable: a child may have no parent
    unique: bool  # the referencing columns are unique: at most one child per parent
    identifying: bool  # the referencing columns are part of the child's primary key


def entities(schema: Schema) -> list[Table]:
    """The tables a diagram shows: every table except partitions (drawn as their parent)."""
    return [t for t in schema.tables if t.partition_of is None]


def _root(schema: Schema, table: Table) -> Table:
    """The partitioned table at the top of `table`'s partition tree (itself if none)."""
    seen = {table.qualified}
    while table.partition_of:
        parent = schema.table(table.partition_of)
        if parent is None or parent.qualified in seen:
            break
        seen.add(parent.qualified)
        table = parent
    return table


def foreign_keys(schema: Schema) -> dict[str, list[tuple[ForeignKey, Table]]]:
    """Per diagram table (qualified name): its foreign keys with the table each references.

    Keys a partition inherits from its parent are the parent's; keys declared on partitions
    alone (Pagila's `payment_p2022_01` …) are drawn once, on the partitioned parent; a key
    referencing a partition points at its parent. Keys to tables outside `schema` (another
    schema that was not read) have no box to point at and are left out."""
    out: dict[str, list[tuple[ForeignKey, Table]]] = {t.qualified: [] for t in entities(schema)}
    seen: set[tuple[str, tuple[str, ...], str, tuple[str, ...]]] = set()
    for table in schema.tables:
        owner = _root(schema, table)
        for fk in table.foreign_keys:
            if fk.inherited:
                continue
            target = schema.table(fk.ref_qualified)
            if target is None:
                continue
            parent = _root(schema, target)
            key = (owner.qualified, fk.columns, parent.qualified, fk.ref_columns)
            if key in seen:
                continue
            seen.add(key)
            out[owner.qualified].append((fk, parent))
    return out


def relationships(schema: Schema) -> list[Relationship]:
    """Every foreign key between two tables of the diagram, in table and constraint order."""
    by_table = {t.qualified: t for t in entities(schema)}
    out = []
    for qualified, fks in foreign_keys(schema).items():
        child = by_table[qualified]
        for fk, parent in fks:
            cols = [child.column(c) for c in fk.columns]
            out.append(
                Relationship(
                    child=child,
                    parent=parent,
                    fk=fk,
                    optional=any(c is None or c.nullable for c in cols),
                    unique=is_unique(child, fk.columns),
                    identifying=bool(
                        child.primary_key and set(fk.columns) <= set(child.primary_key.columns)
                    ),
                )
            )
    return out


def is_unique(table: Table, columns: Sequence[str]) -> bool:
    """Whether `columns` (in any order) are exactly the columns of a key of `table`."""
    wanted = set(columns)
    keys = [set(u.columns) for u in table.uniques]
    if table.primary_key:
        keys.append(set(table.primary_key.columns))
    keys += [
        {k.column for k in ix.keys}
        for ix in table.indexes
        if ix.unique and ix.where is None and not any(k.expression for k in ix.keys)
    ]
    return wanted in keys


def key_marks(table: Table, column: str, fks: Sequence[ForeignKey] | None = None) -> list[str]:
    """`PK`, `FK`, `UK` as they apply to one column of `table`; `fks` replaces the table's
    own foreign keys (a partitioned parent's come from its partitions)."""
    marks = []
    if table.primary_key and column in table.primary_key.columns:
        marks.append("PK")
    if fks is None:
        fks = [fk for fk in table.foreign_keys if not fk.inherited]
    if any(column in fk.columns for fk in fks):
        marks.append("FK")
    unique_sets = [u.columns for u in table.uniques] + [
        tuple(k.column for k in ix.keys if not k.expression)
        for ix in table.indexes
        if ix.unique and ix.where is None
    ]
    if any(column in cols for cols in unique_sets):
        marks.append("UK")
    return marks


# --- Mermaid ---------------------------------------------------------------------------------

# Words Mermaid's erDiagram lexer takes as keywords wherever they stand alone (case-insensitive).
_MERMAID_RESERVED = frozenset(
    {
        "erdiagram",
        "style",
        "classdef",
        "class",
        "subgraph",
        "end",
        "one",
        "many",
        "only",
        "zero",
        "to",
        "optionally",
        "direction",
        "u",
        "pk",
        "fk",
        "uk",
    }
)
_NOT_WORD = re.compile(r"[^A-Za-z0-9_]+")
_NOT_TYPE = re.compile(r"[^A-Za-z0-9_()\[\]-]+")


def mermaid_name(text: str) -> str:
    """A name every Mermaid version accepts: ASCII letters, digits and `_`, not starting with
    a digit and not one of the lexer's keywords."""
    name = _NOT_WORD.sub("_", text).strip("_") or "unnamed"
    if name[0].isdigit():
        name = "_" + name
    if name.lower() in _MERMAID_RESERVED:
        name += "_"
    return name


def mermaid_names(schema: Schema) -> dict[str, str]:
    """Table (qualified name) → its Mermaid entity name, unique within the diagram. Bare
    table names when the tables share one namespace, `schema_table` otherwise."""
    tables = entities(schema)
    one_namespace = len({t.schema for t in tables}) <= 1
    out: dict[str, str] = {}
    taken: set[str] = set()
    for t in tables:
        base = mermaid_name(t.name if one_namespace else f"{t.schema}_{t.name}")
        name, n = base, 1
        while name.lower() in taken:
            n += 1
            name = f"{base}_{n}"
        taken.add(name.lower())
        out[t.qualified] = name
    return out


def _mermaid_type(type_text: str) -> str:
    name = _NOT_TYPE.sub("_", type_text).strip("_") or "unknown"
    if not (name[0].isalpha() or name[0] == "_"):
        name = "_" + name
    return name + "_" if name.lower() in ("pk", "fk", "uk") else name


def _mermaid_comment(text: str | None) -> str:
    if not text:
        return ""
    one_line = " ".join(text.replace('"', "'").split())
    return f' "{one_line[:80]}"'


def mermaid(schema: Schema) -> str:
    """The schema as a Mermaid `erDiagram`: one entity per table with `type name PK/FK/UK
    "comment"` attributes, one relationship per foreign key labelled with its columns."""
    names = mermaid_names(schema)
    fks = foreign_keys(schema)
    lines = ["erDiagram"]
    renamed = [(q, n) for q, n in names.items() if n != q]
    for qualified, name in renamed:
        lines.append(f"    %% {name} is {' '.join(qualified.split())}")
    for t in entities(schema):
        lines.append(f"    {names[t.qualified]} {{")
        taken: set[str] = set()
        for col in t.columns[:MAX_COLUMNS]:
            attr, n = mermaid_name(col.name), 1
            while attr.lower() in taken:
                n += 1
                attr = f"{mermaid_name(col.name)}_{n}"
            taken.add(attr.lower())
            marks = ", ".join(key_marks(t, col.name, [fk for fk, _ in fks[t.qualified]]))
            lines.append(
                f"        {_mermaid_type(col.type)} {attr}"
                + (f" {marks}" if marks else "")
                + _mermaid_comment(col.comment)
            )
        if len(t.columns) > MAX_COLUMNS:
            more = len(t.columns) - MAX_COLUMNS
            lines.append(f'        etc more_columns "{more} more columns"')
        lines.append("    }")
    for r in relationships(schema):
        left = "|o" if r.optional else "||"
        right = "o|" if r.unique else "o{"
        line = "--" if r.identifying else ".."
        label = ", ".join(r.fk.columns).replace('"', "'")
        parent, child = names[r.parent.qualified], names[r.child.qualified]
        lines.append(f'    {parent} {left}{line}{right} {child} : "{label}"')
    return "\n".join(lines) + "\n"


# --- Graphviz --------------------------------------------------------------------------------


def _html(text: str) -> str:
    """Text inside a Graphviz HTML-like label."""
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def _quoted(text: str) -> str:
    """A DOT quoted string: only `"` is an escape there, so a trailing backslash is doubled
    away from the closing quote and newlines become spaces."""
    text = " ".join(text.split()).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def svg_ids(tables: Sequence[Table]) -> dict[str, str]:
    """Table → the `id` of its node in the SVG: `erd-<name>`, unique within the page."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    for t in tables:
        base = "erd-" + (_NOT_WORD.sub("-", t.qualified).strip("-").lower() or "table")
        name, n = base, 1
        while name in taken:
            n += 1
            name = f"{base}-{n}"
        taken.add(name)
        out[t.qualified] = name
    return out


def _font(color: str, html: str) -> str:
    # Graphviz refuses an empty <FONT></FONT>.
    return f'<FONT COLOR="{color}">{html}</FONT>' if html else ""


def _node(t: Table, node_id: str, svg_id: str, link: str | None, fks: Sequence[ForeignKey]) -> str:
    title = t.qualified
    if t.partitioning:
        title += f" ({t.partitioning.strategy.lower()} partitioned)"
    rows = [f'<TR><TD COLSPAN="3" BGCOLOR="#dbe8f5" ALIGN="LEFT"><B>{_html(title)}</B></TD></TR>']
    # Each row has a port at both ends: edges leave a child on the right (rankdir LR puts the
    # referenced table further right) and enter the parent on the left, never through text.
    for i, col in enumerate(t.columns[:MAX_COLUMNS]):
        marks = " ".join(key_marks(t, col.name, fks))
        name = _html(col.name) + ("" if col.nullable else " *")
        rows.append(
            f'<TR><TD ALIGN="LEFT" PORT="w{i}">{_font("#8250df", marks)}</TD>'
            f'<TD ALIGN="LEFT">{name}</TD>'
            f'<TD ALIGN="LEFT" PORT="e{i}">{_font("#57606a", _html(col.type))}</TD></TR>'
        )
    if len(t.columns) > MAX_COLUMNS:
        more = len(t.columns) - MAX_COLUMNS
        rows.append(f'<TR><TD COLSPAN="3" ALIGN="LEFT"><I>… {more} more columns</I></TD></TR>')
    label = (
        '<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="3">'
        + "".join(rows)
        + "</TABLE>>"
    )
    attrs = [
        f"label={label}",
        f"id={_quoted(svg_id)}",
        f"tooltip={_quoted(t.comment or t.qualified)}",
    ]
    if link:
        attrs.append(f"href={_quoted(link)}")
    return f"  {node_id} [{', '.join(attrs)}];"


def _row(table: Table, column: str) -> int | None:
    at = next((i for i, c in enumerate(table.columns) if c.name == column), None)
    return at if at is not None and at < MAX_COLUMNS else None


def dot(schema: Schema, *, link: Callable[[Table], str] | None = None) -> str:
    """The schema as a Graphviz digraph (rankdir LR): a node per table whose label lists the
    columns with PK/FK/UK marks (`*` = NOT NULL), an edge per foreign key from the referencing
    column to the referenced table, with crow's-foot ends. `link` gives each node a URL."""
    tables = entities(schema)
    ids = {t.qualified: f"t{i}" for i, t in enumerate(tables)}
    fks = foreign_keys(schema)
    lines = [
        "digraph erd {",
        '  graph [rankdir=LR, fontname="Helvetica", nodesep=0.4, ranksep=1.0, bgcolor="white"];',
        '  node [shape=plaintext, fontname="Helvetica", fontsize=11];',
        '  edge [fontname="Helvetica", fontsize=9, color="#57606a", dir=both];',
    ]
    element_ids = svg_ids(tables)
    for t in tables:
        # The comment names the table for readers; a newline in a name cannot end it early.
        lines.append(f"  // {' '.join(t.qualified.split())}")
        own = [fk for fk, _ in fks[t.qualified]]
        target = link(t) if link else None
        lines.append(_node(t, ids[t.qualified], element_ids[t.qualified], target, own))
    for r in relationships(schema):
        tail, head = ids[r.child.qualified], ids[r.parent.qualified]
        at = _row(r.child, r.fk.columns[0]) if r.fk.columns else None
        if at is not None:
            tail += f":e{at}:e"
        at = _row(r.parent, r.fk.ref_columns[0]) if r.fk.ref_columns else None
        if at is not None:
            head += f":w{at}:w"
        attrs = [
            f"arrowtail={'teeodot' if r.unique else 'crowodot'}",
            f"arrowhead={'teeodot' if r.optional else 'teetee'}",
            f"tooltip={_quoted(r.fk.name + ': ' + ', '.join(r.fk.columns))}",
        ]
        if not r.identifying:
            attrs.append("style=dashed")
        lines.append(f"  {tail} -> {head} [{', '.join(attrs)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def svg(
    schema: Schema,
    *,
    link: Callable[[Table], str] | None = None,
    timeout: float = DOT_TIMEOUT_S,
) -> str | None:
    """The diagram drawn by Graphviz (`dot -Tsvg`) as an `<svg>` element ready to inline in
    HTML; None when `dot` is not installed, fails, or takes longer than `timeout` seconds."""
    exe = shutil.which("dot")
    if exe is None:
        return None
    try:
        done = subprocess.run(
            [exe, "-Tsvg"],
            input=dot(schema, link=link).encode("utf-8"),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except (subprocess.TimeoutExpired, OSError):
        return None
    text = done.stdout.decode("utf-8", errors="replace")
    start = text.find("<svg")
    if done.returncode != 0 or start < 0:
        return None
    return text[start:].strip() + "\n"
