"""`dbarch inspect` as text: a compact, plain, deterministic summary of a Schema.

Built with rich so long cells wrap inside their column, but recorded without colour and
exported as plain text, so the output is the same on every terminal and in snapshots. The
layout is headings and aligned grids without borders: a 500-table schema stays scannable.

The one-line descriptions of constraints, indexes, triggers and policies are public because
the Markdown renderer shows the same facts in the same words.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from rich.console import Console
from rich.table import Table as RichTable
from rich.text import Text

from dbarchitect.model.schema import (
    CheckConstraint,
    Column,
    DomainType,
    ExclusionConstraint,
    Extension,
    ForeignKey,
    Function,
    Index,
    IndexKey,
    Policy,
    PrimaryKey,
    Schema,
    Table,
    Trigger,
    UniqueConstraint,
    View,
)
from dbarchitect.model.schema import Sequence as SequenceDef
from dbarchitect.report.counts import count_objects

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
    for item in _document(schema):
        if isinstance(item, _Grid):
            _print_grid(console, item)
        else:
            # Headings are not wrapped (soft_wrap): the header stays one line.
            console.print(Text(item), soft_wrap=True)
    text = console.export_text(styles=False)
    # Grid cells are padded to their column width; trailing blanks are noise in diffs.
    return "\n".join(line.rstrip() for line in text.splitlines()).strip("\n") + "\n"


def header_line(schema: Schema) -> str:
    """One line: the dialect and how many objects of each kind the schema holds."""
    c = count_objects(schema)
    tables = _n(c["tables"], "table")
    parts = []
    if c["partitioned_tables"]:
        parts.append(f"{c['partitioned_tables']} partitioned")
    if c["partitions"]:
        parts.append(_n(c["partitions"], "partition"))
    if parts:
        tables += f" ({', '.join(parts)})"
    items = [
        _n(c["schemas"], "schema"),
        tables,
        _n(c["views"], "view"),
        _n(c["materialized_views"], "materialized view"),
        _n(c["indexes"], "index", "indexes"),
        _n(c["foreign_keys"], "foreign key"),
        _n(c["sequences"], "sequence"),
        _n(c["functions"], "function"),
        _n(c["triggers"], "trigger"),
        _n(c["policies"], "policy", "policies"),
        f"{c['enums_and_domains']} enums/domains",
    ]
    return f"{schema.dialect} schema: " + ", ".join(items)


# --- one-line descriptions shared with the Markdown renderer ------------------------------


def column_flags(col: Column) -> list[str]:
    """Default, identity, generated, collation and inheritance markers of a column."""
    out = []
    if col.default is not None:
        out.append(f"default {col.default}")
    if col.identity is not None:
        ident = col.identity
        how = "always" if ident.always else "by default"
        extra = []
        if ident.start != 1:
            extra.append(f"start {ident.start}")
        if ident.increment != 1:
            extra.append(f"increment {ident.increment}")
        if ident.min_value is not None:
            extra.append(f"min {ident.min_value}")
        if ident.max_value is not None:
            extra.append(f"max {ident.max_value}")
        if ident.cache != 1:
            extra.append(f"cache {ident.cache}")
        if ident.cycle:
            extra.append("cycle")
        out.append(f"identity {how}" + (f" ({', '.join(extra)})" if extra else ""))
    if col.generated is not None:
        kind = "stored" if col.generated_stored else "virtual"
        out.append(f"generated ({col.generated}) {kind}")
    if col.collation:
        out.append(f"collate {col.collation}")
    if col.inherited:
        out.append("inherited")
    out.extend(f"{k}={v}" for k, v in col.options)
    return out


def columns_list(names: Iterable[str]) -> str:
    return "(" + ", ".join(names) + ")"


def _deferral(deferrable: bool, initially_deferred: bool) -> str:
    if not deferrable:
        return ""
    return " DEFERRABLE" + (" INITIALLY DEFERRED" if initially_deferred else "")


def _inherited(flag: bool) -> str:
    return " (inherited)" if flag else ""


def pk_text(pk: PrimaryKey) -> str:
    include = f" INCLUDE {columns_list(pk.include)}" if pk.include else ""
    return (
        f"{pk.name} {columns_list(pk.columns)}{include}"
        f"{_deferral(pk.deferrable, pk.initially_deferred)}{_inherited(pk.inherited)}"
    )


def fk_target(fk: ForeignKey) -> str:
    """The referenced table, qualified when the engine has schemas."""
    return f"{fk.ref_schema}.{fk.ref_table}" if fk.ref_schema else fk.ref_table


def fk_text(fk: ForeignKey, target: str | None = None) -> str:
    """`name (cols) → schema.table (cols)` and the non-default actions; `target` replaces
    the referenced table's name (the Markdown renderer passes a link)."""
    parts = [f"{fk.name} {columns_list(fk.columns)} → {target or fk_target(fk)}"]
    parts.append(columns_list(fk.ref_columns))
    if fk.match_full:
        parts.append("MATCH FULL")
    if fk.on_delete != "NO ACTION":
        parts.append(f"ON DELETE {fk.on_delete}")
    if fk.on_update != "NO ACTION":
        parts.append(f"ON UPDATE {fk.on_update}")
    text = " ".join(parts) + _deferral(fk.deferrable, fk.initially_deferred)
    if fk.not_valid:
        text += " NOT VALID"
    return text + _inherited(fk.inherited)


def unique_text(u: UniqueConstraint) -> str:
    text = f"{u.name} {columns_list(u.columns)}"
    if u.include:
        text += f" INCLUDE {columns_list(u.include)}"
    if u.nulls_not_distinct:
        text += " NULLS NOT DISTINCT"
    return text + _deferral(u.deferrable, u.initially_deferred) + _inherited(u.inherited)


def check_text(c: CheckConstraint) -> str:
    text = f"{c.name}: {c.expression}"
    if c.not_valid:
        text += " NOT VALID"
    if c.no_inherit:
        text += " NO INHERIT"
    return text + _inherited(c.inherited)


def exclusion_text(x: ExclusionConstraint) -> str:
    return (
        f"{x.name}: {x.definition}"
        f"{_deferral(x.deferrable, x.initially_deferred)}{_inherited(x.inherited)}"
    )


def index_key_text(key: IndexKey) -> str:
    text = key.column
    if key.length is not None:
        text += f"({key.length})"
    if key.collation:
        text += f" COLLATE {key.collation}"
    if key.opclass:
        text += f" {key.opclass}"
    if key.descending:
        text += " DESC"
    if key.nulls_first is not None:
        text += " NULLS FIRST" if key.nulls_first else " NULLS LAST"
    return text


def index_text(ix: Index) -> str:
    """`name [UNIQUE] method (keys) INCLUDE (…) WHERE …`, plus the attached parent index."""
    text = ix.name + (" UNIQUE" if ix.unique else "") + f" {ix.method} "
    text += "(" + ", ".join(index_key_text(k) for k in ix.keys) + ")"
    if ix.include:
        text += f" INCLUDE {columns_list(ix.include)}"
    if ix.nulls_not_distinct:
        text += " NULLS NOT DISTINCT"
    if ix.where:
        text += f" WHERE {ix.where}"
    if ix.options:
        text += " WITH (" + ", ".join(f"{k}={v}" for k, v in ix.options) + ")"
    if ix.parent:
        text += f" (partition of {ix.parent})"
    return text


def trigger_text(tr: Trigger) -> str:
    each = "ROW" if tr.for_each_row else "STATEMENT"
    text = f"{tr.name} {tr.timing} {' OR '.join(tr.events)} FOR EACH {each}"
    if tr.when:
        text += f" WHEN ({tr.when})"
    if tr.function:
        text += f" → {tr.function}"
    if not tr.enabled:
        text += " (disabled)"
    return text + _inherited(tr.inherited)


def policy_text(p: Policy) -> str:
    text = f"{p.name} FOR {p.command} TO {', '.join(p.roles)}"
    if not p.permissive:
        text += " RESTRICTIVE"
    if p.using is not None:
        text += f" USING ({p.using})"
    if p.with_check is not None:
        text += f" WITH CHECK ({p.with_check})"
    return text


def rls_text(t: Table) -> str | None:
    if not (t.rls_enabled or t.rls_forced):
        return None
    return ("enabled" if t.rls_enabled else "disabled") + (", forced" if t.rls_forced else "")


def function_text(f: Function) -> str:
    """`schema.name(args) → returns`, language, volatility and the security-relevant flags."""
    qualified = f"{f.schema}.{f.name}" if f.schema else f.name
    text = f"{qualified}({f.arguments})"
    if f.returns:
        text += f" → {f.returns}"
    attrs: list[str] = [f.kind] if f.kind != "function" else []
    attrs += [f.language, f.volatility]
    if f.strict:
        attrs.append("strict")
    if f.leakproof:
        attrs.append("leakproof")
    if f.security_definer:
        attrs.append("SECURITY DEFINER")
    attrs.extend(f"SET {k}={v}" for k, v in f.config)
    return f"{text}  [{', '.join(attrs)}]"


def sequence_text(s: SequenceDef) -> str:
    qualified = f"{s.schema}.{s.name}" if s.schema else s.name
    parts = [qualified, s.type]
    if s.start != 1:
        parts.append(f"start {s.start}")
    if s.increment != 1:
        parts.append(f"increment {s.increment}")
    if s.min_value is not None:
        parts.append(f"min {s.min_value}")
    if s.max_value is not None:
        parts.append(f"max {s.max_value}")
    if s.cache != 1:
        parts.append(f"cache {s.cache}")
    if s.cycle:
        parts.append("cycle")
    if s.owned_by:
        parts.append(f"owned by {s.owned_by}")
    return " ".join(parts)


def domain_text(d: DomainType) -> str:
    text = d.base_type
    if d.collation:
        text += f" COLLATE {d.collation}"
    if not d.nullable:
        text += " NOT NULL"
    if d.default is not None:
        text += f" DEFAULT {d.default}"
    for c in d.checks:
        text += f" CHECK {c.name}: {c.expression}"
    return text


def partitions_of(schema: Schema) -> dict[str, list[str]]:
    """Partitioned table (qualified name) → its partitions' qualified names, in order."""
    children: dict[str, list[str]] = defaultdict(list)
    for t in schema.tables:
        if t.partition_of:
            children[t.partition_of].append(t.qualified)
    return children


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
        facts.append(("USES", ", ".join(v.depends_on)))
    if facts:
        out.append(_facts(facts))
    return out


def _type_lines(schema: Schema) -> list[str]:
    lines = [
        f"enum {_qualify(e.schema, e.name)}: " + ", ".join(repr(v) for v in e.values)
        for e in schema.enums
    ]
    lines += [f"domain {_qualify(d.schema, d.name)}: {domain_text(d)}" for d in schema.domains]
    lines += [
        f"composite {_qualify(c.schema, c.name)}: ("
        + ", ".join(f"{a.name} {a.type}" for a in c.attributes)
        + ")"
        for c in schema.composite_types
    ]
    return lines


def _extension_line(e: Extension) -> str:
    return (
        e.name
        + (f" {e.version}" if e.version else "")
        + (f" (schema {e.schema})" if e.schema else "")
    )


def _other_lines(schema: Schema) -> list[str]:
    lines = [
        f"collation {_qualify(c.schema, c.name)}: {c.provider}"
        + (f" {c.locale}" if c.locale else "")
        + ("" if c.deterministic else " nondeterministic")
        for c in schema.collations
    ]
    lines += [
        f"text search configuration {_qualify(c.schema, c.name)}: parser {c.parser}"
        for c in schema.text_search_configs
    ]
    if schema.grants:
        objects = len({(g.object_type, g.object) for g in schema.grants})
        lines.append(f"{_n(len(schema.grants), 'grant')} on {_n(objects, 'object')}")
    if schema.default_privileges:
        lines.append(_n(len(schema.default_privileges), "default privilege"))
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


def _print_grid(console: Console, grid: _Grid) -> None:
    # Fast path: when every row fits, plain padding gives exactly what rich's grid would,
    # at a fraction of the cost (rich measures and wraps every cell: ~3 s for 500 tables).
    ncols = len(grid.rows[0])
    widths = [max(cell_len(row[i]) for row in grid.rows) for i in range(ncols)]
    fits = INDENT * ncols + sum(widths) <= console.width
    if fits and not any("\n" in cell for row in grid.rows for cell in row):
        for row in grid.rows:
            line = "".join(
                " " * INDENT + _pad(cell, w) for cell, w in zip(row, widths, strict=True)
            )
            console.print(Text(line), soft_wrap=True)
        return
    table = RichTable.grid(padding=(0, 0, 0, INDENT), pad_edge=True)
    # Names and types keep their width when the last column still gets a useful share;
    # on very narrow consoles every column folds, so that nothing is cut off.
    keep = INDENT * ncols + sum(widths[:-1]) + MIN_LAST_COLUMN <= console.width
    for _ in range(ncols - 1):
        table.add_column(no_wrap=keep, overflow="fold")
    table.add_column(overflow="fold", ratio=1)
    for row in grid.rows:
        table.add_row(*(Text(cell) for cell in row))
    console.print(table)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - cell_len(text))


def _indent_line(text: str) -> str:
    return " " * INDENT + text


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _qualify(schema: str, name: str) -> str:
    return f"{schema}.{name}" if schema else name


def _n(count: int, singular: str, plural: str | None = None) -> str:
    return f"{count} {singular if count == 1 else (plural or singular + 's')}"
