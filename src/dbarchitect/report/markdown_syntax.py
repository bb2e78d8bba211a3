"""Markdown syntax for reports: code spans, fences, table cells, escaping, GitHub anchors.

Everything here follows CommonMark plus GitHub's table extension (GFM): text that comes from a
database (names, comments, SQL) must never change the document's structure, so each helper
escapes exactly what its context needs.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence


def github_slug(text: str) -> str:
    """The anchor GitHub derives from a heading's text (before de-duplication)."""
    kept = (
        ch
        for ch in text.strip().lower()
        if ch in "-_ " or unicodedata.category(ch)[0] in ("L", "M", "N")
    )
    return "".join(kept).replace(" ", "-")


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A GFM table; the cells must already be escaped (`cell_code`, `cell_text`)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def fenced(text: str, lang: str) -> list[str]:
    """A fenced code block, its fence longer than any run of backticks inside `text`."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence + lang, *text.split("\n"), fence]


def code(text: str) -> str:
    """An inline code span that survives backticks in `text` (CommonMark rules). Line breaks
    become spaces, as a code span would show them anyway, so no line can start a block."""
    text = text.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def cell_code(text: str | None) -> str:
    """Code inside a table cell: pipes escaped (GFM), each line its own span joined by <br>."""
    if text is None or text == "":
        return ""
    lines = text.replace("\r\n", "\n").split("\n")
    return "<br>".join(_escape_pipes(code(line)) for line in lines)


def _escape_pipes(cell: str) -> str:
    # GFM splits rows at every pipe not escaped by an odd run of backslashes, even inside
    # code spans: double the backslashes before a pipe and add one.
    return re.sub(r"(\\*)\|", lambda m: m.group(1) * 2 + "\\|", cell)


def cell_text(text: str | None) -> str:
    """Plain text inside a table cell: escaped, pipes escaped, line breaks as <br>."""
    if not text:
        return ""
    return escape_text(text, blocks=False).replace("|", "\\|").replace("\n", "<br>")


def escape_text(text: str, *, blocks: bool = True) -> str:
    """Plain text as Markdown: no raw HTML and, with `blocks`, no line that starts a block."""
    text = text.replace("\r\n", "\n").replace("\\", "\\\\")
    text = text.replace("&", "&amp;").replace("<", "&lt;")
    if not blocks:
        return text
    return "\n".join(_escape_line_start(line) for line in text.split("\n"))


def _escape_line_start(line: str) -> str:
    line = re.sub(r"^(\s*)([#>+*=|~`-])", r"\1\\\2", line)
    return re.sub(r"^(\s*\d+)([.)])", r"\1\\\2", line)


def heading_text(markdown: str) -> str:
    """The text GitHub slugs for a heading: code spans lose their backticks."""
    return re.sub(r"(`+) ?(.*?) ?\1", r"\2", markdown)
