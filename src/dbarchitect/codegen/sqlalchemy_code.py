"""Python source layout for generated modules, in the form `ruff format` leaves unchanged.

Code is built as a small tree (calls, lists, dicts, atoms) and laid out the way the formatter
would: on one line when it fits in the line length, otherwise one element per line with a
trailing comma (the "magic trailing comma" keeps that layout stable under `ruff format`).
String literals are written with the formatter's quote preference.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

LINE_LENGTH = 100


@dataclass(frozen=True, slots=True)
class Node:
    """A piece of code: `head` + elements between `open` and `close` (or an atom when
    `open` is empty)."""

    head: str
    items: tuple[Node, ...] = ()
    open: str = ""
    close: str = ""
    # A one-element tuple needs its comma even on one line.
    single_comma: bool = False
    multiline: bool = field(default=False)


def atom(text: str) -> Node:
    """Code that is laid out as is (a name, a number, a string literal)."""
    return Node(text, multiline="\n" in text)


def call(func: str, *args: Node | str, **kwargs: Node | str | None) -> Node:
    """`func(args…, key=value…)`; keyword arguments whose value is None are left out."""
    items = [_node(a) for a in args]
    items += [kw(k, v) for k, v in kwargs.items() if v is not None]
    return Node(func, tuple(items), "(", ")")


def kw(name: str, value: Node | str) -> Node:
    """`name=value` as one element of a call."""
    node = _node(value)
    return Node(
        f"{name}=" + node.head, node.items, node.open, node.close, node.single_comma, node.multiline
    )


def seq(items: Sequence[Node | str], kind: str = "[") -> Node:
    """A list (`[`), tuple (`(`) or set literal of elements."""
    close = {"[": "]", "(": ")", "{": "}"}[kind]
    nodes = tuple(_node(i) for i in items)
    return Node("", nodes, kind, close, single_comma=kind == "(" and len(nodes) == 1)


def mapping(pairs: Sequence[tuple[str, Node | str]]) -> Node:
    """A dict literal with string keys."""
    nodes = []
    for key, value in pairs:
        node = _node(value)
        nodes.append(
            Node(
                f"{string(key)}: " + node.head,
                node.items,
                node.open,
                node.close,
                node.single_comma,
                node.multiline,
            )
        )
    return Node("", tuple(nodes), "{", "}")


def _node(value: Node | str) -> Node:
    return atom(value) if isinstance(value, str) else value


def flat(node: Node) -> str:
    """The node on one line (multi-line strings stay as they are)."""
    if not node.open:
        return node.head
    inner = ", ".join(flat(i) for i in node.items)
    if node.single_comma:
        inner += ","
    return f"{node.head}{node.open}{inner}{node.close}"


def _has_multiline(node: Node) -> bool:
    return node.multiline or any(_has_multiline(i) for i in node.items)


def layout(node: Node, indent: int, prefix: str = "", suffix: str = "") -> list[str]:
    """Lines for `prefix + node + suffix` at `indent` spaces, exploded where too long."""
    pad = " " * indent
    one = flat(node)
    fits = indent + len(prefix) + len(one) + len(suffix) <= LINE_LENGTH
    if not node.open or not node.items or (fits and not _has_multiline(node)):
        text = f"{pad}{prefix}{one}{suffix}"
        return text.split("\n")
    lines = [f"{pad}{prefix}{node.head}{node.open}"]
    for item in node.items:
        lines += layout(item, indent + 4, suffix=",")
    lines.append(f"{pad}{node.close}{suffix}")
    return lines


def annotated(target: str, generic: str, argument: str, node: Node, indent: int) -> list[str]:
    """`target: generic[argument] = node` as the formatter lays it out: the value split at its
    own brackets when its first line fits; else the value in parentheses; else (a very long
    name and annotation) the annotation's brackets split."""
    pad = " " * indent
    head = f"{target}: {generic}[{argument}] = "
    if indent + len(head) + len(node.head) + len(node.open) <= LINE_LENGTH or not node.open:
        return layout(node, indent, prefix=head)
    if indent + len(head) + 1 <= LINE_LENGTH:
        return [f"{pad}{head}(", *layout(node, indent + 4), f"{pad})"]
    return [
        f"{pad}{target}: {generic}[",
        f"{pad}    {argument}",
        *layout(node, indent, prefix="] = "),
    ]


def string(text: str) -> str:
    """A string literal in the quotes `ruff format` prefers (double unless that escapes more)."""
    quote = "'" if text.count('"') > text.count("'") else '"'
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch == quote:
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 32 or ord(ch) == 127 or 0xD800 <= ord(ch) <= 0xDFFF:
            out.append(f"\\x{ord(ch):02x}" if ord(ch) < 256 else f"\\u{ord(ch):04x}")
        elif not ch.isprintable():
            out.append(f"\\u{ord(ch):04x}" if ord(ch) < 0x10000 else f"\\U{ord(ch):08x}")
        else:
            out.append(ch)
    return quote + "".join(out) + quote


def sql_string(text: str) -> str:
    """SQL as a literal: triple-quoted over several lines when that reads better and is exact
    (no trailing spaces, no characters that need escapes), else a one-line literal."""
    lines = text.split("\n")
    plain = all(
        line == line.rstrip() and all(ch.isprintable() or ch == "\t" for ch in line)
        for line in lines
    )
    if len(lines) == 1 or not plain or "\t" in text or text.endswith('"'):
        return string(text)
    body = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    return '"""' + body + '"""'


def docstring(text: str, indent: int) -> list[str]:
    """A docstring from free text: one line, whitespace collapsed, made safe to quote."""
    clean = " ".join(text.split()).replace("\\", "\\\\").replace('"', "'")
    return [" " * indent + f'"""{clean}"""']


__all__ = [
    "LINE_LENGTH",
    "Node",
    "annotated",
    "atom",
    "call",
    "docstring",
    "flat",
    "kw",
    "layout",
    "mapping",
    "seq",
    "sql_string",
    "string",
]
