"""A small SQL tokenizer that records where objects are created, for review/locate.py.

It knows comments, strings, quoted identifiers, dollar quotes, psql meta-commands, COPY data
and MySQL `DELIMITER` blocks, groups tokens into statements and records the statements that
create objects (CREATE …, ALTER TABLE … ADD …). Nothing here executes SQL, and an unknown
statement is skipped rather than refused: the files already loaded without error.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

# Token kinds: w word, q quoted identifier, s string, p punctuation, o anything else.
Token = tuple[str, str, int]

_SPACE = r"(?:\s+|--[^\n]*)*"
_COMMON = r"""
  (?P<w>[^\W\d][\w$]*)
| (?P<p>[(),;.=])
| (?P<q>"(?:[^"]|"")*")
| (?P<bq>`(?:[^`]|``)*`)
| (?P<bracket>\[[^\]\n'"]*\])
| (?P<block>/\*)
| (?P<meta>\\[^\n]*)
"""
# PostgreSQL and SQLite: standard strings ('' doubles a quote, a backslash is a character),
# E'' strings with backslash escapes, and dollar quotes.
_STANDARD = re.compile(
    _SPACE
    + r"(?:(?P<e>[Ee]'(?:[^'\\]|\\.|'')*')|"
    + r"(?P<s>'(?:[^']|'')*')|(?P<dollar>\$(?:[^\W\d]\w*)?\$)|"
    + _COMMON
    + r"|(?P<o>\d[\w.]*|\S))",
    re.VERBOSE | re.DOTALL,
)
# MySQL: backslash escapes in strings, `#` comments, executable comments `/*!50705 … */` whose
# contents are code (their markers are skipped, the contents tokenized).
_MYSQL = re.compile(
    _SPACE
    + r"(?:(?P<s>'(?:[^'\\]|\\.|'')*')|(?P<dq>\"(?:[^\"\\]|\\.|\"\")*\")|(?P<hash>\#[^\n]*)|"
    + r"(?P<exec>/\*!\d*)|(?P<endexec>\*/)|"
    + _COMMON
    + r"|(?P<o>\d[\w.]*|\S))",
    re.VERBOSE | re.DOTALL,
)
# Inside a statement that creates nothing (INSERT … VALUES, GRANT …) only its end matters:
# these consume strings, quoted names and comments in bulk and stop at anything that needs
# the tokenizer (`;`, a dollar quote, a block comment, a psql meta-command).
_STANDARD_SKIP = re.compile(
    r"""(?:[^;'"$/\\\-Ee]+|[Ee]'(?:[^'\\]|\\.|'')*'|[Ee]|'(?:[^']|'')*'|"(?:[^"]|"")*"
    |--[^\n]*|/(?!\*)|-|\$(?![^\W\d]\w*\$|\$))*""",
    re.VERBOSE,
)
_MYSQL_SKIP = re.compile(
    r"""(?:[^;'"`/\\\-\#]+|'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*"|`(?:[^`]|``)*`
    |--[^\n]*|\#[^\n]*|/(?!\*)|-)*""",
    re.VERBOSE,
)
_HEADS = frozenset({"CREATE", "ALTER", "SET", "SELECT", "COPY"})
# Which string syntax a file uses is guessed from what each dialect alone writes, outside `--`
# comments (PostgreSQL comments quote names in backticks); the signs are counted, so that one
# stray word does not turn PostgreSQL's `#>>` operator into a MySQL comment.
_MYSQL_SIGNS = re.compile(
    r"`[^`\n]+`|^\s*DELIMITER\s|\bENGINE\s*=|\bAUTO_INCREMENT\b|/\*!\d|\bUNSIGNED\b|\bCHARSET\b"
    r"|^\s*LOCK TABLES\b|^\s*SET NAMES\b",
    re.I | re.M,
)
_LINE_COMMENT = re.compile(r"--[^\n]*")
_SAMPLE = 200_000  # characters read for the guess: the DDL at a file's head tells
_STANDARD_SIGNS = re.compile(r"::|\$\$|^\\[a-z]|\bplpgsql\b|\bOWNER TO\b", re.I | re.M)
_DELIMITER = re.compile(r"DELIMITER[ \t]+(\S+)[^\n]*", re.I)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words that may stand between CREATE and the kind of object it creates.
_MODIFIERS = _words(
    "OR REPLACE GLOBAL LOCAL TEMP TEMPORARY UNLOGGED FOREIGN UNIQUE MATERIALIZED RECURSIVE "
    "CONSTRAINT VIRTUAL DEFINER ALGORITHM UNDEFINED MERGE TEMPTABLE SQL SECURITY INVOKER "
    "CURRENT_USER TRUSTED PROCEDURAL"
)
# CREATE <keyword> → the group its definition is filed under.
_KINDS = {
    word: group
    for group, words in (
        ("relation", "TABLE VIEW SEQUENCE"),
        ("type", "TYPE DOMAIN"),
        ("function", "FUNCTION PROCEDURE AGGREGATE"),
        ("index", "INDEX"),
        ("trigger", "TRIGGER"),
        ("policy", "POLICY"),
        ("schema", "SCHEMA"),
        ("extension", "EXTENSION"),
    )
    for word in words.split()
}
# Finding kinds → the groups that can hold their definition, in order of preference.
_INDEX_WORDS = ("UNIQUE", "KEY", "INDEX", "FULLTEXT", "SPATIAL")
# ALTER TABLE … ADD followed by these adds no column (ALTER COLUMN c ADD GENERATED …).
_NOT_COLUMNS = ("GENERATED", "PARTITION", "VALUE")
OWNED = frozenset({"column", "index", "constraint", "primary", "trigger", "policy"})


@dataclass(frozen=True, slots=True)
class Ident:
    """One identifier as written: quoted ("Name") compares exactly, unquoted ignores case."""

    text: str
    quoted: bool = False

    def matches(self, name: str) -> bool:
        text = self.text if len(name.encode()) != MAX_NAME else truncate_name(self.text)
        return text == name if self.quoted else text.lower() == name.lower()


QName = tuple[Ident | None, Ident]
# PostgreSQL cuts longer identifiers to 63 bytes (with a NOTICE only): the catalog then holds
# a prefix of the name in the file.
MAX_NAME = 63


def truncate_name(name: str) -> str:
    return name.encode()[:MAX_NAME].decode(errors="ignore")


@dataclass(frozen=True, slots=True)
class Definition:
    """Where one object is created: its group (`relation`, `index`, …), name and owner table."""

    group: str
    schema: Ident | None
    name: Ident
    table: QName | None
    file: str
    line: int


def _word(tok: Token | None, *words: str) -> bool:
    return tok is not None and tok[0] == "w" and tok[1].upper() in words


class Scanner:
    """One pass over one file: tokens grouped into statements, definitions recorded."""

    def __init__(self, add: Callable[[Definition], None], text: str, file: str) -> None:
        self.add = add
        self.text = text
        self.file = file
        code = _LINE_COMMENT.sub("", text[:_SAMPLE])
        mysql = len(_MYSQL_SIGNS.findall(code))
        self.mysql = mysql > 0 and mysql > len(_STANDARD_SIGNS.findall(code))
        self.newlines = [m.start() for m in re.finditer("\n", text)]
        self.search_path: Ident | None = None

    def line(self, offset: int) -> int:
        return bisect.bisect_left(self.newlines, offset) + 1

    def run(self) -> None:
        for toks in self._statements():
            if toks:
                self._statement(toks)

    def _statements(self) -> Iterator[list[Token]]:
        text, pattern = self.text, _MYSQL if self.mysql else _STANDARD
        skip = _MYSQL_SKIP if self.mysql else _STANDARD_SKIP
        n, pos, delim = len(text), 0, ";"
        toks: list[Token] = []
        while pos < n:
            if len(toks) == 1 and delim == ";" and toks[0][1].upper() not in _HEADS:
                skipped = skip.match(text, pos)  # never None: it matches the empty string
                pos = skipped.end() if skipped else pos
            m = pattern.match(text, pos)
            if m is None or m.lastgroup is None:  # only whitespace and comments remain
                break
            kind, start, pos = m.lastgroup, m.start(m.lastgroup), m.end()
            value = m.group(kind)
            if delim != ";" and text.startswith(delim, start):
                pos = start + len(delim)
                yield toks
                toks = []
            elif kind == "w":
                if not toks and self.mysql and value.upper() == "DELIMITER":
                    d = _DELIMITER.match(text, start)
                    if d is not None:
                        delim, pos = d.group(1), d.end()
                        continue
                toks.append(("w", value, start))
            elif kind == "p":
                if value == ";" and delim == ";":
                    yield toks
                    if _word(toks[0] if toks else None, "COPY") and any(
                        _word(t, "STDIN") for t in toks
                    ):
                        end = text.find("\n\\.", pos)
                        pos = n if end < 0 else end + 3
                    toks = []
                else:
                    toks.append(("p", value, start))
            elif kind == "q":
                toks.append(("q", value[1:-1].replace('""', '"'), start))
            elif kind == "bq":
                toks.append(("b", value[1:-1].replace("``", "`"), start))
            elif kind == "dq":  # MySQL: an identifier under ANSI_QUOTES, else a string
                toks.append(("b", value[1:-1].replace('""', '"'), start))
            elif kind == "bracket":
                toks.append(("b", value[1:-1], start))
            elif kind in ("s", "e"):
                toks.append(("s", value, start))
            elif kind == "dollar":
                end = text.find(value, pos)
                pos = n if end < 0 else end + len(value)
                toks.append(("s", "", start))
            elif kind == "block":
                pos = self._skip_block(pos)
            elif kind == "meta":
                # A psql meta-command (\connect, \restrict …) ends at the line's end and also
                # ends the statement before it.
                if toks:
                    yield toks
                    toks = []
            elif kind == "o":
                toks.append(("o", value, start))
            # hash comments and executable-comment markers are skipped
        yield toks

    def _skip_block(self, pos: int) -> int:
        """Past a /* comment */; PostgreSQL nests them, MySQL does not."""
        depth, text = 1, self.text
        while depth:
            close = text.find("*/", pos)
            if close < 0:
                return len(text)
            opening = -1 if self.mysql else text.find("/*", pos, close)
            if opening >= 0:
                depth, pos = depth + 1, opening + 2
            else:
                depth, pos = depth - 1, close + 2
        return pos

    # --- statements -------------------------------------------------------------------------

    def _statement(self, toks: list[Token]) -> None:
        head = toks[0][1].upper() if toks[0][0] == "w" else ""
        if head == "CREATE":
            self._create(toks)
        elif head == "ALTER":
            self._alter(toks)
        elif head == "SET":
            self._set(toks)
        elif head == "SELECT" and any(t[0] == "s" and "search_path" in t[1] for t in toks[:8]):
            self.search_path = None  # pg_dump: set_config('search_path', '', false)

    def _set(self, toks: list[Token]) -> None:
        i = 2 if _word(toks[1] if len(toks) > 1 else None, "LOCAL", "SESSION") else 1
        if not (i < len(toks) and _word(toks[i], "SEARCH_PATH")):
            return
        for t in toks[i + 1 :]:
            if t[0] == "s" and t[1].startswith("'"):
                name = t[1][1:-1].replace("''", "'")
                # 'a, b' as one string is a list too; "$user" resolves to a role name.
                first = next((p.strip() for p in name.split(",") if p.strip() != '"$user"'), "")
                quoted = first.startswith('"')
                self.search_path = Ident(first.strip('"'), quoted=quoted) if first else None
                return
            if t[0] in ("w", "q") and not _word(t, "TO", "DEFAULT"):
                if t[1] == "$user":
                    continue
                self.search_path = Ident(t[1], quoted=t[0] == "q")
                return
            if _word(t, "DEFAULT"):
                self.search_path = None
                return

    def _record(self, group: str, name: QName, tok: Token, table: QName | None = None) -> None:
        schema = name[0]
        if group not in OWNED and schema is None:
            schema = self.search_path
        if table is not None and table[0] is None and self.search_path is not None:
            table = (self.search_path, table[1])
        self.add(Definition(group, schema, name[1], table, self.file, self.line(tok[2])))

    def _qname(self, toks: list[Token], i: int) -> tuple[QName | None, int, Token | None]:
        """A dotted name at `i`: (schema, name), the index after it, and its last token."""
        parts: list[Token] = []
        while i < len(toks) and toks[i][0] in ("w", "q", "b"):
            parts.append(toks[i])
            if i + 1 < len(toks) and toks[i + 1][:2] == ("p", "."):
                i += 2
                continue
            i += 1
            break
        if not parts:
            return None, i, None
        idents = [Ident(t[1], quoted=t[0] == "q") for t in parts]
        schema = idents[-2] if len(idents) >= 2 else None
        return (schema, idents[-1]), i, parts[-1]

    def _create(self, toks: list[Token]) -> None:
        i = 1
        while i < len(toks):
            t = toks[i]
            if _word(t, *_MODIFIERS) or t[1] in ("=", "@") or t[0] in ("q", "s", "b"):
                i += 1
            elif t[0] == "w" and i > 1 and toks[i - 1][1] in ("=", "@"):
                i += 1  # DEFINER=root@localhost, ALGORITHM=MERGE
            else:
                break
        if i >= len(toks) or toks[i][0] != "w":
            return
        keyword = toks[i][1].upper()
        group = _KINDS.get(keyword)
        if group is None:
            return
        i += 1
        if keyword == "INDEX" and _word(toks[i] if i < len(toks) else None, "CONCURRENTLY"):
            i += 1
        if i + 2 < len(toks) and _word(toks[i], "IF") and _word(toks[i + 1], "NOT"):
            i += 3
        if keyword == "INDEX":
            self._create_index(toks, i)
            return
        if keyword == "SCHEMA" and _word(toks[i] if i < len(toks) else None, "AUTHORIZATION"):
            i += 1
        name, j, tok = self._qname(toks, i)
        if name is None or tok is None:
            return
        if group in ("trigger", "policy"):
            on = next((k for k in range(j, len(toks)) if _word(toks[k], "ON")), None)
            table = self._qname(toks, on + 1)[0] if on is not None else None
            if table is not None:
                self._record(group, (None, name[1]), tok, table)
            return
        self._record(group, name, tok)
        if keyword == "TABLE" and j < len(toks) and toks[j][1] == "(":
            self._table_body(toks, j, name)

    def _create_index(self, toks: list[Token], i: int) -> None:
        if i >= len(toks):
            return
        name, j, tok = (None, i, None) if _word(toks[i], "ON") else self._qname(toks, i)
        if not _word(toks[j] if j < len(toks) else None, "ON"):
            return
        j += 1
        if _word(toks[j] if j < len(toks) else None, "ONLY"):
            j += 1
        table = self._qname(toks, j)[0]
        if name is not None and tok is not None and table is not None:
            # SQLite qualifies the index, not the table; both live in the same schema.
            table = (table[0] or name[0], table[1])
            self._record("index", (None, name[1]), tok, table)

    def _table_body(self, toks: list[Token], start: int, table: QName) -> None:
        depth, element = 0, list[Token]()
        for t in toks[start:]:
            if t[0] == "p" and t[1] in ("(", ")", ","):
                if t[1] == "(":
                    depth += 1
                    if depth == 1:
                        continue
                elif t[1] == ")":
                    depth -= 1
                    if depth == 0:
                        self._element(element, table)
                        return
                elif depth == 1:
                    self._element(element, table)
                    element = []
                    continue
            element.append(t)

    def _element(self, el: list[Token], table: QName) -> None:
        """One item of a CREATE TABLE body: a column or a table constraint/index."""
        if not el:
            return
        first = el[0]
        if _word(first, "CONSTRAINT"):
            name, j, tok = self._qname(el, 1)
            if name is not None and tok is not None:
                self._record("constraint", name, tok, table)
            if _word(el[j] if j < len(el) else None, "PRIMARY"):
                self._record("primary", (None, Ident("")), first, table)
            return
        if self._is_table_key(el):
            self._table_key(el, table)
            return
        if first[0] not in ("w", "q", "b"):
            return
        self._record("column", (None, Ident(first[1], quoted=first[0] == "q")), first, table)
        for k, t in enumerate(el):
            if _word(t, "CONSTRAINT"):
                name, _, tok = self._qname(el, k + 1)
                if name is not None and tok is not None:
                    self._record("constraint", name, tok, table)
            elif _word(t, "PRIMARY"):
                self._record("primary", (None, Ident("")), first, table)

    def _is_table_key(self, el: list[Token]) -> bool:
        """A table constraint or key, not a column that happens to be called `key` or
        `exclude` (legal column names in PostgreSQL and SQLite, reserved in MySQL)."""
        word = el[0][1].upper() if el[0][0] == "w" else ""
        if word in ("PRIMARY", "UNIQUE", "CHECK", "FOREIGN", "LIKE"):
            return True
        if word == "EXCLUDE":
            return len(el) > 1 and (el[1][1] == "(" or _word(el[1], "USING"))
        return self.mysql and word in _INDEX_WORDS

    def _table_key(self, el: list[Token], table: QName) -> None:
        """PRIMARY KEY (…), UNIQUE [KEY] name (…), KEY name (…) — MySQL names its keys here."""
        if _word(el[0], "PRIMARY"):
            self._record("primary", (None, Ident("")), el[0], table)
            self._record("index", (None, Ident("PRIMARY")), el[0], table)
            return
        if not _word(el[0], *_INDEX_WORDS):
            return
        j = 1
        while j < len(el) and _word(el[j], "KEY", "INDEX"):
            j += 1
        name, k, tok = self._qname(el, j)
        if name is None and self.mysql and j + 1 < len(el) and el[j][1] == "(":
            # MySQL names an unnamed key after its first column.
            first = el[j + 1]
            self._record("index", (None, Ident(first[1], quoted=first[0] == "q")), el[0], table)
            return
        after = el[k] if k < len(el) else None
        if name is None or tok is None or _word(tok, "USING"):
            return
        if after is not None and (after[1] == "(" or _word(after, "USING")):
            self._record("index", name, tok, table)

    def _alter(self, toks: list[Token]) -> None:
        i = 1
        if _word(toks[i] if i < len(toks) else None, "IGNORE", "ONLINE"):
            i += 1
        if not _word(toks[i] if i < len(toks) else None, "TABLE"):
            return
        i += 1
        while _word(toks[i] if i < len(toks) else None, "IF", "EXISTS", "ONLY"):
            i += 1
        table, j, _ = self._qname(toks, i)
        if table is None:
            return
        depth = 0
        for k in range(j, len(toks) - 1):
            t = toks[k]
            if t[0] == "p" and t[1] in "()":
                depth += 1 if t[1] == "(" else -1
            if depth or not _word(t, "ADD"):
                continue
            nxt = toks[k + 1]
            if _word(nxt, "CONSTRAINT"):
                self._element(toks[k + 1 :], table)
            elif self._is_table_key(toks[k + 1 :]):
                self._table_key(toks[k + 1 :], table)
            elif not _word(nxt, *_NOT_COLUMNS):
                m = k + 2 if _word(nxt, "COLUMN") else k + 1
                if m + 2 < len(toks) and _word(toks[m], "IF") and _word(toks[m + 1], "NOT"):
                    m += 3
                if m < len(toks) and toks[m][0] in ("w", "q", "b"):
                    col = Ident(toks[m][1], quoted=toks[m][0] == "q")
                    self._record("column", (None, col), toks[m], table)
