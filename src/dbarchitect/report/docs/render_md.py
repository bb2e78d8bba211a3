"""Documents as GitHub Markdown: headings with their GitHub anchors, a contents list, tables,
fenced code and the ERD as a Mermaid block (GitHub draws it)."""

from __future__ import annotations

from collections.abc import Mapping

from dbarchitect.report.docs.model import (
    Anchors,
    Block,
    BulletList,
    Code,
    CodeBlock,
    Diagram,
    Document,
    Inline,
    Link,
    Paragraph,
    Strong,
    Table,
    Text,
    anchors,
    walk,
)
from dbarchitect.report.markdown_syntax import (
    cell_code,
    cell_text,
    code,
    escape_text,
    fenced,
    table,
)


def render_markdown(doc: Document, site: Mapping[str, Anchors] | None = None) -> str:
    """`doc` as Markdown; `site` holds the other documents' anchors for links between them."""
    own = anchors(doc)
    links = {**(site or {}), doc.name: own}
    out: list[str] = [f"# {escape_text(doc.title)}", ""]
    for block in doc.intro:
        out += [*_block(block, doc.name, links), ""]
    sections = list(walk(doc))
    if len(sections) > 3:
        out += ["## Contents", ""]
        for (level, section), anchor in zip(sections, own.in_order, strict=True):
            if level <= 3:
                label = _inline(section.title, doc.name, links, in_cell=False)
                out.append(f"{'  ' * (level - 2)}- [{label}](#{anchor})")
        out.append("")
    for level, section in sections:
        out += [f"{'#' * level} {_inline(section.title, doc.name, links, in_cell=False)}", ""]
        for block in section.blocks:
            out += [*_block(block, doc.name, links), ""]
    return "\n".join(out).rstrip("\n") + "\n"


def _block(block: Block, here: str, links: Mapping[str, Anchors]) -> list[str]:
    if isinstance(block, Paragraph):
        return [_inline(block.parts, here, links, in_cell=False)]
    if isinstance(block, Table):
        rows = [[_inline(cell, here, links, in_cell=True) for cell in row] for row in block.rows]
        return table([cell_text(h) for h in block.header], rows)
    if isinstance(block, CodeBlock):
        return fenced(block.text.strip("\n"), block.lang)
    if isinstance(block, BulletList):
        return [f"- {_inline(item, here, links, in_cell=False)}" for item in block.items]
    if isinstance(block, Diagram):
        return fenced(block.mermaid.strip("\n"), "mermaid")
    raise TypeError(f"unknown block {block!r}")


def _inline(parts: Text, here: str, links: Mapping[str, Anchors], *, in_cell: bool) -> str:
    return "".join(_part(p, here, links, in_cell=in_cell) for p in parts)


def _part(p: Inline, here: str, links: Mapping[str, Anchors], *, in_cell: bool) -> str:
    if isinstance(p, str):
        return cell_text(p) if in_cell else escape_text(p)
    if isinstance(p, Code):
        return cell_code(p.text) if in_cell else code(p.text)
    if isinstance(p, Strong):
        inner = cell_text(p.text) if in_cell else escape_text(p.text, blocks=False)
        return f"**{inner}**"
    label = _label(p, in_cell=in_cell)
    target = href(p, here, links, suffix=".md")
    return f"[{label}]({target})" if target else label


def _label(link: Link, *, in_cell: bool) -> str:
    if link.code:
        return cell_code(link.label) if in_cell else code(link.label)
    return cell_text(link.label) if in_cell else escape_text(link.label, blocks=False)


def href(link: Link, here: str, links: Mapping[str, Anchors], *, suffix: str) -> str | None:
    """The link's target (`#anchor` or `other.md#anchor`), None when the key is unknown."""
    doc = link.doc or here
    if link.key == "":
        return f"{doc}{suffix}"
    found = links.get(doc)
    anchor = found.by_key.get(link.key) if found else None
    if anchor is None:
        return None
    return f"#{anchor}" if doc == here else f"{doc}{suffix}#{anchor}"
