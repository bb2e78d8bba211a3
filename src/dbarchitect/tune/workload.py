"""The workload from files: a .sql file of queries (with optional weights) or a server log,
grouped by fingerprint.

A .sql file is split by a small lexer that knows the quoting of the engines we read (strings
with '' and E'\\'' escapes, "identifiers", `identifiers`, $tag$ bodies$tag$, nested /* */
comments, BEGIN … END bodies of CREATE statements), so statements keep their exact text and
the line they start on. Weights come from the comments right before a statement:

    -- calls: 120
    -- weight: 3        (multiplies calls and total_ms: the statement counts three times)
    -- total_ms: 5400
    SELECT …;

What cannot be analysed (a parse error, DDL, SET, a psql meta-command, a bad weight) becomes a
Skipped entry with the reason and file:line; it never aborts the run.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from dbarchitect.errors import InputError
from dbarchitect.tune.model import LogEvent, Query, Skipped, Workload

Fingerprint = Callable[[str], str]

# Leading keywords of the statements a workload is made of: what a planner plans.
QUERY_KEYWORDS = frozenset({"SELECT", "WITH", "INSERT", "UPDATE", "DELETE", "VALUES", "TABLE"})
QUERY_KEYWORDS_EXTRA = frozenset({"MERGE", "REPLACE"})

# `calls: 120`, `weight: 3`, `total_ms: 5400`, alone or several separated by commas, at the
# start of a comment: "-- this query calls: the API" is prose, not a weight.
_WEIGHT = re.compile(
    r"(?:^|[,;])\s*(calls|weight|total_ms)\s*[:=]\s*([^\s,;]+)(?=[\s,;]|$)", re.IGNORECASE
)
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
_DOLLAR = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")


def read_sql_workload(path: Path, fingerprint: Fingerprint) -> Workload:
    """The statements of a .sql file grouped by fingerprint, with their weights; every
    statement that cannot be analysed becomes a Skipped entry naming file:line."""
    text = _read_text(path)
    queries: list[Query] = []
    skipped: list[Skipped] = []
    for stmt in split_statements(text):
        where = f"{path.name}:{stmt.line}"
        if stmt.meta:
            skipped.append(Skipped(source=where, reason="psql meta-command", text=stmt.text))
            continue
        try:
            fp = fingerprint(stmt.text)
        except InputError as exc:
            skipped.append(Skipped(source=where, reason=str(exc), text=stmt.text))
            continue
        keyword = _first_keyword(stmt.text)
        if keyword == "EXPLAIN":
            reason = "EXPLAIN: list the statement itself, without EXPLAIN"
            skipped.append(Skipped(source=where, reason=reason, text=stmt.text))
            continue
        if keyword not in QUERY_KEYWORDS | QUERY_KEYWORDS_EXTRA:
            reason = f"not a query ({keyword or 'empty'}): only DML is tuned"
            skipped.append(Skipped(source=where, reason=reason, text=stmt.text))
            continue
        try:
            calls, total_ms = _weights(stmt.comments)
        except InputError as exc:
            skipped.append(Skipped(source=where, reason=str(exc), text=stmt.text))
            continue
        queries.append(
            Query(fingerprint=fp, text=stmt.text, calls=calls, total_ms=total_ms, source=where)
        )
    return group(queries, skipped)


def load_workload(
    paths: Sequence[Path], fingerprint: Fingerprint
) -> tuple[Workload, list[LogEvent]]:
    """Every file's workload merged by fingerprint, and the log events found (for N+1).

    Each file is read as what its content is: a PostgreSQL stderr, csv or json log, or else a
    .sql file of statements."""
    # pglog groups through this module, so it is imported here rather than at the top.
    from dbarchitect.tune import pglog

    workloads: list[Workload] = []
    events: list[LogEvent] = []
    for path in paths:
        head = _read_text(path, limit=64 * 1024)
        if pglog.sniff(head) is not None:
            workload, found = pglog.read_pg_log(path, fingerprint)
            workloads.append(workload)
            events.extend(found)
        else:
            workloads.append(read_sql_workload(path, fingerprint))
    return merge(workloads), events


def group(queries: Iterable[Query], skipped: Iterable[Skipped] = ()) -> Workload:
    """One Query per fingerprint: calls and time summed, the first text and source kept,
    sorted by total time, then calls, then fingerprint."""
    by_fp: dict[str, Query] = {}
    for q in queries:
        seen = by_fp.get(q.fingerprint)
        if seen is None:
            by_fp[q.fingerprint] = q
        else:
            by_fp[q.fingerprint] = Query(
                fingerprint=q.fingerprint,
                text=seen.text,
                calls=seen.calls + q.calls,
                total_ms=seen.total_ms + q.total_ms,
                source=seen.source,
            )
    ordered = sorted(by_fp.values(), key=lambda q: (-q.total_ms, -q.calls, q.fingerprint))
    return Workload(queries=tuple(ordered), skipped=tuple(skipped))


def merge(workloads: Sequence[Workload]) -> Workload:
    """Several workloads as one, grouped by fingerprint (the first file's text is kept);
    skipped statements in input order."""
    return group(
        (q for w in workloads for q in w.queries), (s for w in workloads for s in w.skipped)
    )


def _read_text(path: Path, *, limit: int | None = None) -> str:
    try:
        with path.open("rb") as fh:
            data = fh.read(limit) if limit is not None else fh.read()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a workload file") from None
    except OSError as exc:
        raise InputError(f"{path}: {exc.strerror}") from None
    data = data.removeprefix(b"\xef\xbb\xbf")  # a byte-order mark is not part of any statement
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if limit is not None and exc.start >= len(data) - 4:
            return data[: exc.start].decode("utf-8")  # cut inside a character by the limit
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(f"{path}:{line}: not UTF-8 text") from None


def _weights(comments: Sequence[str]) -> tuple[int, float]:
    """(calls, total_ms) from the comments before a statement; InputError on a bad value."""
    calls, weight, total_ms = 1, 1, 0.0
    for comment in comments:
        body = comment.removeprefix("--").removeprefix("/*").removesuffix("*/").strip()
        for key, raw in _WEIGHT.findall(body):
            key = key.lower()
            value = raw.replace("_", "").replace(",", "")
            if key == "total_ms":
                try:
                    total_ms = float(value)
                except ValueError:
                    total_ms = -1.0
                if not total_ms >= 0 or total_ms == float("inf"):
                    raise InputError(f"total_ms must be a number of milliseconds, got {raw!r}")
                continue
            if not value.isdigit() or int(value) < 1:
                raise InputError(f"{key} must be a positive whole number, got {raw!r}")
            if key == "calls":
                calls = int(value)
            else:
                weight = int(value)
    return calls * weight, total_ms * weight


def is_query(text: str) -> bool:
    """Whether `text` starts like a statement a planner plans (SELECT, WITH, INSERT, …)."""
    return _first_keyword(text) in QUERY_KEYWORDS | QUERY_KEYWORDS_EXTRA


def _first_keyword(text: str) -> str:
    m = _WORD.search(text.lstrip("( \t\r\n"))
    return m.group(0).upper() if m else ""


# ---------------------------------------------------------------------------------------------
# Splitting


@dataclass(frozen=True, slots=True)
class Statement:
    text: str  # exact original text, without the leading comments and the final semicolon
    line: int  # 1-based line the statement's first character is on
    comments: tuple[str, ...] = ()  # the comments between the previous statement and this one
    meta: bool = False  # a psql meta-command line (\set, \timing …)


def split_statements(text: str) -> list[Statement]:
    """`text` cut into statements at top-level semicolons, each with its start line and the
    comments right before it. Statements are exact slices of `text` (trailing space trimmed)."""
    out: list[Statement] = []
    lexer = _Lexer(text)
    while True:
        stmt = lexer.next_statement()
        if stmt is None:
            return out
        out.append(stmt)


class _Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def line_of(self, offset: int) -> int:
        lo, hi = 0, len(self.line_starts)
        while lo + 1 < hi:  # bisect: the last line start at or before offset
            mid = (lo + hi) // 2
            if self.line_starts[mid] <= offset:
                lo = mid
            else:
                hi = mid
        return lo + 1

    def next_statement(self) -> Statement | None:
        text, n = self.text, len(self.text)
        comments: list[str] = []
        # Leading blanks and comments: they belong to the gap before the statement.
        while self.pos < n:
            ch = text[self.pos]
            if ch.isspace() or ch == ";":
                self.pos += 1
            elif text.startswith("--", self.pos):
                end = self._line_end(self.pos)
                comments.append(text[self.pos : end])
                self.pos = end
            elif text.startswith("/*", self.pos):
                end = self._block_comment(self.pos)
                comments.append(text[self.pos : end])
                self.pos = end
            else:
                break
        if self.pos >= n:
            return None
        start = self.pos
        if text[start] == "\\":
            end = self._line_end(start)
            self.pos = end
            return Statement(text=text[start:end].rstrip(), line=self.line_of(start), meta=True)
        end = self._statement_end(start)
        self.pos = end + 1
        return Statement(
            text=text[start:end].rstrip(), line=self.line_of(start), comments=tuple(comments)
        )

    def _statement_end(self, start: int) -> int:
        """Offset of the semicolon ending the statement at `start` (or the end of text)."""
        text, n = self.text, len(self.text)
        i, depth = start, 0
        creating = text[start : start + 6].upper() == "CREATE" and not _ident_char(text, start + 6)
        blocks = cases = 0  # BEGIN … END bodies (CREATE TRIGGER, BEGIN ATOMIC) and CASE … END
        first_semicolon: int | None = None  # where to cut if a BEGIN never meets its END
        while i < n:
            ch = text[i]
            if ch == ";" and depth == 0:
                if blocks == 0:
                    return i
                if first_semicolon is None:
                    first_semicolon = i
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth = max(0, depth - 1)
            elif ch == "'":
                escapes = i > 0 and text[i - 1] in "eE" and not _ident_char(text, i - 2)
                i = self._quoted(i, "'", backslash=escapes)
                continue
            elif ch in '"`':
                i = self._quoted(i, ch, backslash=False)
                continue
            elif ch == "$" and not _ident_char(text, i - 1):
                end = self._dollar(i)
                if end is not None:
                    i = end
                    continue
            elif text.startswith("--", i):
                i = self._line_end(i)
                continue
            elif text.startswith("/*", i):
                i = self._block_comment(i)
                continue
            elif creating and (ch.isalpha() or ch == "_") and not _ident_char(text, i - 1):
                m = _WORD.match(text, i)
                assert m is not None
                word = m.group(0).upper()
                if word == "BEGIN" and depth == 0:
                    blocks += 1
                elif word == "CASE" and blocks:
                    cases += 1
                elif word == "END" and blocks:
                    if cases:
                        cases -= 1
                    else:
                        blocks -= 1
                i = m.end()
                continue
            i += 1
        return n if first_semicolon is None else first_semicolon

    def _line_end(self, i: int) -> int:
        end = self.text.find("\n", i)
        return len(self.text) if end < 0 else end

    def _block_comment(self, i: int) -> int:
        text, n, depth = self.text, len(self.text), 0
        while i < n:
            if text.startswith("/*", i):
                depth += 1
                i += 2
            elif text.startswith("*/", i):
                depth -= 1
                i += 2
                if depth == 0:
                    return i
            else:
                i += 1
        return n

    def _quoted(self, i: int, quote: str, *, backslash: bool) -> int:
        """Offset just past the quoted token opening at `i` (a doubled quote stays inside)."""
        text, n = self.text, len(self.text)
        i += 1
        while i < n:
            ch = text[i]
            if backslash and ch == "\\":
                i += 2
                continue
            if ch == quote:
                if i + 1 < n and text[i + 1] == quote:
                    i += 2
                    continue
                return i + 1
            i += 1
        return n

    def _dollar(self, i: int) -> int | None:
        """Offset past a $tag$ … $tag$ body opening at `i`; None when `$` starts no body
        (a $1 parameter, an identifier character)."""
        m = _DOLLAR.match(self.text, i)
        if m is None:
            return None
        close = self.text.find(m.group(0), m.end())
        return len(self.text) if close < 0 else close + len(m.group(0))


def _ident_char(text: str, i: int) -> bool:
    return 0 <= i < len(text) and (text[i].isalnum() or text[i] in "_$")
