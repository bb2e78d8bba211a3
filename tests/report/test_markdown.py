"""The Markdown data dictionary, checked by parsing it with a CommonMark + GFM-tables parser."""

from __future__ import annotations

import dataclasses
import random
import re
from typing import Any
from urllib.parse import quote, unquote

from markdown_it import MarkdownIt
from markdown_it.token import Token

from dbarchitect.model import (
    CheckConstraint,
    Column,
    Extension,
    ForeignKey,
    Namespace,
    Schema,
    Sequence,
    Table,
    View,
)
from dbarchitect.report.markdown import render_markdown
from tests.report.sample import assert_snapshot, big_schema, sample_schema

PARSER = MarkdownIt("commonmark").enable("table")


def _inline_text(token: Token) -> str:
    return "".join(c.content for c in token.children or [] if c.type in ("text", "code_inline"))


def headings(markdown: str) -> list[tuple[int, str]]:
    tokens = PARSER.parse(markdown)
    return [
        (int(tok.tag[1]), _inline_text(tokens[i + 1]))
        for i, tok in enumerate(tokens)
        if tok.type == "heading_open"
    ]


def github_anchors(markdown: str) -> list[str]:
    """Anchors as GitHub assigns them (github-slugger): lowercase, punctuation removed,
    spaces to hyphens, repeats numbered -1, -2…"""
    seen: dict[str, int] = {}
    out = []
    for _, text in headings(markdown):
        slug = re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")
        result = slug
        while result in seen:
            seen[slug] += 1
            result = f"{slug}-{seen[slug]}"
        seen[result] = 0
        out.append(result)
    return out


def links(markdown: str) -> list[tuple[str, str]]:
    """(link text, href) of every link in the document."""
    out = []
    for tok in PARSER.parse(markdown):
        children = tok.children or []
        for i, child in enumerate(children):
            if child.type == "link_open":
                text = ""
                for nxt in children[i + 1 :]:
                    if nxt.type == "link_close":
                        break
                    text += nxt.content
                out.append((text, str(child.attrs["href"])))
    return out


def tables(markdown: str) -> list[list[list[str]]]:
    """Every table as rows of cell HTML-free text (header row first)."""
    out: list[list[list[str]]] = []
    rows: list[list[str]] = []
    row: list[str] | None = None
    for tok in PARSER.parse(markdown):
        if tok.type == "table_open":
            rows = []
        elif tok.type == "tr_open":
            row = []
        elif tok.type == "inline" and row is not None:
            row.append(_cell_text(tok))
        elif tok.type == "tr_close" and row is not None:
            rows.append(row)
            row = None
        elif tok.type == "table_close":
            out.append(rows)
    return out


def _cell_text(token: Token) -> str:
    parts = []
    for c in token.children or []:
        if c.type in ("text", "code_inline"):
            parts.append(c.content)
        elif c.type == "html_inline" and c.content == "<br>":
            parts.append("\n")
    return "".join(parts)


def fences(markdown: str) -> list[tuple[str, str]]:
    return [(t.info, t.content) for t in PARSER.parse(markdown) if t.type == "fence"]


# --- tests ---------------------------------------------------------------------------------


def test_snapshot() -> None:
    assert_snapshot("sample.md", render_markdown(sample_schema()))


def test_every_link_resolves_to_a_heading() -> None:
    for schema in (sample_schema(), _clashing_schema(), big_schema(40)):
        markdown = render_markdown(schema)
        anchors = set(github_anchors(markdown))
        # The parser percent-encodes hrefs (`bıgınt`); browsers and GitHub decode them.
        internal = [unquote(href) for _, href in links(markdown) if href.startswith("#")]
        assert internal, "the document links to its own headings"
        unresolved = [href for href in internal if href[1:] not in anchors]
        assert not unresolved


def test_contents_lists_every_table_and_view() -> None:
    schema = sample_schema()
    markdown = render_markdown(schema)
    contents = markdown.split("## Contents", 1)[1].split("\n## ", 1)[0]
    texts = [text for text, _ in links(contents)]
    for t in schema.tables:
        assert f"Table {t.qualified}" in texts
    for v in schema.views:
        kind = "Materialized view" if v.materialized else "View"
        assert f"{kind} {v.qualified}" in texts


def test_foreign_keys_link_to_the_referenced_table() -> None:
    markdown = render_markdown(sample_schema())
    anchors = dict(zip([h for _, h in headings(markdown)], github_anchors(markdown), strict=True))
    target = anchors["Table public.plan"]
    section = _section(markdown, "Table `app.account`")
    assert ("public.plan", f"#{target}") in links(section)
    # Partitions link to their parent, the parent to its partitions, views to what they use.
    assert ("public.payment", f"#{anchors['Table public.payment']}") in links(
        _section(markdown, "Table `public.payment_2024_q1`")
    )
    parent = _section(markdown, "Table `public.payment`")
    assert ("public.payment_2024_q2", f"#{anchors['Table public.payment_2024_q2']}") in links(
        parent
    )
    view = _section(markdown, "View `app.active_account`")
    assert ("app.account", f"#{anchors['Table app.account']}") in links(view)
    # Prefixed dependencies (PostgreSQL): relations, functions (their schema's function
    # table) and types each reach their own heading.
    mv = links(_section(markdown, "Materialized view `public.revenue_by_month`"))
    assert ("public.payment", f"#{anchors['Table public.payment']}") in mv
    assert ("public.group_concat(text)", f"#{anchors['Functions in public']}") in mv
    assert ("public.bıgınt", "#" + quote(anchors["Domain public.bıgınt"])) in mv


def test_same_slug_headings_get_distinct_anchors() -> None:
    markdown = render_markdown(_clashing_schema())
    anchors = github_anchors(markdown)
    assert len(anchors) == len(set(anchors))
    assert "table-xyz" in anchors and "table-xyz-1" in anchors
    section = _section(markdown, "Table `x.ref`")
    hrefs = [href for _, href in links(section)]
    # x has "y.z", x.y has "z": same slug; each FK must reach its own table.
    assert hrefs == ["#table-xyz", "#table-xyz-1"]


def test_pipes_and_newlines_in_cells_keep_the_table_intact() -> None:
    table = Table(
        schema="public",
        name="t",
        columns=(
            Column(
                name="a|b",
                type="text",
                default="('x'::text || 'y'::text)",
                comment="first | line\nsecond line\\|",
            ),
            Column(name="c", type="text", default="'multi\nline'::text"),
        ),
    )
    seq = Sequence(schema="public", name="seq|1", owned_by="public.t.a|b")
    ext = Extension(name="ext|x", version="1|2")
    markdown = render_markdown(
        Schema(dialect="postgres", tables=(table,), sequences=(seq,), extensions=(ext,))
    )
    columns, sequences, extensions = tables(markdown)
    assert [row[0] for row in sequences[1:]] == ["seq|1"]
    assert all(len(row) == len(sequences[0]) for row in sequences)
    assert extensions[1][:2] == ["ext|x", "1|2"]
    assert columns[0] == ["Column", "Type", "Nullable", "Default", "Comment"]
    assert all(len(row) == 5 for row in columns)
    assert columns[1][0] == "a|b"
    assert columns[1][3] == "default ('x'::text || 'y'::text)"
    assert columns[1][4] == "first | line\nsecond line\\|"
    assert columns[2][3] == "default 'multi\nline'::text"


def test_view_definitions_are_fenced_sql() -> None:
    schema = sample_schema()
    blocks = fences(render_markdown(schema))
    for view in schema.views:
        assert ("sql", view.definition.strip("\n") + "\n") in blocks
    # A definition holding a fence of its own gets a longer one.
    tricky = View(schema="s", name="v", definition="SELECT '```' AS fence")
    assert ("sql", "SELECT '```' AS fence\n") in fences(
        render_markdown(Schema(dialect="postgres", views=(tricky,)))
    )
    # Blank lines inside a definition are kept as they are.
    spaced = View(schema="s", name="v", definition="SELECT 1\n\n\n\nUNION ALL SELECT 2")
    assert ("sql", "SELECT 1\n\n\n\nUNION ALL SELECT 2\n") in fences(
        render_markdown(Schema(dialect="postgres", views=(spaced,)))
    )


def test_every_object_kind_appears() -> None:
    markdown = render_markdown(sample_schema())
    titles = [text for _, text in headings(markdown)]
    for title in (
        "Data dictionary",
        "Contents",
        "Schema app",
        "Schema public",
        "Table app.account",
        "View app.active_account",
        "Materialized view public.revenue_by_month",
        "Enum app.account_status",
        "Domain public.year",
        "Composite type public.money_amount",
        "Range type public.floatrange",
        "Sequences in public",
        "Functions in app",
        "Functions in public",
        "Extensions",
        "Other objects",
    ):
        assert title in titles
    account = _section(markdown, "Table `app.account`")
    for label in (
        "**Primary key:**",
        "**Foreign keys:**",
        "**Unique constraints:**",
        "**Check constraints:**",
        "**Indexes:**",
        "**Triggers:**",
        "**Row level security:** enabled, forced.",
        "**Policies:**",
        "**Referenced by:**",
    ):
        assert label in account
    assert "**Exclusion constraints:**" in _section(markdown, "Table `public.plan`")
    functions = [row for t in tables(markdown) for row in t if row and row[0].startswith("insert_")]
    assert functions == [
        [
            "insert_account()",
            "function",
            "trigger",
            "plpgsql",
            "volatile",
            "definer; SET search_path=app, pg_temp",
            "",
        ]
    ]


def test_deterministic_and_independent_of_input_order() -> None:
    schema = sample_schema()
    markdown = render_markdown(schema)
    assert render_markdown(schema) == markdown
    rnd = random.Random(3)
    parts: dict[str, Any] = {}
    for name in ("tables", "views", "functions", "namespaces", "enums", "domains"):
        items = list(getattr(schema, name))
        rnd.shuffle(items)
        parts[name] = tuple(items)
    assert render_markdown(dataclasses.replace(schema, **parts)) == markdown


def test_text_is_escaped_outside_code() -> None:
    table = Table(
        schema="s",
        name="t",
        comment="# not a heading\n- not a list\n<script>alert(1)</script>",
        checks=(CheckConstraint(name="c", expression="(a > 0)\nAND (b > 0)"),),
    )
    markdown = render_markdown(Schema(dialect="postgres", tables=(table,)))
    tokens = PARSER.parse(markdown)
    assert not any(
        t.type in ("html_block", "bullet_list_open") and "script" in t.content for t in tokens
    )
    assert [text for _, text in headings(markdown)].count("not a heading") == 0
    assert "&lt;script>" in markdown
    # A multi-line check becomes a fenced block inside its list item.
    assert ("sql", "c: (a > 0)\nAND (b > 0)\n") in fences(markdown)


def test_backticks_in_names() -> None:
    table = Table(schema="s", name="we`ird", columns=(Column(name="`x`", type="text"),))
    markdown = render_markdown(Schema(dialect="postgres", tables=(table,)))
    assert "Table s.we`ird" in [text for _, text in headings(markdown)]
    (columns,) = tables(markdown)
    assert columns[1][0] == "`x`"


def _section(markdown: str, heading: str) -> str:
    start = markdown.index(f"### {heading}\n")
    end = markdown.find("\n## ", start)
    nxt = markdown.find("\n### ", start + 1)
    stops = [p for p in (end, nxt) if p != -1]
    return markdown[start : min(stops) if stops else len(markdown)]


def _clashing_schema() -> Schema:
    """Two tables whose headings slug alike, and a table referencing both."""
    fk = dict(columns=("id",), ref_columns=("id",))
    return Schema(
        dialect="postgres",
        namespaces=(Namespace(name="x"), Namespace(name="x.y")),
        tables=(
            Table(schema="x", name="y.z", columns=(Column(name="id", type="int"),)),
            Table(schema="x.y", name="z", columns=(Column(name="id", type="int"),)),
            Table(
                schema="x",
                name="ref",
                columns=(Column(name="id", type="int"),),
                foreign_keys=(
                    ForeignKey(name="a", ref_schema="x", ref_table="y.z", **fk),  # type: ignore[arg-type]
                    ForeignKey(name="b", ref_schema="x.y", ref_table="z", **fk),  # type: ignore[arg-type]
                ),
            ),
        ),
    )
