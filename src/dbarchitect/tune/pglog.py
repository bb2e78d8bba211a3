"""The workload and the statement events of a PostgreSQL server log.

Three layouts are read: stderr (any log_line_prefix: the prefix is whatever precedes the
severity, and the timestamp %m/%t/%n, session id %c, process id %p and transaction id
xid=%x are picked out of it), csvlog and jsonlog. What counts as an execution:

- `duration: X ms  statement: …` and `duration: X ms  execute <name>: …` (with its
  `DETAIL:  parameters: $1 = '…'`), from log_min_duration_statement;
- `statement: …` / `execute …: …` from log_statement, completed by the bare `duration: X ms`
  that follows in the same session;
- auto_explain's `duration: X ms  plan:` with `Query Text:` and a text or JSON plan, counted
  once when the same execution is also logged by log_min_duration_statement.

parse and bind durations are not executions and are ignored, as is every other line. Only
statements a planner plans (SELECT, INSERT, UPDATE, DELETE, …) make the workload; the
utility statements a log is full of (BEGIN, SET, COMMIT) are summed up in one Skipped entry
per kind.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from dbarchitect.errors import InputError
from dbarchitect.tune.model import LogEvent, Query, Skipped, Workload
from dbarchitect.tune.workload import group, is_query

LogFormat = Literal["stderr", "csv", "json"]

_SEVERITIES = frozenset(
    {"LOG", "ERROR", "WARNING", "NOTICE", "INFO", "FATAL", "PANIC", "DETAIL", "HINT"}
    | {"CONTEXT", "STATEMENT", "QUERY", "LOCATION", "DEBUG"}
    | {f"DEBUG{n}" for n in range(1, 6)}
)
MAX_PREFIX = 300  # characters: a log_line_prefix is short, a statement line may not be
_TS = re.compile(
    r"(?P<ts>\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:\.\d+)?)"
    r"(?:\s?(?P<tz>Z|[+-]\d{2}(?::?\d{2})?|[A-Z]{2,5}\b))?"
)
_EPOCH = re.compile(r"(?<![\d.])(?P<epoch>\d{10}\.\d{3})(?![\d.])")
_SESSION = re.compile(r"(?<![\w.])(?P<sid>[0-9a-f]{8}\.[0-9a-f]{1,8})(?![\w.])")
_PID = re.compile(r"\[(?P<pid>\d+)\]|\bpid[=:](?P<pid2>\d+)")
_XID = re.compile(r"\b(?:xid|txid|tx|xact)[=:](?P<xid>\d+)")
_CSV_START = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)?(?: [A-Za-z0-9+:-]+)?,")

_DURATION = re.compile(r"duration: (?P<ms>\d+(?:\.\d+)?) ms(?P<rest>.*)\Z", re.DOTALL)
_WHAT = re.compile(
    r"(?P<kind>statement|execute|parse|bind|plan)(?P<name> [^:\n]*)?:(?: |\n|\Z)(?P<text>.*)\Z",
    re.DOTALL,
)
_PARAM = re.compile(r"\$(?P<n>\d+) = (?P<v>NULL|'(?:[^']|'')*'(?:\.\.\.)?)")
# A text-format plan line: a node with its estimate or its actual figures.
_PLAN_NODE = re.compile(r"\((?:cost=|actual )|\(never executed\)")
_QUERY_WORD = re.compile(r"[A-Za-z]+")


def sniff(head: str) -> LogFormat | None:
    """Which PostgreSQL log layout `head` (the start of a file) is in, or None. The first
    line decides csv and json; a stderr log may start with a few lines of something else
    (pg_ctl's own messages), so its first 50 lines are looked at."""
    lines = [ln.rstrip("\r") for ln in head.splitlines()]
    lines = [ln for ln in lines if ln.strip() and not ln.startswith("\t")][:50]
    if not lines:
        return None
    first = lines[0]
    if first.startswith('{"timestamp"') or (first.startswith("{") and '"error_severity"' in first):
        return "json"
    if _CSV_START.match(first):
        return "csv"
    for line in lines:
        parts = _split_line(line)
        if parts is None:
            continue
        prefix = parts[0]
        if _looks_like_prefix(prefix) or (line is first and not prefix.strip()):
            return "stderr"
    return None


def read_pg_log(path: Path, fingerprint: Callable[[str], str]) -> tuple[Workload, list[LogEvent]]:
    """The statements a PostgreSQL log records, grouped by fingerprint with their calls and
    total time, and one LogEvent per execution (time, session, text, parameters) for N+1
    detection. InputError when nothing in the file looks like a PostgreSQL log line."""
    try:
        with path.open("rb") as fh:
            head = fh.read(64 * 1024).decode("utf-8", errors="replace")
    except OSError as exc:
        raise InputError(f"{path}: {exc.strerror or exc}") from None
    kind = sniff(head) or "stderr"
    reader = {"stderr": _stderr_entries, "csv": _csv_entries, "json": _json_entries}[kind]
    builder = _Builder(path.name, fingerprint)
    seen = 0
    for entry in reader(path):
        seen += 1
        builder.add(entry)
    if seen == 0:
        raise InputError(f"{path}: no PostgreSQL log lines found (stderr, csvlog or jsonlog)")
    return builder.result()


# ---------------------------------------------------------------------------------------------
# Entries: one logged message with its prefix facts, whatever the layout


@dataclass(slots=True)
class _Entry:
    line: int
    at: float | None
    session: str
    severity: str
    message: str
    detail: str = ""


def _stderr_entries(path: Path) -> Iterator[_Entry]:
    current: _Entry | None = None
    with path.open(encoding="utf-8", errors="replace", newline="") as fh:
        for number, raw in enumerate(fh, start=1):
            line = raw.rstrip("\r\n")
            if line.startswith("\t"):
                if current is not None:  # a message's next line: PostgreSQL indents it by a tab
                    current.message += "\n" + line[1:]
                continue
            if current is not None:
                yield current
                current = None
            parts = _split_line(line)
            if parts is None:
                continue
            prefix, severity, message = parts
            at, session = _prefix_facts(prefix)
            if at is None and not session and prefix.strip() and not _looks_like_prefix(prefix):
                continue
            current = _Entry(number, at, session, severity, message)
    if current is not None:
        yield current


def _split_line(line: str) -> tuple[str, str, str] | None:
    """(prefix, severity, message) of a line PostgreSQL wrote as `<prefix>SEVERITY:  message`
    (two spaces), or None. The first severity word followed by ":  " wins."""
    at = line.find(":  ")
    while 0 <= at <= MAX_PREFIX + 10:
        start = at
        while start > 0 and (line[start - 1].isupper() or line[start - 1].isdigit()):
            start -= 1
        word = line[start:at]
        if word in _SEVERITIES and (
            start == 0 or not (line[start - 1].isalnum() or line[start - 1] == "_")
        ):
            return line[:start], word, line[at + 3 :]
        at = line.find(":  ", at + 1)
    return None


def _csv_entries(path: Path) -> Iterator[_Entry]:
    # A logged statement can be longer than the csv module's default field limit (128 KiB).
    csv.field_size_limit(max(csv.field_size_limit(), 1 << 30))
    with path.open(encoding="utf-8", errors="replace", newline="") as fh:
        reader = csv.reader(fh)
        start = 1
        for row in reader:
            line, start = start, reader.line_num + 1
            if len(row) < 15 or not _TS.match(row[0]):
                continue
            session = row[5] or row[3] or (f"xid:{row[10]}" if row[10] not in ("", "0") else "")
            yield _Entry(line, _timestamp(row[0]), session, row[11], row[13], row[14])


def _json_entries(path: Path) -> Iterator[_Entry]:
    with path.open(encoding="utf-8", errors="replace") as fh:
        for number, raw in enumerate(fh, start=1):
            if not raw.startswith("{"):
                continue
            try:
                obj: dict[str, Any] = json.loads(raw)
            except ValueError:
                continue
            if "error_severity" not in obj or "message" not in obj:
                continue
            xid = str(obj.get("txid", "") or "")
            session = str(obj.get("session_id") or obj.get("pid") or (f"xid:{xid}" if xid else ""))
            yield _Entry(
                number,
                _timestamp(str(obj.get("timestamp", ""))),
                session,
                str(obj["error_severity"]),
                str(obj["message"]),
                str(obj.get("detail") or ""),
            )


def _looks_like_prefix(prefix: str) -> bool:
    return bool(_TS.search(prefix) or _EPOCH.search(prefix) or _PID.search(prefix))


def _prefix_facts(prefix: str) -> tuple[float | None, str]:
    """(timestamp, session key) from a stderr line prefix: %c first, else %p, else xid."""
    at = None
    rest = prefix
    m = _TS.search(prefix)
    if m:
        at = _timestamp(m.group(0))
        rest = prefix[: m.start()] + " " + prefix[m.end() :]
    else:
        e = _EPOCH.search(prefix)
        if e:
            at = float(e.group("epoch"))
            rest = prefix[: e.start()] + " " + prefix[e.end() :]
    return at, _session_key(rest)


@lru_cache(maxsize=4096)
def _session_key(rest: str) -> str:
    """The session key in a prefix without its timestamp (the same few strings recur)."""
    s = _SESSION.search(rest)
    if s:
        return s.group("sid")
    p = _PID.search(rest)
    if p:
        return p.group("pid") or p.group("pid2")
    x = _XID.search(rest)
    if x and x.group("xid") != "0":
        return f"xid:{x.group('xid')}"
    return ""


def _timestamp(text: str) -> float | None:
    """Seconds since the epoch. Zone names other than UTC/GMT cannot be resolved from their
    abbreviation; they are read as UTC, which keeps the gaps between lines of one log right."""
    m = _TS.match(text.strip())
    if m is None:
        return None
    ts = m.group("ts")
    # Lines of one minute share everything but the seconds: convert the minute once.
    minute = _minute(ts[:16], m.group("tz") or "")
    if minute is None:
        return None
    try:
        return minute + float(ts[17:])
    except ValueError:
        return None


@lru_cache(maxsize=1024)
def _minute(stamp: str, tz: str) -> float | None:
    try:
        when = datetime.fromisoformat(stamp.replace(" ", "T"))
    except ValueError:
        return None
    offset = timedelta(0)
    if tz and tz[0] in "+-":
        digits = tz[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
        if tz[0] == "-":
            offset = -offset
    return when.replace(tzinfo=timezone(offset) if offset else UTC).timestamp()


# ---------------------------------------------------------------------------------------------
# From entries to executions


@dataclass(slots=True)
class _Exec:
    line: int
    at: float | None
    session: str
    text: str
    duration_ms: float | None
    params: tuple[str, ...] = ()
    from_plan: bool = False  # counted from an auto_explain plan, not yet confirmed
    planned: bool = False  # its auto_explain plan has been seen (it must not count again)


@dataclass
class _Builder:
    name: str
    fingerprint: Callable[[str], str]
    execs: list[_Exec] = field(default_factory=list)
    last: dict[str, _Exec] = field(default_factory=dict)  # each session's latest execution
    # The execute a session logged last, whose DETAIL parameters may come next; any other
    # message of that session (a bind's own parameters) ends the wait.
    awaiting: dict[str, _Exec] = field(default_factory=dict)

    def add(self, entry: _Entry) -> None:
        if entry.severity == "DETAIL":
            self._detail(entry.session, entry.message)
            return
        self.awaiting.pop(entry.session, None)
        if entry.severity != "LOG":
            return
        duration: float | None = None
        rest = entry.message
        m = _DURATION.match(rest)
        if m:
            duration = float(m.group("ms"))
            rest = m.group("rest").removeprefix("  ")
            if not rest.strip():  # log_statement logged the text already: complete it
                prev = self.last.get(entry.session)
                if prev is not None and prev.duration_ms is None and not prev.from_plan:
                    prev.duration_ms = duration
                return
        w = _WHAT.match(rest)
        if w is None:
            return
        kind = w.group("kind")
        if kind in ("parse", "bind"):
            return
        if kind == "plan":
            if duration is not None:
                self._plan(entry, duration, w.group("text"))
            return
        text = w.group("text")
        prev = self.last.get(entry.session)
        if (
            prev is not None
            and prev.from_plan
            and duration is not None
            and _same(self.fingerprint, prev.text, text)
        ):
            # auto_explain logged this execution first: one execution, the statement's time.
            prev.from_plan, prev.planned, prev.duration_ms, prev.text = False, True, duration, text
            ex = prev
        else:
            ex = _Exec(entry.line, entry.at, entry.session, text, duration)
            self._push(ex)
        if kind == "execute":
            self.awaiting[entry.session] = ex
            if entry.detail:  # csvlog and jsonlog carry it in the same record
                self._detail(entry.session, entry.detail)

    def _plan(self, entry: _Entry, duration: float, body: str) -> None:
        text, params = _plan_query(body)
        if not text:
            return
        prev = self.last.get(entry.session)
        if (
            prev is not None
            and not prev.from_plan
            and not prev.planned
            and _same(self.fingerprint, prev.text, text)
        ):
            # The same execution, already counted: an execute message is logged before its
            # portal's plan, and log_statement logs the text before the statement runs.
            prev.planned = True
            return
        ex = _Exec(entry.line, entry.at, entry.session, text, duration, params, from_plan=True)
        self._push(ex)

    def _push(self, ex: _Exec) -> None:
        self.execs.append(ex)
        self.last[ex.session] = ex

    def _detail(self, session: str, detail: str) -> None:
        ex = self.awaiting.pop(session, None)
        if ex is not None and detail.startswith("parameters: "):
            ex.params = _params(detail)

    def result(self) -> tuple[Workload, list[LogEvent]]:
        queries: list[Query] = []
        skipped: dict[str, Skipped] = {}
        utility: dict[str, tuple[int, str, str]] = {}
        events: list[LogEvent] = []
        for ex in self.execs:
            where = f"{self.name}:{ex.line}"
            if not is_query(ex.text):
                word = m.group(0).upper() if (m := _QUERY_WORD.search(ex.text)) else ""
                count, first, text = utility.get(word, (0, where, ex.text))
                utility[word] = (count + 1, first, text)
                continue
            if ex.at is not None and ex.session:
                events.append(
                    LogEvent(
                        at=ex.at,
                        session=ex.session,
                        text=ex.text,
                        duration_ms=ex.duration_ms,
                        source=where,
                        params=ex.params,
                    )
                )
            try:
                fp = self.fingerprint(ex.text)
            except InputError as exc:
                skipped.setdefault(ex.text, Skipped(source=where, reason=str(exc), text=ex.text))
                continue
            queries.append(
                Query(
                    fingerprint=fp,
                    text=ex.text,
                    calls=1,
                    total_ms=ex.duration_ms or 0.0,
                    source=where,
                )
            )
        notes = [
            Skipped(source=first, reason=f"not a query ({word or 'empty'}): {n} in the log", text=t)
            for word, (n, first, t) in sorted(utility.items())
        ]
        return group(queries, [*skipped.values(), *notes]), events


def _same(fingerprint: Callable[[str], str], a: str, b: str) -> bool:
    if a == b:
        return True
    try:
        return fingerprint(a) == fingerprint(b)
    except InputError:
        return False


def _params(detail: str) -> tuple[str, ...]:
    """`$1 = '42', $2 = NULL` → ("'42'", "NULL"), in $n order, literal text as logged."""
    found = {int(m.group("n")): m.group("v") for m in _PARAM.finditer(detail)}
    return tuple(found[n] for n in sorted(found))


def _plan_query(body: str) -> tuple[str, tuple[str, ...]]:
    """The query text (and parameters, when logged) of an auto_explain plan message."""
    stripped = body.strip()
    if stripped.startswith("{"):
        try:
            obj = json.loads(stripped)
        except ValueError:
            return "", ()
        text = str(obj.get("Query Text", "")) if isinstance(obj, dict) else ""
        found = _params("parameters: " + str(obj.get("Query Parameters", ""))) if text else ()
        return text.strip(), found
    lines = body.split("\n")
    for i, line in enumerate(lines):
        if line.startswith("Query Text: "):
            text_lines = [line[len("Query Text: ") :]]
            params: tuple[str, ...] = ()
            for nxt in lines[i + 1 :]:
                if nxt.startswith("Query Parameters: "):
                    params = _params(nxt)
                    break
                if _PLAN_NODE.search(nxt) or nxt.startswith("Query Identifier: "):
                    break
                text_lines.append(nxt)
            return "\n".join(text_lines).strip(), params
    return "", ()
