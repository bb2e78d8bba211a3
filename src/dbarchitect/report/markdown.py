"""`dbarch inspect --format markdown`: the schema as a data dictionary in GitHub Markdown.

One section per namespace; per table a column table and lists of keys, references, indexes,
checks, triggers and policies; views with their definitions; types, sequences and functions.
Every heading gets the anchor GitHub would give it (lowercase, punctuation dropped, spaces to
hyphens, `-1`, `-2`… for repeats), so the table of contents and the links between tables
resolve on GitHub and in most Markdown viewers.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from dbarchitect.model.schema import (
    Column,
    CompositeType,
    DomainType,
    EnumType,
    ForeignKey,
    Function,
    Schema,
    Table,
    View,
)
from dbarchitect.model.schema import Sequence as SequenceDef
from dbarchitect.report.describe import (
    check_text,
    column_value_source,
    dependency,
    exclusion_text,
    fk_target,
    fk_text,
    header_line,
    index_text,
    partitions_of,
    pk_text,
    policy_text,
    qualify,
    range_text,
    rls_text,
    trigger_text,
    unique_text,
)
from dbarchitect.report.markdown_syntax import (
    cell_code,
    cell_text,
    code,
    escape_text,
    fenced,
    github_slug,
    heading_text,
    table,
)

# Link targets are not known until every heading has its anchor; the body holds this
# placeholder (NUL cannot occur in identifiers) and is patched at the end.
_LINK = re.compile("\x00([0-9]+)\x00")

Key = tuple[str, ...]
"""What a link points at: (kind, schema, name) exactly, or (kind, qualified name)."""


def render_markdown(schema: Schema) -> str:
    """The schema as a Markdown data dictionary: title, contents, one section per namespace
    (tables, views, types, sequences, functions), then extensions and other objects."""
    doc = _Doc()
    doc.heading(1, "Data dictionary")
    doc.text(escape_text(header_line(schema)) + ".")
    doc.heading(2, "Contents", toc=False)
    contents_at = len(doc.lines)
    children, referenced_by = partitions_of(schema), _referenced_by(schema)
    for ns in _namespaces(schema):
        _namespace_section(doc, schema, ns, children, referenced_by)
    _global_section(doc, schema)
    lines = [*doc.lines[:contents_at], *doc.contents(), "", *doc.lines[contents_at:]]
    text = "\n".join(lines).strip("\n") + "\n"
    return _LINK.sub(lambda m: doc.link(int(m.group(1))), text)


# --- anchors and the document being built --------------------------------------------------


@dataclass
class _Doc:
    lines: list[str] = field(default_factory=list)
    seen: dict[str, int] = field(default_factory=dict)
    anchors: dict[Key, str] = field(default_factory=dict)
    refs: list[tuple[str, tuple[Key, ...]]] = field(default_factory=list)
    toc: list[tuple[int, str, str]] = field(default_factory=list)

    def heading(
        self,
        level: int,
        markdown: str,
        *,
        key: tuple[str, str, str] | None = None,
        toc: bool = True,
    ) -> str:
        """Add a heading and return its anchor; `key` (kind, schema, name) lets links find it."""
        anchor = self._unique(github_slug(heading_text(markdown)))
        if key is not None:
            kind, schema, name = key
            self.anchors[key] = anchor
            # Qualified names are ambiguous when names hold dots; the first owner keeps it.
            self.anchors.setdefault((kind, qualify(schema, name)), anchor)
        if toc and level >= 2:
            self.toc.append((level, markdown, anchor))
        self.text("#" * level + " " + markdown)
        return anchor

    def _unique(self, slug: str) -> str:
        # github-slugger: a repeat gets -1, -2… and the result itself is then taken.
        result = slug
        while result in self.seen:
            self.seen[slug] += 1
            result = f"{slug}-{self.seen[slug]}"
        self.seen[result] = 0
        return result

    def text(self, *lines: str) -> None:
        """A block: `lines` with one blank line before and after (never two: code blocks
        are written through here too, so blank runs cannot be squeezed afterwards)."""
        if self.lines and self.lines[-1] != "":
            self.lines.append("")
        self.lines += [*lines, ""]

    def ref(self, label: str, *keys: Key) -> str:
        """A placeholder for a link labelled `label` to the first heading among `keys`;
        `render_markdown` resolves it once every heading has its anchor."""
        self.refs.append((label, keys))
        return f"\x00{len(self.refs) - 1}\x00"

    def link(self, index: int) -> str:
        """The resolved link; plain code when no heading matches (an object outside the
        schema, such as a table in a schema that was not introspected)."""
        label, keys = self.refs[index]
        anchor = next((self.anchors[k] for k in keys if k in self.anchors), None)
        return f"[{code(label)}](#{anchor})" if anchor else code(label)

    def contents(self) -> list[str]:
        top = min((level for level, _, _ in self.toc), default=2)
        return [f"{'  ' * (level - top)}- [{md}](#{anchor})" for level, md, anchor in self.toc]


def _table_ref(doc: _Doc, qualified: str) -> str:
    return doc.ref(qualified, ("table", qualified))


def _dependency_ref(doc: _Doc, entry: str) -> str:
    kind, name = dependency(entry)
    if kind == "function":
        return doc.ref(name, ("function", name))
    if kind == "type":
        return doc.ref(name, ("type", name))
    return doc.ref(name, ("table", name), ("view", name))


# --- sections ------------------------------------------------------------------------------


def _namespaces(schema: Schema) -> list[str]:
    names = {n.name for n in schema.namespaces}
    for group in (
        schema.tables,
        schema.views,
        schema.enums,
        schema.domains,
        schema.composite_types,
        schema.ranges,
        schema.sequences,
        schema.functions,
    ):
        names.update(obj.schema for obj in group)
    return sorted(names)


def _namespace_section(
    doc: _Doc,
    schema: Schema,
    ns: str,
    children: dict[str, list[str]],
    referenced_by: dict[tuple[str, str], list[tuple[str, str]]],
) -> None:
    doc.heading(2, f"Schema {code(ns)}" if ns else "Database", key=("schema", "", ns))
    comment = next((n.comment for n in schema.namespaces if n.name == ns and n.comment), None)
    if comment:
        doc.text(escape_text(comment))
    for tbl in (t for t in schema.tables if t.schema == ns):
        _table_section(doc, tbl, children, referenced_by)
    for view in (v for v in schema.views if v.schema == ns):
        _view_section(doc, view)
    for enum in (e for e in schema.enums if e.schema == ns):
        _enum_section(doc, enum)
    for domain in (d for d in schema.domains if d.schema == ns):
        _domain_section(doc, domain)
    for comp in (c for c in schema.composite_types if c.schema == ns):
        _composite_section(doc, comp)
    for rng in (r for r in schema.ranges if r.schema == ns):
        qualified = qualify(rng.schema, rng.name)
        doc.heading(3, f"Range type {code(qualified)}", key=("type", rng.schema, rng.name))
        if rng.comment:
            doc.text(escape_text(rng.comment))
        doc.text(code(range_text(rng)))
    _sequences_section(doc, ns, [s for s in schema.sequences if s.schema == ns])
    _functions_section(doc, ns, [f for f in schema.functions if f.schema == ns])


def _table_section(
    doc: _Doc,
    t: Table,
    children: dict[str, list[str]],
    referenced_by: dict[tuple[str, str], list[tuple[str, str]]],
) -> None:
    doc.heading(3, f"Table {code(t.qualified)}", key=("table", t.schema, t.name))
    if t.comment:
        doc.text(escape_text(t.comment))
    notes = []
    if t.unlogged:
        notes.append("Unlogged.")
    if t.partition_of:
        bound = f" {code(t.partition_bound)}" if t.partition_bound else ""
        notes.append(f"Partition of {_table_ref(doc, t.partition_of)}{bound}.")
    if t.partitioning:
        notes.append(
            f"Partitioned by {t.partitioning.strategy} {code('(' + t.partitioning.key + ')')}."
        )
    if t.inherits:
        notes.append("Inherits " + ", ".join(_table_ref(doc, p) for p in t.inherits) + ".")
    if t.options:
        notes.append("Options: " + ", ".join(code(f"{k}={v}") for k, v in t.options) + ".")
    if notes:
        doc.text(" ".join(notes))
    if t.columns:
        doc.text(*_columnstable(t.columns, with_details=True))
    if t.primary_key:
        doc.text(f"**Primary key:** {code(pk_text(t.primary_key))}")
    _fk_list(doc, t.foreign_keys)
    _facts(doc, "Unique constraints", [unique_text(u) for u in t.uniques])
    _facts(doc, "Check constraints", [check_text(c) for c in t.checks])
    _facts(doc, "Exclusion constraints", [exclusion_text(x) for x in t.exclusions])
    _facts(doc, "Indexes", [index_text(ix) for ix in t.indexes])
    _facts(doc, "Triggers", [trigger_text(tr) for tr in t.triggers])
    rls = rls_text(t)
    if rls:
        doc.text(f"**Row level security:** {rls}.")
    _facts(doc, "Policies", [policy_text(p) for p in t.policies])
    _links(doc, "Partitions", [_table_ref(doc, p) for p in children.get(t.qualified, [])])
    _links(
        doc,
        "Referenced by",
        [doc.ref(qualify(*r), ("table", *r)) for r in referenced_by.get((t.schema, t.name), [])],
    )


def _view_section(doc: _Doc, v: View) -> None:
    kind = "Materialized view" if v.materialized else "View"
    doc.heading(3, f"{kind} {code(v.qualified)}", key=("view", v.schema, v.name))
    if v.comment:
        doc.text(escape_text(v.comment))
    notes = []
    if v.check_option:
        notes.append(f"WITH {v.check_option} CHECK OPTION.")
    if v.options:
        notes.append("Options: " + ", ".join(code(f"{k}={val}") for k, val in v.options) + ".")
    if notes:
        doc.text(" ".join(notes))
    if v.columns:
        doc.text(*_columnstable(v.columns, with_details=False))
    _facts(doc, "Indexes", [index_text(ix) for ix in v.indexes])
    _facts(doc, "Triggers", [trigger_text(tr) for tr in v.triggers])
    uses = sorted(v.depends_on, key=lambda d: dependency(d)[1])
    _links(doc, "Uses", [_dependency_ref(doc, d) for d in uses])
    doc.text(*fenced(v.definition.strip("\n"), "sql"))


def _enum_section(doc: _Doc, e: EnumType) -> None:
    qualified = qualify(e.schema, e.name)
    doc.heading(3, f"Enum {code(qualified)}", key=("type", e.schema, e.name))
    if e.comment:
        doc.text(escape_text(e.comment))
    doc.text("Values: " + (", ".join(code(v) for v in e.values) or "none") + ".")


def _domain_section(doc: _Doc, d: DomainType) -> None:
    qualified = qualify(d.schema, d.name)
    doc.heading(3, f"Domain {code(qualified)}", key=("type", d.schema, d.name))
    if d.comment:
        doc.text(escape_text(d.comment))
    parts = [f"Base type {code(d.base_type)}"]
    if d.collation:
        parts.append(f"collation {code(d.collation)}")
    parts.append("nullable" if d.nullable else "NOT NULL")
    if d.default is not None:
        parts.append(f"default {code(d.default)}")
    doc.text(", ".join(parts) + ".")
    _facts(doc, "Check constraints", [check_text(c) for c in d.checks])


def _composite_section(doc: _Doc, c: CompositeType) -> None:
    qualified = qualify(c.schema, c.name)
    doc.heading(3, f"Composite type {code(qualified)}", key=("type", c.schema, c.name))
    if c.comment:
        doc.text(escape_text(c.comment))
    if c.attributes:
        doc.text(*_columnstable(c.attributes, with_details=False))


def _sequences_section(doc: _Doc, ns: str, seqs: Sequence[SequenceDef]) -> None:
    if not seqs:
        return
    doc.heading(3, "Sequences" + (f" in {code(ns)}" if ns else ""), toc=False)
    rows = [
        [
            cell_code(s.name),
            cell_code(s.type),
            str(s.start),
            str(s.increment),
            _opt(s.min_value),
            _opt(s.max_value),
            str(s.cache),
            "yes" if s.cycle else "no",
            cell_code(s.owned_by),
            cell_text(s.comment),
        ]
        for s in seqs
    ]
    header = ["Sequence", "Type", "Start", "Increment", "Min", "Max", "Cache", "Cycle"]
    doc.text(*table([*header, "Owned by", "Comment"], rows))


def _functions_section(doc: _Doc, ns: str, funcs: Sequence[Function]) -> None:
    if not funcs:
        return
    anchor = doc.heading(3, "Functions" + (f" in {code(ns)}" if ns else ""), toc=False)
    rows = []
    for f in funcs:
        # Views name the functions they use by signature; those links land on this table.
        doc.anchors[("function", f"{qualify(f.schema, f.name)}({f.identity})")] = anchor
        security = "definer" if f.security_definer else "invoker"
        if f.config:
            security += "; " + ", ".join(f"SET {k}={v}" for k, v in f.config)
        flags = [f.volatility] + (["strict"] if f.strict else [])
        rows.append(
            [
                cell_code(f"{f.name}({f.arguments})"),
                f.kind,
                cell_code(f.returns),
                cell_text(f.language),
                ", ".join(flags),
                cell_text(security),
                cell_text(f.comment),
            ]
        )
    header = ["Function", "Kind", "Returns", "Language", "Volatility", "Security", "Comment"]
    doc.text(*table(header, rows))


def _global_section(doc: _Doc, schema: Schema) -> None:
    if schema.extensions:
        doc.heading(2, "Extensions", key=("section", "", "extensions"))
        rows = [
            [cell_code(e.name), cell_text(e.version), cell_code(e.schema), cell_text(e.comment)]
            for e in schema.extensions
        ]
        doc.text(*table(["Extension", "Version", "Schema", "Comment"], rows))
    others = [
        [
            "collation",
            cell_code(qualify(c.schema, c.name)),
            cell_text(f"{c.provider} {c.locale or c.lc_collate or ''}".strip()),
        ]
        for c in schema.collations
    ]
    others += [
        ["text search configuration", cell_code(qualify(c.schema, c.name)), cell_code(c.parser)]
        for c in schema.text_search_configs
    ]
    if others:
        doc.heading(2, "Other objects", key=("section", "", "other"))
        doc.text(*table(["Kind", "Name", "Details"], others))


# --- building blocks -----------------------------------------------------------------------


def _columnstable(columns: Sequence[Column], *, with_details: bool) -> list[str]:
    if with_details:
        header = ["Column", "Type", "Nullable", "Default", "Comment"]
    else:
        header = ["Column", "Type", "Comment"]
    rows = []
    for col in columns:
        type_cell = cell_code(col.type)
        if col.collation:
            type_cell += f" COLLATE {cell_code(col.collation)}"
        if not with_details:
            rows.append([cell_code(col.name), type_cell, cell_text(col.comment)])
            continue
        source = "; ".join(column_value_source(col))
        notes = [cell_text(col.comment)] if col.comment else []
        if col.inherited:
            notes.append("(inherited)")
        notes += [cell_code(f"{k}={v}") for k, v in col.options]
        rows.append(
            [
                cell_code(col.name),
                type_cell,
                "yes" if col.nullable else "no",
                cell_code(source or None),
                " ".join(notes),
            ]
        )
    return table(header, rows)


def _fk_list(doc: _Doc, fks: Sequence[ForeignKey]) -> None:
    if fks:
        doc.text("**Foreign keys:**", "", *(f"- {_describe_fk(doc, fk)}" for fk in fks))


def _describe_fk(doc: _Doc, fk: ForeignKey) -> str:
    # The same words as the text format, with the referenced table turned into a link.
    marker = "\x01"
    before, _, after = fk_text(fk, target=marker).partition(marker)
    link = doc.ref(fk_target(fk), ("table", fk.ref_schema, fk.ref_table))
    return f"{code(before.rstrip())} {link} {code(after.strip())}"


def _facts(doc: _Doc, title: str, texts: Sequence[str]) -> None:
    if not texts:
        return
    lines = [f"**{title}:**", ""]
    for text in texts:
        lines += _list_item(text)
    doc.text(*lines)


def _links(doc: _Doc, title: str, refs: Sequence[str]) -> None:
    if refs:
        doc.text(f"**{title}:** " + ", ".join(refs))


def _list_item(text: str) -> list[str]:
    if "\n" not in text:
        return [f"- {code(text)}"]
    # Multi-line SQL stays readable in a fenced block inside the list item.
    block = fenced(text, "sql")
    return ["- " + block[0], *(("  " + line) if line else "" for line in block[1:])]


def _opt(value: int | None) -> str:
    return "" if value is None else str(value)


def _referenced_by(schema: Schema) -> dict[tuple[str, str], list[tuple[str, str]]]:
    out: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)
    for t in schema.tables:
        for fk in t.foreign_keys:
            out[(fk.ref_schema, fk.ref_table)].add((t.schema, t.name))
    return {k: sorted(v) for k, v in out.items()}
