"""Reading SQLite's stored CREATE statements for what its pragmas do not report.

SQLite keeps each object's CREATE text in sqlite_master. The pragmas give columns, keys and
index columns, but not constraint names, CHECK expressions, generated-column expressions,
column collations, DEFERRABLE, AUTOINCREMENT, index expressions or WHERE clauses, nor the parts
of views and triggers. A small tokenizer finds those; every expression is returned as the exact
text span SQLite stored, so rendering it back and reading it again gives the same text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

TokenKind = Literal["word", "ident", "string", "blob", "number", "op"]


@dataclass(frozen=True, slots=True)
class Token:
    kind: TokenKind
    text: str
    start: int
    end: int

    @property
    def value(self) -> str:
        """The name this token spells: quotes removed, doubled quotes undone."""
        if self.kind in ("ident", "string") and len(self.text) >= 2:
            inner = self.text[1:-1]
            first = self.text[0]
            return inner if first == "[" else inner.replace(first * 2, first)
        return self.text

    def is_kw(self, *words: str) -> bool:
        return self.kind == "word" and self.text.upper() in words


def _word_char(ch: str) -> bool:
    return ch.isalnum() or ch in "_$" or ord(ch) >= 0x80


def tokenize(sql: str) -> list[Token]:
    """SQLite tokens with their offsets; whitespace and comments are dropped."""
    out: list[Token] = []
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch.isspace():
            i += 1
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end + 1
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            i = n if end < 0 else end + 2
        elif ch in "xX" and i + 1 < n and sql[i + 1] == "'":
            end = _close_quote(sql, i + 1, "'")
            out.append(Token("blob", sql[i:end], i, end))
            i = end
        elif ch in "'\"`[":
            end = _close_quote(sql, i, "]" if ch == "[" else ch)
            kind: TokenKind = "string" if ch == "'" else "ident"
            out.append(Token(kind, sql[i:end], i, end))
            i = end
        elif ch.isdigit() or (ch == "." and i + 1 < n and sql[i + 1].isdigit()):
            j = i + 1
            while j < n and (sql[j].isalnum() or sql[j] in "._"):
                # An exponent's sign belongs to the number (1e-5).
                j += 2 if sql[j] in "eE" and j + 1 < n and sql[j + 1] in "+-" else 1
            out.append(Token("number", sql[i:j], i, j))
            i = j
        elif _word_char(ch):
            j = i + 1
            while j < n and _word_char(sql[j]):
                j += 1
            out.append(Token("word", sql[i:j], i, j))
            i = j
        else:
            out.append(Token("op", ch, i, i + 1))
            i += 1
    return out


def _close_quote(sql: str, i: int, close: str) -> int:
    """The offset just past the quote that closes the one at `i` (doubled quotes escape)."""
    j = i + 1
    while True:
        k = sql.find(close, j)
        if k < 0:
            return len(sql)
        if close != "]" and sql.startswith(close * 2, k):
            j = k + 2
            continue
        return k + 1


class _Cursor:
    """A position in a token list with the few moves the CREATE grammars need."""

    def __init__(self, sql: str, tokens: list[Token] | None = None) -> None:
        self.sql = sql
        self.toks = tokenize(sql) if tokens is None else tokens
        self.i = 0

    def at(self, k: int = 0) -> Token | None:
        j = self.i + k
        return self.toks[j] if 0 <= j < len(self.toks) else None

    def kw(self, *words: str) -> bool:
        tok = self.at()
        return tok is not None and tok.is_kw(*words)

    def op(self, char: str) -> bool:
        tok = self.at()
        return tok is not None and tok.kind == "op" and tok.text == char

    def accept(self, *words: str) -> bool:
        """Consume the keywords `words` in sequence if they are all next."""
        for k, word in enumerate(words):
            tok = self.at(k)
            if tok is None or not tok.is_kw(word):
                return False
        self.i += len(words)
        return True

    def name(self) -> str:
        tok = self.at()
        if tok is None:
            return ""
        self.i += 1
        return tok.value

    def qualified_name(self) -> str:
        """`schema.name` or `name`; the schema part is dropped (only main is read)."""
        value = self.name()
        if self.op("."):
            self.i += 1
            value = self.name()
        return value

    def group(self) -> tuple[int, int]:
        """At '(' consume through the matching ')'; the token range strictly inside."""
        depth, first = 0, self.i + 1
        while self.i < len(self.toks):
            tok = self.toks[self.i]
            self.i += 1
            if tok.kind == "op" and tok.text == "(":
                depth += 1
            elif tok.kind == "op" and tok.text == ")":
                depth -= 1
                if depth == 0:
                    return first, self.i - 1
        return first, len(self.toks)

    def span(self, a: int, b: int) -> str:
        """The stored text of tokens a..b-1 (comments inside kept, outer whitespace not)."""
        if a >= b:
            return ""
        return self.sql[self.toks[a].start : self.toks[b - 1].end]

    def split(self, a: int, b: int) -> list[tuple[int, int]]:
        """Token ranges of the top-level comma-separated items in a..b-1."""
        items, depth, start = [], 0, a
        for j in range(a, b):
            tok = self.toks[j]
            if tok.kind == "op" and tok.text == "(":
                depth += 1
            elif tok.kind == "op" and tok.text == ")":
                depth -= 1
            elif tok.kind == "op" and tok.text == "," and depth == 0:
                items.append((start, j))
                start = j + 1
        if start < b:
            items.append((start, b))
        return items

    def skip_create(self, *kinds: str) -> None:
        """Move past CREATE [TEMP] [UNIQUE|VIRTUAL] <kind> [IF NOT EXISTS]."""
        self.accept("CREATE")
        for modifier in ("TEMP", "TEMPORARY", "UNIQUE", "VIRTUAL"):
            self.accept(modifier)
        for kind in kinds:
            if self.accept(kind):
                break
        self.accept("IF", "NOT", "EXISTS")


# --- CREATE TABLE ------------------------------------------------------------------------------

ConstraintKind = Literal["pk", "unique", "check", "fk"]


@dataclass(frozen=True, slots=True)
class Constraint:
    """One PRIMARY KEY, UNIQUE, CHECK or FOREIGN KEY, column- or table-level; name "" if none."""

    kind: ConstraintKind
    name: str = ""
    columns: tuple[str, ...] = ()
    expression: str = ""
    ref_table: str = ""
    ref_columns: tuple[str, ...] = ()
    deferrable: bool = False
    initially_deferred: bool = False
    autoincrement: bool = False


@dataclass(frozen=True, slots=True)
class CreateTable:
    name: str
    constraints: tuple[Constraint, ...] = ()
    collations: Mapping[str, str] = field(default_factory=dict)
    generated: Mapping[str, str] = field(default_factory=dict)
    without_rowid: bool = False
    strict: bool = False
    module: str | None = None
    module_args: str | None = None


_TABLE_CONSTRAINT_START = ("CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN")


def parse_create_table(sql: str) -> CreateTable:
    """Names, expressions and options of a stored CREATE [VIRTUAL] TABLE statement."""
    cur = _Cursor(sql)
    if len(cur.toks) > 1 and cur.toks[1].is_kw("VIRTUAL"):
        cur.skip_create("TABLE")
        name = cur.qualified_name()
        cur.accept("USING")
        module = cur.name()
        args = None
        if cur.op("("):
            a, _ = cur.group()
            close = cur.toks[cur.i - 1]
            args = sql[cur.toks[a - 1].end : close.start].strip()
        return CreateTable(name=name, module=module, module_args=args)
    cur.skip_create("TABLE")
    name = cur.qualified_name()
    if not cur.op("("):
        return CreateTable(name=name)  # CREATE TABLE … AS SELECT: SQLite stores a plain form
    a, b = cur.group()
    constraints: list[Constraint] = []
    collations: dict[str, str] = {}
    generated: dict[str, str] = {}
    for start, end in cur.split(a, b):
        first = cur.toks[start]
        if first.is_kw(*_TABLE_CONSTRAINT_START):
            constraints.extend(_table_constraints(cur, start, end))
        else:
            _column(cur, start, end, constraints, collations, generated)
    without_rowid = strict = False
    while cur.at() is not None:
        if cur.accept("WITHOUT", "ROWID"):
            without_rowid = True
        elif cur.accept("STRICT"):
            strict = True
        else:
            cur.i += 1
    return CreateTable(
        name=name,
        constraints=tuple(constraints),
        collations=collations,
        generated=generated,
        without_rowid=without_rowid,
        strict=strict,
    )


def _column(
    cur: _Cursor,
    start: int,
    end: int,
    constraints: list[Constraint],
    collations: dict[str, str],
    generated: dict[str, str],
) -> None:
    cur.i = start
    column = cur.name()
    cols = (column,)
    pending = ""
    while cur.i < end:
        tok = cur.toks[cur.i]
        name, pending = pending, ""
        if cur.accept("CONSTRAINT"):
            pending = cur.name()
        elif cur.accept("PRIMARY", "KEY"):
            cur.accept("ASC") or cur.accept("DESC")
            _skip_conflict(cur)
            auto = cur.accept("AUTOINCREMENT")
            constraints.append(Constraint("pk", name, cols, autoincrement=auto))
        elif cur.accept("UNIQUE"):
            _skip_conflict(cur)
            constraints.append(Constraint("unique", name, cols))
        elif cur.accept("CHECK"):
            a, b = cur.group()
            constraints.append(Constraint("check", name, expression=cur.span(a, b)))
        elif cur.accept("REFERENCES"):
            constraints.append(_references(cur, end, name, cols))
        elif cur.accept("COLLATE"):
            collations[column] = cur.name()
        elif cur.accept("DEFAULT"):
            if cur.op("("):
                cur.group()
            else:
                cur.i += 2 if cur.op("-") or cur.op("+") else 1
        elif cur.accept("GENERATED", "ALWAYS") or cur.accept("AS"):
            if cur.accept("AS") or cur.op("("):
                a, b = cur.group()
                generated[column] = cur.span(a, b)
        elif tok.is_kw("NOT", "NULL"):
            cur.accept("NOT")
            cur.accept("NULL")
            _skip_conflict(cur)
        else:
            cur.i += 1  # the type's words and parenthesised size, STORED/VIRTUAL, …


def _skip_conflict(cur: _Cursor) -> None:
    if cur.accept("ON", "CONFLICT"):
        cur.i += 1


def _table_constraints(cur: _Cursor, start: int, end: int) -> list[Constraint]:
    # SQLite accepts table constraints without a comma between them, so one comma-separated
    # item may hold several.
    out: list[Constraint] = []
    cur.i = start
    while cur.i < end:
        name = cur.name() if cur.accept("CONSTRAINT") else ""
        if cur.accept("PRIMARY", "KEY") or cur.accept("UNIQUE"):
            kind: ConstraintKind = "pk" if cur.toks[cur.i - 1].is_kw("KEY") else "unique"
            a, b = cur.group()
            items = cur.split(a, b)
            cols = tuple(cur.toks[x].value for x, _ in items)
            auto = any(cur.toks[y - 1].is_kw("AUTOINCREMENT") for _, y in items)
            _skip_conflict(cur)
            out.append(Constraint(kind, name, cols, autoincrement=auto))
        elif cur.accept("CHECK"):
            a, b = cur.group()
            _skip_conflict(cur)
            out.append(Constraint("check", name, expression=cur.span(a, b)))
        elif cur.accept("FOREIGN", "KEY"):
            a, b = cur.group()
            cols = tuple(cur.toks[x].value for x, _ in cur.split(a, b))
            cur.accept("REFERENCES")
            out.append(_references(cur, end, name, cols))
        else:
            cur.i += 1
    return out


def _references(cur: _Cursor, end: int, name: str, cols: tuple[str, ...]) -> Constraint:
    """The rest of a foreign key after REFERENCES: parent, its columns, clauses."""
    table = cur.name()
    ref_cols: tuple[str, ...] = ()
    if cur.op("("):
        a, b = cur.group()
        ref_cols = tuple(cur.toks[x].value for x, _ in cur.split(a, b))
    deferrable = deferred = False
    while cur.i < end:
        if cur.accept("ON"):
            # ON DELETE|UPDATE <action>: the actions themselves come from the pragma.
            cur.i += 1
            two_words = cur.kw("SET", "NO")
            cur.i += 2 if two_words else 1
        elif cur.accept("MATCH"):
            cur.i += 1
        elif cur.accept("NOT", "DEFERRABLE") or cur.accept("DEFERRABLE"):
            deferrable = not cur.toks[cur.i - 2].is_kw("NOT")
            if cur.accept("INITIALLY"):
                deferred = cur.accept("DEFERRED") or not cur.accept("IMMEDIATE")
        else:
            break
    return Constraint(
        "fk",
        name,
        cols,
        ref_table=table,
        ref_columns=ref_cols,
        deferrable=deferrable,
        # SQLite defers only DEFERRABLE INITIALLY DEFERRED; anything else checks at once.
        initially_deferred=deferrable and deferred,
    )


# --- CREATE INDEX, VIEW, TRIGGER ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IndexTerm:
    """One indexed term: `ident` is its name when it is a bare column, else None."""

    text: str
    ident: str | None = None
    collation: str | None = None
    descending: bool = False


@dataclass(frozen=True, slots=True)
class CreateIndex:
    terms: tuple[IndexTerm, ...]
    where: str | None = None


def parse_create_index(sql: str) -> CreateIndex:
    """The indexed terms (with COLLATE and DESC) and the WHERE of a partial index."""
    cur = _Cursor(sql)
    cur.skip_create("INDEX")
    cur.qualified_name()
    cur.accept("ON")
    cur.name()
    a, b = cur.group()
    terms = []
    for x, y in cur.split(a, b):
        descending = False
        if cur.toks[y - 1].is_kw("ASC", "DESC"):
            descending = cur.toks[y - 1].is_kw("DESC")
            y -= 1
        collation = None
        if y - x >= 3 and cur.toks[y - 2].is_kw("COLLATE"):
            collation = cur.toks[y - 1].value
            y -= 2
        only = cur.toks[x] if y - x == 1 else None
        ident = only.value if only is not None and only.kind in ("word", "ident") else None
        terms.append(IndexTerm(cur.span(x, y), ident, collation, descending))
    where = cur.span(cur.i, len(cur.toks)) if cur.accept("WHERE") else None
    return CreateIndex(tuple(terms), where)


@dataclass(frozen=True, slots=True)
class CreateView:
    body: str
    column_list: tuple[str, ...] | None = None


def parse_create_view(sql: str) -> CreateView:
    """The SELECT of a view as stored, and its explicit column list if it has one."""
    cur = _Cursor(sql)
    cur.skip_create("VIEW")
    cur.qualified_name()
    columns = None
    if cur.op("("):
        a, b = cur.group()
        columns = tuple(cur.toks[x].value for x, _ in cur.split(a, b))
    cur.accept("AS")
    return CreateView(cur.span(cur.i, len(cur.toks)), columns)


@dataclass(frozen=True, slots=True)
class CreateTrigger:
    timing: Literal["BEFORE", "AFTER", "INSTEAD OF"]
    event: str
    columns: tuple[str, ...]
    table: str
    when: str | None


def parse_create_trigger(sql: str) -> CreateTrigger:
    """Timing, event, table and WHEN condition of a stored CREATE TRIGGER."""
    cur = _Cursor(sql)
    cur.skip_create("TRIGGER")
    cur.qualified_name()
    timing: Literal["BEFORE", "AFTER", "INSTEAD OF"] = "BEFORE"  # SQLite's default
    if cur.accept("AFTER"):
        timing = "AFTER"
    elif cur.accept("INSTEAD", "OF"):
        timing = "INSTEAD OF"
    else:
        cur.accept("BEFORE")
    event = cur.name().upper()
    columns: list[str] = []
    if event == "UPDATE" and cur.accept("OF"):
        columns.append(cur.name())
        while cur.op(","):
            cur.i += 1
            columns.append(cur.name())
    cur.accept("ON")
    table = cur.qualified_name()
    cur.accept("FOR", "EACH", "ROW")
    when = None
    if cur.accept("WHEN"):
        start = cur.i
        while cur.at() is not None and not cur.kw("BEGIN"):
            cur.i += 1
        when = cur.span(start, cur.i)
    return CreateTrigger(timing, event, tuple(columns), table, when)


def referenced_names(sql: str) -> set[str]:
    """Every identifier-like token of `sql`, lower-cased (a superset of the names it uses)."""
    return {t.value.lower() for t in tokenize(sql) if t.kind in ("word", "ident")}
