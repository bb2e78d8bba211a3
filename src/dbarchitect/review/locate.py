"""Find where each finding's object is created in the SQL files it came from.

A review of files runs them in a scratch database and reads the catalog, so findings name
objects, not lines. Annotations (SARIF, GitHub) need a file and a line: this module scans the
files once (review/sqlscan.py) and maps each finding's object to the last definition of it
(the one that shaped the current schema).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from itertools import combinations, pairwise
from pathlib import Path

from dbarchitect.review.finding import Finding
from dbarchitect.review.sqlscan import OWNED, Definition, Ident, Scanner, truncate_name

# Names PostgreSQL gives unnamed constraints and indexes: {table}_{columns}_{suffix}.
_SUFFIXES = ("_pkey", "_fkey", "_key", "_check", "_excl", "_not_null", "_idx")
# The definition groups a finding's kind may be found in, most likely first.
_GROUPS: dict[str, tuple[str, ...]] = {
    kind: groups
    for groups, kinds in (
        (("relation",), "table|view|materialized view|matview|sequence|partition|foreign table"),
        (("type",), "type|enum|domain|composite"),
        (("function",), "function|procedure|aggregate|routine"),
        (("index", "constraint"), "index"),
        (("constraint", "index"), "constraint|unique|primary key"),
        (("constraint",), "foreign key|check"),
        (("column",), "column"),
        (("trigger",), "trigger"),
        (("policy",), "policy"),
        (("schema",), "schema"),
        (("extension",), "extension"),
    )
    for kind in kinds.split("|")
}


class SqlIndex:
    """The definitions found in a set of SQL files, searchable by finding kind and object."""

    def __init__(self) -> None:
        self._defs: dict[tuple[str, str], list[Definition]] = {}
        self.files: list[str] = []

    def add_file(self, path: Path) -> None:
        """Scan one file (decoding errors are replaced: line numbers stay right)."""
        text = path.read_text(encoding="utf-8", errors="replace")
        self.add_text(text, str(path))

    def add_text(self, text: str, file: str) -> None:
        """Scan SQL text that came from `file`."""
        self.files.append(file)
        Scanner(self.add, text, file).run()

    def add(self, d: Definition) -> None:
        self._defs.setdefault((d.group, truncate_name(d.name.text).lower()), []).append(d)

    def __iter__(self) -> Iterator[Definition]:
        """Every definition found, grouped by kind and name."""
        for defs in self._defs.values():
            yield from defs

    def definitions(self, group: str, name: str) -> list[Definition]:
        """The definitions of `group` (relation, index, column, …) whose name is `name`."""
        found = self._defs.get((group, truncate_name(name).lower()), [])
        return [d for d in found if d.name.matches(name)]

    def find(self, kind: str, obj: str) -> tuple[str, int] | None:
        """The file and line where the object a finding names (`kind`, `obj`) is created;
        for a part of a table that cannot be found (an unnamed constraint), the line of the
        column it is on or of its table; None when the files do not create it."""
        kind = kind.lower()
        base = obj.split("(", 1)[0] if kind in ("function", "procedure", "aggregate") else obj
        parts = base.split(".")
        groups = _GROUPS.get(kind)
        if groups is None:  # an unknown kind: try every group, table-like first
            groups = ("relation", "type", "function", "index", "constraint", "trigger", "policy")
        for group in groups:
            found = self._best(group, parts)
            if found is not None:
                return found.file, found.line
        if not any(g in OWNED for g in groups):
            return None
        for schema, table, name in _splits(parts, 3):
            if table is None or name is None:
                continue
            found = self._by_column_name(schema, table, name) or self._relation(schema, table)
            if found is not None:
                return found.file, found.line
        # A constraint the engine left unnamed (SQLite) is named after its table alone.
        found = self._best("relation", parts)
        return (found.file, found.line) if found is not None else None

    def _best(self, group: str, parts: list[str]) -> Definition | None:
        width = 3 if group in OWNED else 2
        for split in _splits(parts, width):
            found = self._match(group, split)
            if found is not None:
                return found
        return None

    def _match(self, group: str, split: tuple[str | None, ...]) -> Definition | None:
        schema, name = split[0], split[-1] or ""
        # Best: the same schema, then the same spelling (a quoted "Orders" for `Orders`, not
        # an unquoted orders that PostgreSQL folds to lower case), then the last definition.
        ranked: list[tuple[int, bool, int, Definition]] = []
        for order, d in enumerate(self.definitions(group, name)):
            if group in OWNED:
                table = split[1]
                if table is None or d.table is None or not d.table[1].matches(table):
                    continue
                score = _schema_score(d.table[0], schema)
            else:
                score = _schema_score(d.schema, schema)
            if score:
                ranked.append((score, d.name.text == name, order, d))
        return max(ranked, key=lambda r: r[:3])[3] if ranked else None

    def _relation(self, schema: str | None, table: str) -> Definition | None:
        return self._match("relation", (schema, table))

    def _by_column_name(self, schema: str | None, table: str, name: str) -> Definition | None:
        """An unnamed constraint or index named the PostgreSQL way: its first column's line."""
        prefix = table.lower() + "_"
        low = name.lower()
        if low == "primary":  # MySQL's name for every primary key
            return self._match("primary", (schema, table, ""))
        if not low.startswith(prefix):
            return None
        middle = next((low[len(prefix) : -len(s)] for s in _SUFFIXES if low.endswith(s)), None)
        if middle is None:
            return None
        if not middle:  # {table}_pkey; {table}_check is a table's own CHECK: no column
            return self._match("primary", (schema, table, "")) if low.endswith("_pkey") else None
        words = middle.split("_")
        for n in range(len(words), 0, -1):
            found = self._match("column", (schema, table, "_".join(words[:n])))
            if found is not None:
                return found
        return None


def _schema_score(defined: Ident | None, wanted: str | None) -> int:
    """2: same schema; 1: either side names none (search_path decides); 0: different."""
    if defined is None or wanted is None:
        return 1
    return 2 if defined.matches(wanted) else 0


def _splits(parts: list[str], width: int) -> Iterator[tuple[str | None, ...]]:
    """Ways to read dotted `parts` as `width` names, the first (schema) possibly absent.
    Names may contain dots, so every grouping is tried, fewest joined parts first."""
    for n in (width, width - 1):
        if n < 1 or len(parts) < n:
            continue
        for cuts in combinations(range(1, len(parts)), n - 1):
            bounds = (0, *cuts, len(parts))
            names = tuple(".".join(parts[a:b]) for a, b in pairwise(bounds))
            yield names if n == width else (None, *names)


def index_files(files: Sequence[Path]) -> SqlIndex:
    """Scan `files` (in load order) for the statements that create objects."""
    index = SqlIndex()
    for path in files:
        index.add_file(path)
    return index


def locate(findings: Sequence[Finding], files: Sequence[Path]) -> list[Finding]:
    """The findings with `file` and `line` set where the SQL files create their objects.

    Findings that already carry a location keep it; objects the files do not create (the
    database itself, objects made by an extension) stay without one. Files are scanned once.
    """
    index = index_files(files)
    out = []
    for f in findings:
        if f.file is None:
            where = index.find(f.kind, f.object)
            if where is not None:
                f = dataclasses.replace(f, file=where[0], line=where[1])
        out.append(f)
    return out
