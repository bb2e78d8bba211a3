"""`dbarch inspect --format markdown`: the schema as a data dictionary in GitHub Markdown.

One section per namespace; per table a column table and lists of keys, references, indexes,
checks, triggers and policies; views with their definitions; types, sequences and functions.
Every heading gets the anchor GitHub would give it (lowercase, punctuation dropped, spaces to
hyphens, `-1`, `-2`… for repeats), so the table of contents and the links between tables
resolve on GitHub and in most Markdown viewers.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
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
    exclusion_text,
    fk_target,
    fk_text,
    header_line,
    index_text,
    partitions_of,
    pk_text,
    policy_text,
    qualify,
    rls_text,
    trigger_text,
    unique_text,
)

# Link targets are not known until every heading has its anchor; the body holds this
# placeholder (NUL cannot occur in identifiers) and is patched at the end.
_LINK = re.compile("\x00([^\x00]*)\x00")


def render_markdown(schema: Schema) -> str:
    """The schema as a Markdown data dictionary: title, contents, one section per namespace
    (tables, views, types, sequences, functions), then extensions and other objects."""
    doc = _Doc()
    doc.heading(1, "Data dictionary")
    doc.text(_escape_text(header_line(schema)) + ".")
    doc.heading(2, "Contents", toc=False)
    contents_at = len(doc.lines)
    for ns in _namespaces(schema):
        _namespace_section(doc, schema, ns)
    _global_section(doc, schema)
    body = "\n".join(doc.lines[contents_at:])
    head = "\n".join([*doc.lines[:contents_at], *doc.contents(), ""])
    text = head + "\n" + _LINK.sub(lambda m: doc.link(m.group(1)), body)
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n") + "\n"


# --- anchors and the document being built --------------------------------------------------


def github_slug(text: str) -> str:
    """The anchor GitHub derives from a heading's text (before de-duplication)."""
    kept = (
        ch
        for ch in text.strip().lower()
        if ch in "-_ " or unicodedata.category(ch)[0] in ("L", "M", "N")
    )
    return "".join(kept).replace(" ", "-")


@dataclass
class _Doc:
    lines: list[str] = field(default_factory=list)
    seen: dict[str, int] = field(default_factory=dict)
    anchors: dict[str, str] = field(default_factory=dict)
    toc: list[tuple[int, str, str]] = field(default_factory=list)

    def heading(
        self, level: int, markdown: str, *, key: str | None = None, toc: bool = True
    ) -> None:
        """Add a heading; `key` (e.g. "table:public.t") lets links find its anchor."""
        anchor = self._unique(github_slug(_plain(markdown)))
        if key is not None:
            self.anchors[key] = anchor
        if toc and level >= 2:
            self.toc.append((level, markdown, anchor))
        self.lines += ["", "#" * level + " " + markdown, ""]

    def _unique(self, slug: str) -> str:
        # github-slugger: a repeat gets -1, -2… and the result itself is then taken.
        result = slug
        while result in self.seen:
            self.seen[slug] += 1
            result = f"{slug}-{self.seen[slug]}"
        self.seen[result] = 0
        return result

    def text(self, *lines: str) -> None:
        self.lines += ["", *lines, ""]

    def link(self, key: str) -> str:
        """A link to the heading registered under `key`; plain code when there is none
        (an object outside the schema, such as a table in a schema not introspected)."""
        kind, _, name = key.partition(":")
        kinds = ("table", "view", "type") if kind == "any" else (kind,)
        anchor = next(
            (self.anchors[k] for k in (f"{k}:{name}" for k in kinds) if k in self.anchors), None
        )
        label = _code(name)
        return f"[{label}](#{anchor})" if anchor else label

    def contents(self) -> list[str]:
        top = min((level for level, _, _ in self.toc), default=2)
        return [f"{'  ' * (level - top)}- [{md}](#{anchor})" for level, md, anchor in self.toc]


def _ref(kind: str, qualified: str) -> str:
    """A placeholder for a link to the heading registered as `kind:qualified`."""
    return f"\x00{kind}:{qualified}\x00"


# --- sections ------------------------------------------------------------------------------


def _namespaces(schema: Schema) -> list[str]:
    names = {n.name for n in schema.namespaces}
    for group in (
        schema.tables,
        schema.views,
        schema.enums,
        schema.domains,
        schema.composite_types,
        schema.sequences,
        schema.functions,
    ):
        names.update(obj.schema for obj in group)
    return sorted(names)


def _namespace_section(doc: _Doc, schema: Schema, ns: str) -> None:
    doc.heading(2, f"Schema {_code(ns)}" if ns else "Database", key=f"schema:{ns}")
    comment = next((n.comment for n in schema.namespaces if n.name == ns and n.comment), None)
    if comment:
        doc.text(_escape_text(comment))
    children = partitions_of(schema)
    referenced_by = _referenced_by(schema)
    for table in (t for t in schema.tables if t.schema == ns):
        _table_section(doc, table, children, referenced_by)
    for view in (v for v in schema.views if v.schema == ns):
        _view_section(doc, view)
    for enum in (e for e in schema.enums if e.schema == ns):
        _enum_section(doc, enum)
    for domain in (d for d in schema.domains if d.schema == ns):
        _domain_section(doc, domain)
    for comp in (c for c in schema.composite_types if c.schema == ns):
        _composite_section(doc, comp)
    _sequences_section(doc, ns, [s for s in schema.sequences if s.schema == ns])
    _functions_section(doc, ns, [f for f in schema.functions if f.schema == ns])


def _table_section(
    doc: _Doc, t: Table, children: dict[str, list[str]], referenced_by: dict[str, list[str]]
) -> None:
    doc.heading(3, f"Table {_code(t.qualified)}", key=f"table:{t.qualified}")
    if t.comment:
        doc.text(_escape_text(t.comment))
    notes = []
    if t.unlogged:
        notes.append("Unlogged.")
    if t.partition_of:
        bound = f" {_code(t.partition_bound)}" if t.partition_bound else ""
        notes.append(f"Partition of {_ref('table', t.partition_of)}{bound}.")
    if t.partitioning:
        notes.append(
            f"Partitioned by {t.partitioning.strategy} {_code('(' + t.partitioning.key + ')')}."
        )
    if t.inherits:
        notes.append("Inherits " + ", ".join(_ref("table", p) for p in t.inherits) + ".")
    if t.options:
        notes.append("Options: " + ", ".join(_code(f"{k}={v}") for k, v in t.options) + ".")
    if notes:
        doc.text(" ".join(notes))
    if t.columns:
        doc.text(*_columns_table(t.columns, with_details=True))
    if t.primary_key:
        doc.text(f"**Primary key:** {_code(pk_text(t.primary_key))}")
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
    _links(doc, "Partitions", [_ref("table", p) for p in children.get(t.qualified, [])])
    _links(doc, "Referenced by", [_ref("table", r) for r in referenced_by.get(t.qualified, [])])


def _view_section(doc: _Doc, v: View) -> None:
    kind = "Materialized view" if v.materialized else "View"
    doc.heading(3, f"{kind} {_code(v.qualified)}", key=f"view:{v.qualified}")
    if v.comment:
        doc.text(_escape_text(v.comment))
    notes = []
    if v.check_option:
        notes.append(f"WITH {v.check_option} CHECK OPTION.")
    if v.options:
        notes.append("Options: " + ", ".join(_code(f"{k}={val}") for k, val in v.options) + ".")
    if notes:
        doc.text(" ".join(notes))
    if v.columns:
        doc.text(*_columns_table(v.columns, with_details=False))
    _facts(doc, "Indexes", [index_text(ix) for ix in v.indexes])
    _facts(doc, "Triggers", [trigger_text(tr) for tr in v.triggers])
    _links(doc, "Uses", [_ref("any", d) for d in v.depends_on])
    doc.text(*_fenced(v.definition.strip("\n"), "sql"))


def _enum_section(doc: _Doc, e: EnumType) -> None:
    qualified = qualify(e.schema, e.name)
    doc.heading(3, f"Enum {_code(qualified)}", key=f"type:{qualified}")
    if e.comment:
        doc.text(_escape_text(e.comment))
    doc.text("Values: " + (", ".join(_code(v) for v in e.values) or "none") + ".")


def _domain_section(doc: _Doc, d: DomainType) -> None:
    qualified = qualify(d.schema, d.name)
    doc.heading(3, f"Domain {_code(qualified)}", key=f"type:{qualified}")
    if d.comment:
        doc.text(_escape_text(d.comment))
    parts = [f"Base type {_code(d.base_type)}"]
    if d.collation:
        parts.append(f"collation {_code(d.collation)}")
    parts.append("nullable" if d.nullable else "NOT NULL")
    if d.default is not None:
        parts.append(f"default {_code(d.default)}")
    doc.text(", ".join(parts) + ".")
    _facts(doc, "Check constraints", [check_text(c) for c in d.checks])


def _composite_section(doc: _Doc, c: CompositeType) -> None:
    qualified = qualify(c.schema, c.name)
    doc.heading(3, f"Composite type {_code(qualified)}", key=f"type:{qualified}")
    if c.comment:
        doc.text(_escape_text(c.comment))
    if c.attributes:
        doc.text(*_columns_table(c.attributes, with_details=False))


def _sequences_section(doc: _Doc, ns: str, seqs: Sequence[SequenceDef]) -> None:
    if not seqs:
        return
    doc.heading(3, "Sequences" + (f" in {_code(ns)}" if ns else ""), toc=False)
    rows = [
        [
            _code(s.name),
            _code(s.type),
            str(s.start),
            str(s.increment),
            _opt(s.min_value),
            _opt(s.max_value),
            str(s.cache),
            "yes" if s.cycle else "no",
            _cell_code(s.owned_by),
            _cell_text(s.comment),
        ]
        for s in seqs
    ]
    header = ["Sequence", "Type", "Start", "Increment", "Min", "Max", "Cache", "Cycle"]
    doc.text(*_table([*header, "Owned by", "Comment"], rows))


def _functions_section(doc: _Doc, ns: str, funcs: Sequence[Function]) -> None:
    if not funcs:
        return
    doc.heading(3, "Functions" + (f" in {_code(ns)}" if ns else ""), toc=False)
    rows = []
    for f in funcs:
        security = "definer" if f.security_definer else "invoker"
        if f.config:
            security += "; " + ", ".join(f"SET {k}={v}" for k, v in f.config)
        flags = [f.volatility] + (["strict"] if f.strict else [])
        rows.append(
            [
                _cell_code(f"{f.name}({f.arguments})"),
                f.kind,
                _cell_code(f.returns),
                _cell_text(f.language),
                ", ".join(flags),
                _cell_text(security),
                _cell_text(f.comment),
            ]
        )
    header = ["Function", "Kind", "Returns", "Language", "Volatility", "Security", "Comment"]
    doc.text(*_table(header, rows))


def _global_section(doc: _Doc, schema: Schema) -> None:
    if schema.extensions:
        doc.heading(2, "Extensions", key="extensions")
        rows = [
            [_code(e.name), _cell_text(e.version), _cell_code(e.schema), _cell_text(e.comment)]
            for e in schema.extensions
        ]
        doc.text(*_table(["Extension", "Version", "Schema", "Comment"], rows))
    others = [
        [
            "collation",
            _code(qualify(c.schema, c.name)),
            _cell_text(f"{c.provider} {c.locale or c.lc_collate or ''}".strip()),
        ]
        for c in schema.collations
    ]
    others += [
        ["text search configuration", _code(qualify(c.schema, c.name)), _cell_code(c.parser)]
        for c in schema.text_search_configs
    ]
    if others:
        doc.heading(2, "Other objects", key="other")
        doc.text(*_table(["Kind", "Name", "Details"], others))


# --- building blocks -----------------------------------------------------------------------


def _columns_table(columns: Sequence[Column], *, with_details: bool) -> list[str]:
    if with_details:
        header = ["Column", "Type", "Nullable", "Default", "Comment"]
    else:
        header = ["Column", "Type", "Comment"]
    rows = []
    for col in columns:
        type_cell = _cell_code(col.type)
        if col.collation:
            type_cell += f" COLLATE {_cell_code(col.collation)}"
        if not with_details:
            rows.append([_cell_code(col.name), type_cell, _cell_text(col.comment)])
            continue
        source = "; ".join(column_value_source(col))
        notes = [_cell_text(col.comment)] if col.comment else []
        if col.inherited:
            notes.append("(inherited)")
        notes += [_cell_code(f"{k}={v}") for k, v in col.options]
        rows.append(
            [
                _cell_code(col.name),
                type_cell,
                "yes" if col.nullable else "no",
                _cell_code(source or None),
                " ".join(notes),
            ]
        )
    return _table(header, rows)


def _fk_list(doc: _Doc, fks: Iterable[ForeignKey]) -> None:
    items = []
    for fk in fks:
        described = _describe_fk(fk)
        items.append(f"- {described}")
    if items:
        doc.text("**Foreign keys:**", "", *items)


def _describe_fk(fk: ForeignKey) -> str:
    # The same words as the text format, with the referenced table turned into a link.
    marker = "\x01"
    before, _, after = fk_text(fk, target=marker).partition(marker)
    return f"{_code(before.rstrip())} {_ref('table', fk_target(fk))} {_code(after.strip())}"


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
        return [f"- {_code(text)}"]
    # Multi-line SQL stays readable in a fenced block inside the list item.
    fenced = _fenced(text, "sql")
    return ["- " + fenced[0], *(("  " + line) if line else "" for line in fenced[1:])]


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _fenced(text: str, lang: str) -> list[str]:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence + lang, *text.split("\n"), fence]


def _code(text: str) -> str:
    """An inline code span that survives backticks in `text` (CommonMark rules). Line breaks
    become spaces, as a code span would show them anyway, so no line can start a block."""
    text = text.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def _cell_code(text: str | None) -> str:
    """Code inside a table cell: pipes escaped (GFM), each line its own span joined by <br>."""
    if text is None or text == "":
        return ""
    lines = text.replace("\r\n", "\n").split("\n")
    return "<br>".join(_escape_pipes(_code(line)) for line in lines)


def _escape_pipes(cell: str) -> str:
    # GFM splits rows at every pipe not escaped by an odd run of backslashes, even inside
    # code spans: double the backslashes before a pipe and add one.
    return re.sub(r"(\\*)\|", lambda m: m.group(1) * 2 + "\\|", cell)


def _cell_text(text: str | None) -> str:
    if not text:
        return ""
    return _escape_text(text, blocks=False).replace("|", "\\|").replace("\n", "<br>")


def _escape_text(text: str, *, blocks: bool = True) -> str:
    """Plain text as Markdown: no raw HTML and, with `blocks`, no line that starts a block."""
    text = text.replace("\r\n", "\n").replace("\\", "\\\\")
    text = text.replace("&", "&amp;").replace("<", "&lt;")
    if not blocks:
        return text
    return "\n".join(_escape_line_start(line) for line in text.split("\n"))


def _escape_line_start(line: str) -> str:
    line = re.sub(r"^(\s*)([#>+*=|~`-])", r"\1\\\2", line)
    return re.sub(r"^(\s*\d+)([.)])", r"\1\\\2", line)


def _plain(markdown: str) -> str:
    """The text GitHub slugs for a heading: code spans lose their backticks."""
    return re.sub(r"(`+) ?(.*?) ?\1", r"\2", markdown)


def _opt(value: int | None) -> str:
    return "" if value is None else str(value)


def _referenced_by(schema: Schema) -> dict[str, list[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for t in schema.tables:
        for fk in t.foreign_keys:
            out[fk_target(fk)].add(t.qualified)
    return {k: sorted(v) for k, v in out.items()}
