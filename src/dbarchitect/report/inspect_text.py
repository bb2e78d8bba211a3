"""`dbarch inspect` as text: a compact, plain, deterministic summary of a Schema.

Built with rich, recorded without colour and exported as plain text, so the output is the
same on every terminal and in snapshots. The layout is headings and aligned grids without
borders (only the last column wraps): a 500-table schema stays scannable.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from rich.console import Console
from rich.table import Table as RichTable
from rich.text import Text

from dbarchitect.model.schema import Column, Extension, Schema, Table, View
from dbarchitect.report.describe import (
    check_text,
    column_flags,
    dependency,
    domain_text,
    exclusion_text,
    fk_text,
    function_text,
    header_line,
    index_text,
    partitions_of,
    pk_text,
    plural,
    policy_text,
    qualify,
    range_text,
    rls_text,
    sequence_text,
    trigger_text,
    unique_text,
)

DEFAULT_WIDTH = 100
INDENT = 2
MIN_LAST_COLUMN = 24


def render_text(schema: Schema, *, width: int | None = None) -> str:
    """The schema as plain text: a counts header, then tables, views, types, sequences,
    functions and extensions. `width` (default 100) is where long lines wrap; the output
    depends on nothing but the schema and the width."""
    console = Console(
        record=True,
        file=io.StringIO(),
        width=width or DEFAULT_WIDTH,
        color_system=None,
        force_terminal=False,
        markup=False,
        emoji=False,
        highlight=False,
        legacy_windows=False,
    )
    lines: list[str] = []
    for item in _document(schema):
        if isinstance(item, _Grid):
            lines += _grid_lines(console, item)
        else:
            lines.append(item)
    # One print of the laid-out text (soft_wrap: nothing re-wrapped, the header stays one
    # line); printing line by line costs half a millisecond per line.
    console.print(Text("\n".join(lines)), soft_wrap=True)
    text = console.export_text(styles=False)
    # Grid cells are padded to their column width; trailing blanks are noise in diffs.
    return "\n".join(line.rstrip() for line in text.splitlines()).strip("\n") + "\n"


# --- the document ---------------------------------------------------------------------------


def _document(schema: Schema) -> list[str | _Grid]:
    out: list[str | _Grid] = [header_line(schema)]
    if schema.namespaces:
        out.append("schemas: " + ", ".join(n.name for n in schema.namespaces))
    children = partitions_of(schema)
    for table in schema.tables:
        out.append("")
        out.extend(_table_block(table, children.get(table.qualified, [])))
    if schema.views:
        out += ["", "Views"]
        for view in schema.views:
            out.append("")
            out.extend(_view_block(view))
    out.extend(_section("Types", _type_lines(schema)))
    out.extend(_section("Sequences", [sequence_text(s) for s in schema.sequences]))
    out.extend(_section("Functions", [function_text(f) for f in schema.functions]))
    out.extend(_section("Extensions", [_extension_line(e) for e in schema.extensions]))
    out.extend(_section("Other", _other_lines(schema)))
    return out


def _section(title: str, lines: Sequence[str]) -> list[str | _Grid]:
    if not lines:
        return []
    return ["", title, _facts([("", line) for line in lines])]


def _table_block(t: Table, partitions: list[str]) -> list[str | _Grid]:
    title = ("Unlogged table " if t.unlogged else "Table ") + t.qualified
    if t.partition_of:
        title += f" — partition of {t.partition_of}"
        if t.partition_bound:
            title += f" {t.partition_bound}"
    out: list[str | _Grid] = [title]
    if t.comment:
        out.append(_indent_line(f"-- {_one_line(t.comment)}"))
    if t.columns:
        out.append(_columns_grid(t.columns))
    facts: list[tuple[str, str]] = []
    if t.primary_key:
        facts.append(("PK", pk_text(t.primary_key)))
    facts += [("FK", fk_text(fk)) for fk in t.foreign_keys]
    facts += [("UNIQUE", unique_text(u)) for u in t.uniques]
    facts += [("CHECK", check_text(c)) for c in t.checks]
    facts += [("EXCLUDE", exclusion_text(x)) for x in t.exclusions]
    facts += [("INDEX", index_text(ix)) for ix in t.indexes]
    facts += [("TRIGGER", trigger_text(tr)) for tr in t.triggers]
    rls = rls_text(t)
    if rls:
        facts.append(("RLS", rls))
    facts += [("POLICY", policy_text(p)) for p in t.policies]
    if t.partitioning:
        facts.append(("PARTITION", f"BY {t.partitioning.strategy} ({t.partitioning.key})"))
    if partitions:
        facts.append(("PARTITIONS", f"{len(partitions)}: {', '.join(partitions)}"))
    if t.inherits:
        facts.append(("INHERITS", ", ".join(t.inherits)))
    if t.options:
        facts.append(("OPTIONS", ", ".join(f"{k}={v}" for k, v in t.options)))
    if facts:
        out.append(_facts(facts))
    return out


def _view_block(v: View) -> list[str | _Grid]:
    out: list[str | _Grid] = [("Materialized view " if v.materialized else "View ") + v.qualified]
    if v.comment:
        out.append(_indent_line(f"-- {_one_line(v.comment)}"))
    if v.columns:
        out.append(_columns_grid(v.columns))
    facts = [("INDEX", index_text(ix)) for ix in v.indexes]
    facts += [("TRIGGER", trigger_text(tr)) for tr in v.triggers]
    if v.check_option:
        facts.append(("CHECK OPTION", v.check_option))
    if v.options:
        facts.append(("OPTIONS", ", ".join(f"{k}={val}" for k, val in v.options)))
    if v.depends_on:
        facts.append(("USES", ", ".join(sorted(dependency(d)[1] for d in v.depends_on))))
    if facts:
        out.append(_facts(facts))
    return out


def _type_lines(schema: Schema) -> list[str]:
    lines = [
        f"enum {qualify(e.schema, e.name)}: " + ", ".join(repr(v) for v in e.values)
        for e in schema.enums
    ]
    lines += [f"domain {qualify(d.schema, d.name)}: {domain_text(d)}" for d in schema.domains]
    lines += [
        f"composite {qualify(c.schema, c.name)}: ("
        + ", ".join(f"{a.name} {a.type}" for a in c.attributes)
        + ")"
        for c in schema.composite_types
    ]
    lines += [f"range {qualify(r.schema, r.name)}: {range_text(r)}" for r in schema.ranges]
    return lines


def _extension_line(e: Extension) -> str:
    return (
        e.name
        + (f" {e.version}" if e.version else "")
        + (f" (schema {e.schema})" if e.schema else "")
    )


def _other_lines(schema: Schema) -> list[str]:
    lines = [
        f"collation {qualify(c.schema, c.name)}: {c.provider}"
        + (f" {c.locale}" if c.locale else "")
        + ("" if c.deterministic else " nondeterministic")
        for c in schema.collations
    ]
    lines += [
        f"text search configuration {qualify(c.schema, c.name)}: parser {c.parser}"
        for c in schema.text_search_configs
    ]
    if schema.grants:
        objects = len({(g.object_type, g.object) for g in schema.grants})
        lines.append(f"{plural(len(schema.grants), 'grant')} on {plural(objects, 'object')}")
    if schema.default_privileges:
        lines.append(plural(len(schema.default_privileges), "default privilege"))
    return lines


@dataclass(frozen=True, slots=True)
class _Grid:
    """Rows of cells laid out in aligned columns, indented; only the last column wraps."""

    rows: tuple[tuple[str, ...], ...]


def _columns_grid(columns: Sequence[Column]) -> _Grid:
    rows = []
    for col in columns:
        extras = column_flags(col)
        if col.comment:
            extras.append(f"-- {_one_line(col.comment)}")
        rows.append((col.name, col.type, "NULL" if col.nullable else "NOT NULL", "; ".join(extras)))
    return _Grid(tuple(rows))


def _facts(rows: Sequence[tuple[str, str]]) -> _Grid:
    if any(label for label, _ in rows):
        return _Grid(tuple(rows))
    return _Grid(tuple((text,) for _, text in rows))


def _grid_lines(console: Console, grid: _Grid) -> list[str]:
    # Names, types and labels keep their natural width and only the last column wraps, under
    # itself. Laid out here rather than by rich's Table, which measures and wraps every cell
    # (5 s for MusicBrainz' 519 tables); rich's grid remains for consoles too narrow for that.
    ncols = len(grid.rows[0])
    widths = [max(cell_len(row[i]) for row in grid.rows) for i in range(ncols)]
    room = console.width - INDENT * ncols - sum(widths[:-1])
    fixed_cells = (cell for row in grid.rows for cell in row[:-1])
    if room < MIN_LAST_COLUMN or any("\n" in cell for cell in fixed_cells):
        return _rich_grid_lines(console, grid)
    out = []
    for row in grid.rows:
        prefix = "".join(
            " " * INDENT + _pad(cell, w) for cell, w in zip(row[:-1], widths, strict=False)
        )
        prefix += " " * INDENT
        last = row[-1]
        if cell_len(last) <= room and "\n" not in last:
            out.append(prefix + last)
            continue
        # A lone column has no label to hang from: its continuation lines are indented.
        hang = " " * (cell_len(prefix) + (INDENT if ncols == 1 else 0))
        wrap_at = room - (INDENT if ncols == 1 else 0)
        for n, line in enumerate(Text(last).wrap(console, wrap_at, overflow="fold")):
            out.append((prefix if n == 0 else hang) + line.plain.rstrip())
    return out


def _rich_grid_lines(console: Console, grid: _Grid) -> list[str]:
    table = RichTable.grid(padding=(0, 0, 0, INDENT), pad_edge=True)
    for _ in range(len(grid.rows[0]) - 1):
        table.add_column(overflow="fold")
    table.add_column(overflow="fold", ratio=1)
    for row in grid.rows:
        table.add_row(*(Text(cell) for cell in row))
    rendered = console.render_lines(table, console.options, pad=False)
    return ["".join(segment.text for segment in line) for line in rendered]


def _pad(text: str, width: int) -> str:
    return text + " " * (width - cell_len(text))


def _indent_line(text: str) -> str:
    return " " * INDENT + text


def _one_line(text: str) -> str:
    return " ".join(text.split())
