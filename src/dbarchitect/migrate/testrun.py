"""`dbarch migrate test`: run up/down migration pairs up, down, up on a scratch database with rows.

Every up runs in order and the schema after each is recorded; then every table is filled with
generated rows. The downs run from the last migration to the first: after each, the schema
must diff empty against the one recorded before that migration's up, and the rows of every
table that survives must still be there (compared on the columns it kept). The ups then run
again, each one ending in the schema it produced the first time. What a down throws away on
purpose (a table or column the up had added, with its rows) is noted, not failed.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from dbarchitect.dialects import get_dialect
from dbarchitect.engines.base import Engine
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.errors import DbarchError, InputError
from dbarchitect.migrate.seed import seed_tables
from dbarchitect.migrate.verify import differences
from dbarchitect.model import Schema
from dbarchitect.sources import introspect_url

Status = Literal["ok", "schema differs", "data lost", "failed", "not run"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Pair:
    """One migration: its name and its up and down files."""

    name: str
    up: Path
    down: Path


@dataclass(slots=True, kw_only=True)
class Result:
    """What testing one migration found."""

    name: str
    differences: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    ran: bool = False

    @property
    def status(self) -> Status:
        # A schema left wrong by down explains a later failure of up (a column already there).
        if self.differences:
            return "schema differs"
        if self.error is not None:
            return "failed"
        if not self.ran:
            return "not run"
        if self.lost:
            return "data lost"
        return "ok"


def find_pairs(items: list[str]) -> list[Pair]:
    """Migrations named by files (NNN_x.up.sql or .down.sql, or NNN_x.sql beside
    NNN_x.down.sql), Diesel-style directories holding up.sql and down.sql, or directories of
    either, in name order; duplicates once."""
    pairs: list[Pair] = []
    for item in items:
        path = Path(item)
        if not path.exists():
            raise InputError(f"{item}: no such file or directory")
        if path.is_file():
            pairs.append(_pair_of_file(path))
        elif (path / "up.sql").is_file():
            pairs.append(_pair_of_dir(path))
        else:
            found = [
                _pair_of_file(p) if p.is_file() else _pair_of_dir(p)
                for p in sorted(path.iterdir())
                if (p.is_file() and _is_up(p)) or (p.is_dir() and (p / "up.sql").is_file())
            ]
            if not found:
                raise InputError(f"{item}: no migrations (NNN_name.up.sql or DIR/up.sql) here")
            pairs += found
    seen: set[Path] = set()
    unique: list[Pair] = []
    for pair in pairs:
        if pair.up.resolve() not in seen:
            seen.add(pair.up.resolve())
            unique.append(pair)
    return unique


def _is_up(path: Path) -> bool:
    """An up migration: NNN_x.up.sql, or NNN_x.sql with an NNN_x.down.sql beside it."""
    name = path.name
    if name.endswith(".up.sql"):
        return True
    plain = name.endswith(".sql") and not name.endswith(".down.sql")
    return plain and path.with_name(name[: -len(".sql")] + ".down.sql").is_file()


def _pair_of_file(path: Path) -> Pair:
    name = path.name
    if name.endswith(".down.sql") and not path.with_name(name[:-9] + ".up.sql").exists():
        plain = path.with_name(name[: -len(".down.sql")] + ".sql")
        if plain.is_file():
            return Pair(name=plain.name[:-4], up=plain, down=path)
    if _is_up(path) and not name.endswith(".up.sql"):
        return Pair(name=name[:-4], up=path, down=path.with_name(name[:-4] + ".down.sql"))
    for suffix in (".up.sql", ".down.sql"):
        if path.name.endswith(suffix):
            stem = path.name[: -len(suffix)]
            pair = Pair(
                name=stem,
                up=path.with_name(stem + ".up.sql"),
                down=path.with_name(stem + ".down.sql"),
            )
            for side in (pair.up, pair.down):
                if not side.is_file():
                    raise InputError(f"{path}: its pair {side.name} is missing")
            return pair
    raise InputError(f"{path}: expected NNN_name.up.sql or NNN_name.down.sql")


def _pair_of_dir(path: Path) -> Pair:
    up, down = path / "up.sql", path / "down.sql"
    if not down.is_file():
        raise InputError(f"{path}: has up.sql but no down.sql")
    return Pair(name=path.name, up=up, down=down)


Rows = tuple[tuple[str, ...], list[dict[str, Any]]]


@dataclass(slots=True, kw_only=True)
class Report:
    """Per-migration results, and notes about the run (tables the seeding could not fill)."""

    results: list[Result]
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.status == "ok" for r in self.results)


def run_migration_tests(pairs: list[Pair], *, dialect: str, rows: int) -> Report:
    """Run the pairs up, down, up on a scratch database seeded with `rows` rows a table."""
    engine = get_dialect(dialect).engine()
    results = [Result(name=p.name) for p in pairs]
    report = Report(results=results)
    with engine.scratch() as url:
        _test(engine, url, pairs, report, rows)
    return report


def _test(engine: Engine, url: DatabaseURL, pairs: list[Pair], report: Report, rows: int) -> None:
    results = report.results
    states = [introspect_url(url)]
    for pair, result in zip(pairs, results, strict=True):
        if not _run(engine, url, pair.up, result):
            return
        states.append(introspect_url(url))
    report.notes += seed_tables(url, states[-1], rows)
    for k in range(len(pairs) - 1, -1, -1):
        result = results[k]
        before = _snapshot(url, states[k + 1])
        if not _run(engine, url, pairs[k].down, result):
            return
        result.ran = True
        now = introspect_url(url)
        result.differences += [f"after down: {ln}" for ln in differences(now, states[k])]
        _compare_rows(before, _snapshot(url, now), result)
    for k, pair in enumerate(pairs):
        if not _run(engine, url, pair.up, results[k]):
            for later in results[k + 1 :]:
                later.notes.append(f"up not run again: {pair.name} failed first")
            return
        again = differences(introspect_url(url), states[k + 1])
        results[k].differences += [f"after up again: {ln}" for ln in again]


def _run(engine: Engine, url: DatabaseURL, path: Path, result: Result) -> bool:
    try:
        engine.load_files(url, [path])
    except DbarchError as exc:
        result.error = str(exc)
        return False
    return True


def _snapshot(url: DatabaseURL, schema: Schema) -> dict[str, Rows]:
    """Every table's column names and rows (a read-only session on the scratch database)."""
    d = get_dialect(url.dialect)
    out: dict[str, Rows] = {}
    with d.engine().connect(url, read_only=True) as session:
        for table in schema.tables:
            if table.partition_of:
                continue  # its rows show through the parent
            name = ".".join(d.quote(p) for p in (table.schema, table.name) if p)
            names = tuple(c.name for c in table.columns)
            out[table.qualified] = (names, session.fetch(f"SELECT * FROM {name}"))
    return out


def _digest(rows: list[dict[str, Any]], columns: list[str]) -> Counter[str]:
    return Counter(
        hashlib.sha256(repr(tuple(_plain(r.get(c)) for c in columns)).encode()).hexdigest()
        for r in rows
    )


def _plain(value: Any) -> str:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    return str(value)


def _compare_rows(before: dict[str, Rows], after: dict[str, Rows], result: Result) -> None:
    for table, (columns, rows) in sorted(before.items()):
        if table not in after:
            if rows:
                result.notes.append(f"down drops table {table} with {len(rows)} row(s)")
            continue
        kept_cols, kept = after[table]
        common = [c for c in columns if c in kept_cols]
        for column in columns:
            if column not in kept_cols and any(r.get(column) is not None for r in rows):
                result.notes.append(f"down drops column {table}.{column} holding values")
        if len(kept) != len(rows):
            result.lost.append(f"{table}: {len(rows)} row(s) before down, {len(kept)} after")
        elif _digest(rows, common) != _digest(kept, common):
            changed = [c for c in common if _digest(rows, [c]) != _digest(kept, [c])]
            result.lost.append(f"{table}: values changed in {', '.join(changed) or 'rows'}")


def render_text(report: Report) -> str:
    """One line per migration with its status, details indented below."""
    results = report.results
    lines: list[str] = []
    for r in results:
        lines.append(f"{r.status:<15} {r.name}")
        details = [*r.differences, *r.lost]
        if r.error:
            details.insert(0, r.error)
        lines += [f"    {d}" for d in details]
        lines += [f"    note: {n}" for n in r.notes]
    counts = Counter(r.status for r in results)
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    lines += [f"note: {n}" for n in report.notes]
    lines.append(f"{len(results)} migration(s): {summary}")
    return "\n".join(lines) + "\n"


def render_json(report: Report) -> str:
    """The results as JSON."""
    import json

    data = [
        {
            "migration": r.name,
            "status": r.status,
            "error": r.error,
            "differences": r.differences,
            "lost": r.lost,
            "notes": r.notes,
        }
        for r in report.results
    ]
    return (
        json.dumps({"migrations": data, "notes": report.notes}, indent=2, ensure_ascii=False) + "\n"
    )


__all__ = [
    "Pair",
    "Report",
    "Result",
    "find_pairs",
    "render_json",
    "render_text",
    "run_migration_tests",
]
