"""The statement guard for read-only MySQL/MariaDB sessions, the first of two layers.

The server's own READ ONLY transaction is the second layer. This one refuses, before anything
is sent, text that is not exactly one reading statement. It lexes the text the way the server
does (quotes, backticks, `#`, `-- `, `/* */` comments) rather than with a general SQL parser,
because the dangerous cases are lexical: `--x` is not a comment to MySQL, and an executable
comment `/*! … */` is code to the server but a comment to every other parser. The session
sets its sql_mode without ANSI_QUOTES and NO_BACKSLASH_ESCAPES so these lexing rules hold.
"""

from __future__ import annotations

from dataclasses import dataclass

from dbarchitect.errors import ReadOnlyViolation

_READING_FIRST = frozenset({"SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXPLAIN", "VALUES"})
# Words that turn a SELECT into a write, a file write or a lock, wherever they appear.
_NEVER = {
    "INTO": "SELECT … INTO writes a file or variables",
    "LOCK": "LOCK IN SHARE MODE locks rows",
    "SHARE": "FOR SHARE locks rows",
    "UPDATE": "FOR UPDATE locks rows",
    "NEXTVAL": "NEXTVAL advances a sequence",
    "SETVAL": "SETVAL changes a sequence",
}
# After EXPLAIN/DESCRIBE: statements it would analyse (or, for ANALYZE, run).
_NOT_EXPLAINED = frozenset({"INSERT", "DELETE", "REPLACE", "ANALYZE", "UPDATE"})
_EXPLAIN_OPTIONS = frozenset({"EXTENDED", "PARTITIONS", "FORMAT", "=", "JSON", "TRADITIONAL"})


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # "word", "string", "ident", "punct"
    text: str


def refuse(why: str) -> ReadOnlyViolation:
    return ReadOnlyViolation(f"refused on a read-only session: {why}")


def tokenize(sql: str) -> list[Token]:
    """Split MySQL text into tokens, dropping comments; refuse executable comments."""
    out: list[Token] = []
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        if c.isspace():
            i += 1
        elif c == "#" or (sql.startswith("--", i) and (i + 2 == n or _is_blank(sql[i + 2]))):
            nl = sql.find("\n", i)
            i = n if nl < 0 else nl + 1
        elif sql.startswith("/*", i):
            if sql.startswith(("/*!", "/*M!", "/*m!"), i):
                raise refuse("executable comments /*! … */ are not allowed")
            end = sql.find("*/", i + 2)
            if end < 0:
                raise refuse("unterminated comment")
            i = end + 2
        elif c in "'\"`":
            j = _end_of_quoted(sql, i)
            kind = "ident" if c == "`" else "string"
            out.append(Token(kind, sql[i:j]))
            i = j
        elif c.isalnum() or c in "_$@" or ord(c) > 127:
            j = i + 1
            while j < n and (sql[j].isalnum() or sql[j] in "_$@." or ord(sql[j]) > 127):
                j += 1
            for part in sql[i:j].split("."):
                if part:
                    out.append(Token("word", part.upper()))
            i = j
        else:
            out.append(Token("punct", c))
            i += 1
    return out


def _is_blank(c: str) -> bool:
    # MySQL: "--" starts a comment only when followed by a space or a control character.
    return c.isspace() or ord(c) < 32


def end_of_quoted(sql: str, start: int) -> int | None:
    """Index just past the quoted token at `start` ('…', "…" or `…`); None if unterminated.

    Quotes double to escape themselves, and a backslash escapes in strings but not in
    backtick identifiers, as the server reads them.
    """
    quote = sql[start]
    i, n = start + 1, len(sql)
    while i < n:
        c = sql[i]
        if c == "\\" and quote != "`":
            i += 2
        elif c == quote:
            if i + 1 < n and sql[i + 1] == quote:
                i += 2
            else:
                return i + 1
        else:
            i += 1
    return None


def _end_of_quoted(sql: str, start: int) -> int:
    end = end_of_quoted(sql, start)
    if end is None:
        raise refuse("unterminated quoted text")
    return end


def check_read_only_mysql(sql: str) -> None:
    """Raise ReadOnlyViolation unless `sql` is one SELECT/SHOW/DESCRIBE/EXPLAIN statement."""
    tokens = tokenize(sql)
    if tokens and tokens[-1].text == ";":
        tokens.pop()
    if not tokens:
        raise refuse("empty statement")
    if any(t.kind == "punct" and t.text == ";" for t in tokens):
        raise refuse("several statements (one at a time)")
    words = [t.text for t in tokens if t.kind == "word"]
    lead = next((t for t in tokens if t.text != "("), tokens[0])
    if lead.kind != "word" or lead.text not in _READING_FIRST:
        raise refuse(f"{lead.text[:20]} is not a read")
    for word in words:
        if word in _NEVER:
            raise refuse(_NEVER[word])
    if lead.text in ("EXPLAIN", "DESCRIBE", "DESC"):
        rest = [t.text for t in tokens[tokens.index(lead) + 1 :]]
        target = next((w for w in rest if w not in _EXPLAIN_OPTIONS), "")
        if target in _NOT_EXPLAINED:
            raise refuse(f"{lead.text} {target} is not allowed")
