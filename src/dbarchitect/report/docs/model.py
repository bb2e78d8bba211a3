"""A tiny document model: sections of paragraphs, tables, code blocks, lists and diagrams.

The documents (design, optimization, operations) are built once as values and rendered twice,
to Markdown and to HTML, so both say exactly the same. Text that comes from a database (names,
comments, SQL) is carried as data and escaped by each renderer for its own syntax. Anchors are
assigned here, the way GitHub assigns them to Markdown headings, so a link works in both forms.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from dbarchitect.report.markdown_syntax import github_slug


@dataclass(frozen=True, slots=True)
class Code:
    """Inline code: a name, a setting, a short expression."""

    text: str


@dataclass(frozen=True, slots=True)
class Strong:
    text: str


@dataclass(frozen=True, slots=True)
class Link:
    """A link to a section: `key` names it (see `Section.key`), `doc` the document that holds
    it (None: the same one). An unknown key renders as its plain label."""

    label: str
    key: str
    doc: str | None = None
    code: bool = True


Inline = str | Code | Strong | Link
Text = tuple[Inline, ...]


@dataclass(frozen=True, slots=True)
class Paragraph:
    parts: Text


@dataclass(frozen=True, slots=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[Text, ...], ...]


@dataclass(frozen=True, slots=True)
class CodeBlock:
    text: str
    lang: str = ""


@dataclass(frozen=True, slots=True)
class BulletList:
    items: tuple[Text, ...]


@dataclass(frozen=True, slots=True)
class Diagram:
    """The ERD: Mermaid source for Markdown viewers, and Graphviz's SVG when it was drawn."""

    mermaid: str
    svg: str | None = None


Block = Paragraph | Table | CodeBlock | BulletList | Diagram


@dataclass(frozen=True, slots=True)
class Section:
    """A heading with its blocks and subsections; `key` lets links find it."""

    title: Text
    blocks: tuple[Block, ...] = ()
    subsections: tuple[Section, ...] = ()
    key: str | None = None


@dataclass(frozen=True, slots=True)
class Document:
    """One document: `name` is its file stem (`database-design`), `title` its first heading."""

    name: str
    title: str
    intro: tuple[Block, ...] = ()
    sections: tuple[Section, ...] = ()


@dataclass(slots=True)
class Anchors:
    """Every heading's anchor in document order, and the anchors that `Link.key`s name."""

    by_key: dict[str, str] = field(default_factory=dict)
    in_order: list[str] = field(default_factory=list)


def text(*parts: Inline) -> Text:
    """A run of inline parts; empty strings are dropped."""
    return tuple(p for p in parts if p != "")


_TICKS = re.compile(r"`([^`]+)`")


def prose(words: str) -> Text:
    """Text in which `backticks` mark code, as the dialects write their advice."""
    out: list[Inline] = []
    at = 0
    for m in _TICKS.finditer(words):
        out.append(words[at : m.start()])
        out.append(Code(m.group(1)))
        at = m.end()
    out.append(words[at:])
    return text(*out)


def para(*parts: Inline) -> Paragraph:
    return Paragraph(text(*parts))


def plain(parts: Text) -> str:
    """The text a reader sees, without markup (headings are slugged from this)."""
    return "".join(
        p if isinstance(p, str) else p.text if not isinstance(p, Link) else p.label for p in parts
    )


def walk(doc: Document) -> Iterator[tuple[int, Section]]:
    """Every section with its heading level (2 for top-level sections), in document order."""

    def visit(section: Section, level: int) -> Iterator[tuple[int, Section]]:
        yield level, section
        for sub in section.subsections:
            yield from visit(sub, level + 1)

    for section in doc.sections:
        yield from visit(section, 2)


def anchors(doc: Document) -> Anchors:
    """Anchors as GitHub derives them (slug of the heading text, `-1`, `-2`… for repeats);
    the title and the contents heading come first, as the renderers write them."""
    seen: dict[str, int] = {}
    out = Anchors()

    def unique(slug: str) -> str:
        result = slug
        while result in seen:
            seen[slug] += 1
            result = f"{slug}-{seen[slug]}"
        seen[result] = 0
        return result

    unique(github_slug(doc.title))
    unique("contents")
    for _, section in walk(doc):
        anchor = unique(github_slug(plain(section.title)))
        out.in_order.append(anchor)
        if section.key is not None:
            out.by_key.setdefault(section.key, anchor)
    return out
