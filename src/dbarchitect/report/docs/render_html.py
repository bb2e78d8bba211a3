"""Documents as static HTML pages: one self-contained file each (inline CSS, the ERD as inline
SVG), no scripts and no external assets, so the site opens from a file system or an archive."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

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
from dbarchitect.report.docs.render_md import href
from dbarchitect.report.markdown_syntax import github_slug

CSS = """
:root { color-scheme: light; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: #1f2328; background: #ffffff; }
header { background: #24292f; color: #ffffff; padding: 10px 24px; }
header a { color: #ffffff; margin-right: 18px; text-decoration: none; }
header a.current { font-weight: 600; border-bottom: 2px solid #ffffff; }
main { max-width: 1320px; margin: 0 auto; padding: 8px 24px 48px; }
h1 { font-size: 28px; border-bottom: 1px solid #d0d7de; padding-bottom: 6px; }
h2 { font-size: 22px; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; margin-top: 32px; }
h3 { font-size: 18px; margin-top: 24px; }
h4 { font-size: 16px; }
code { font: 13px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
       background: #f6f8fa; padding: 1px 4px; border-radius: 4px; }
pre { background: #f6f8fa; padding: 12px; border-radius: 6px; overflow: auto; }
pre code { background: none; padding: 0; }
table { border-collapse: collapse; margin: 8px 0 16px; }
th, td { border: 1px solid #d0d7de; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
nav.toc ul { margin: 0; }
figure.erd { margin: 16px 0; padding: 8px; border: 1px solid #d0d7de; border-radius: 6px;
             overflow: auto; background: #ffffff; }
figure.erd svg { display: block; max-width: 100%; height: auto; }
figure.erd figcaption { color: #57606a; font-size: 13px; }
.cards { display: flex; gap: 16px; flex-wrap: wrap; margin: 16px 0; }
.card { flex: 1 1 280px; border: 1px solid #d0d7de; border-radius: 6px; padding: 8px 16px; }
.card h2 { border: none; margin-top: 8px; }
"""

PAGES = (
    ("index", "Overview"),
    ("database-design", "Design"),
    ("database-optimization", "Optimization"),
    ("database-operations", "Operations"),
)
"""The site's pages in navigation order: file stem and label."""


def page(title: str, body: str, *, current: str, pages: Sequence[str] = ()) -> str:
    """A complete HTML page: the navigation bar (to the pages in `pages`), then `body`."""
    nav = []
    for stem, label in PAGES:
        if stem != "index" and stem not in pages:
            continue
        mark = ' class="current"' if stem == current else ""
        nav.append(f'<a href="{stem}.html"{mark}>{escape(label)}</a>')
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        f"<header><nav>{''.join(nav)}</nav></header>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )


def render_html(
    doc: Document, site: Mapping[str, Anchors] | None = None, *, pages: Sequence[str] = ()
) -> str:
    """`doc` as one HTML page; links to other documents point at their `.html` pages."""
    own = anchors(doc)
    links = {**(site or {}), doc.name: own}
    out = [f'<h1 id="{github_slug(doc.title)}">{escape(doc.title)}</h1>']
    out += [_block(b, doc.name, links) for b in doc.intro]
    sections = list(walk(doc))
    if len(sections) > 3:
        items = []
        for (level, section), anchor in zip(sections, own.in_order, strict=True):
            if level <= 3:
                label = _inline(section.title, doc.name, links, linked=False)
                items.append((level, f'<a href="#{anchor}">{label}</a>'))
        out.append('<nav class="toc"><h2 id="contents">Contents</h2>' + _nested(items) + "</nav>")
    for (level, section), anchor in zip(sections, own.in_order, strict=True):
        title = _inline(section.title, doc.name, links, linked=False)
        out.append(f'<h{min(level, 6)} id="{anchor}">{title}</h{min(level, 6)}>')
        out += [_block(b, doc.name, links) for b in section.blocks]
    return page(doc.title, "\n".join(out), current=doc.name, pages=pages)


def _nested(items: list[tuple[int, str]]) -> str:
    # Levels 2 and 3 only: a flat list whose level-3 entries sit in a nested list.
    html, open_sub = ["<ul>"], False
    for level, label in items:
        if level == 3 and not open_sub:
            html.append("<ul>")
            open_sub = True
        elif level == 2 and open_sub:
            html.append("</ul>")
            open_sub = False
        html.append(f"<li>{label}</li>")
    if open_sub:
        html.append("</ul>")
    html.append("</ul>")
    return "".join(html)


def diagram_html(d: Diagram, caption: str = "Entity-relationship diagram") -> str:
    """The ERD: Graphviz's SVG inline, else the Mermaid source to paste into a viewer."""
    if d.svg:
        inner = d.svg
    else:
        inner = f'<pre class="mermaid-source"><code>{escape(d.mermaid)}</code></pre>'
        caption += " (Mermaid source: Graphviz was not available to draw it)"
    return (
        f'<figure class="erd" id="erd">{inner}<figcaption>{escape(caption)}</figcaption></figure>'
    )


def _block(block: Block, here: str, links: Mapping[str, Anchors]) -> str:
    if isinstance(block, Paragraph):
        return f"<p>{_inline(block.parts, here, links)}</p>"
    if isinstance(block, Table):
        head = "".join(f"<th>{escape(h)}</th>" for h in block.header)
        body = "".join(
            "<tr>" + "".join(f"<td>{_inline(c, here, links)}</td>" for c in row) + "</tr>"
            for row in block.rows
        )
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    if isinstance(block, CodeBlock):
        lang = f' class="language-{escape(block.lang)}"' if block.lang else ""
        return f"<pre><code{lang}>{escape(block.text.strip(chr(10)))}</code></pre>"
    if isinstance(block, BulletList):
        items = "".join(f"<li>{_inline(i, here, links)}</li>" for i in block.items)
        return f"<ul>{items}</ul>"
    if isinstance(block, Diagram):
        return diagram_html(block)
    raise TypeError(f"unknown block {block!r}")


def _inline(parts: Text, here: str, links: Mapping[str, Anchors], *, linked: bool = True) -> str:
    return "".join(_part(p, here, links, linked=linked) for p in parts)


def _part(p: Inline, here: str, links: Mapping[str, Anchors], *, linked: bool) -> str:
    if isinstance(p, str):
        return escape(p)
    if isinstance(p, Code):
        return f"<code>{escape(p.text)}</code>"
    if isinstance(p, Strong):
        return f"<strong>{escape(p.text)}</strong>"
    return _link(p, here, links, linked=linked)


def _link(p: Link, here: str, links: Mapping[str, Anchors], *, linked: bool) -> str:
    label = f"<code>{escape(p.label)}</code>" if p.code else escape(p.label)
    target = href(p, here, links, suffix=".html") if linked else None
    return f'<a href="{escape(target)}">{label}</a>' if target else label
