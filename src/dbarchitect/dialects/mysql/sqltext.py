"""Small lexical helpers over MySQL text as the server prints it (views, defaults, options)."""

from __future__ import annotations

from dbarchitect.dialects.mysql.quoting import backtick
from dbarchitect.engines.mysql_guard import end_of_quoted


def _end_quoted(text: str, start: int) -> int:
    """Index just past the quoted token starting at `start`, or the end of an unclosed one."""
    return end_of_quoted(text, start) or len(text)


def unbacktick(token: str) -> str:
    """`a``b` → a`b."""
    return token[1:-1].replace("``", "`")


def unqualify(text: str, database: str) -> tuple[str, frozenset[str]]:
    """Drop the `database`. qualifier the server adds to names in stored SQL.

    MariaDB stores a view as `select `db`.`t`.`c` … from `db`.`t``; the same view loaded in
    another database must compare equal, so the current database's name goes. Returns the
    text and the names it refers to (qualified names and called functions). String literals
    and other databases' names are left alone.
    """
    qualifier = backtick(database)
    out: list[str] = []
    refs: set[str] = set()
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in "'\"`":
            j = _end_quoted(text, i)
            token = text[i:j]
            if c == "`" and token == qualifier and text.startswith(".`", j):
                k = _end_quoted(text, j + 1)
                refs.add(unbacktick(text[j + 1 : k]))
                i = j + 1
                continue
            if c == "`" and text.startswith("(", j):
                refs.add(unbacktick(token))  # a stored function call: `f`(…)
            out.append(token)
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out), frozenset(refs)


def split_options(create_options: str) -> list[tuple[str, str]]:
    """information_schema CREATE_OPTIONS (`row_format=COMPRESSED `PAGE_COMPRESSED`='ON'`)
    as (key, value) pairs; bare flags such as `partitioned` are left out."""
    out: list[tuple[str, str]] = []
    i, n = 0, len(create_options)
    while i < n:
        while i < n and create_options[i].isspace():
            i += 1
        start = i
        while i < n and not create_options[i].isspace():
            if create_options[i] in "'\"`":
                i = _end_quoted(create_options, i)
            else:
                i += 1
        token = create_options[start:i]
        if "=" in token:
            key, value = token.split("=", 1)
            if key.startswith("`"):
                key = unbacktick(key)
            out.append((key.lower(), value))
    return out
