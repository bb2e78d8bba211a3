"""Schema × Schema → operations: what must change to turn one schema into another.

The diff applies the user's renames to `before` first, compares every object kind by identity
(diff_objects), then drops and recreates the dependents of whatever is rebuilt (diff_rebuild).
It never guesses a rename: a dropped and an added column (or table) that look alike produce a
hint naming the `--rename` that would keep the data. Order is plan.py's business.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from dbarchitect.migrate.diff_align import align_expressions
from dbarchitect.migrate.diff_deps import DepIndex
from dbarchitect.migrate.diff_objects import alter, compare_all
from dbarchitect.migrate.diff_rebuild import rebuild_dependents
from dbarchitect.migrate.diff_rename import apply_renames
from dbarchitect.migrate.migration import Rename
from dbarchitect.migrate.operations import Operation
from dbarchitect.model import Column, Schema, Table


@dataclass(frozen=True, slots=True, kw_only=True)
class Diff:
    """The operations that turn one schema into another (unordered: see plan.py), and hints
    such as a dropped and an added column that look like a rename."""

    operations: tuple[Operation, ...]
    hints: tuple[str, ...] = ()


def quoter(schema: Schema) -> Callable[[str], str]:
    """The identifier quoting of the schema's dialect (grants and parents are stored quoted)."""
    from dbarchitect.dialects import get_dialect

    return get_dialect(schema.dialect).quote


def diff(before: Schema, after: Schema, *, renames: Sequence[Rename] = ()) -> Diff:
    """Compare two schemas of the same dialect.

    Renames (`--rename`) become rename operations and the renamed object is then compared
    with its target for further changes. A rename naming an object that does not exist is an
    InputError.
    """
    from dbarchitect.dialects import get_dialect

    dialect = get_dialect(before.dialect)
    quote = dialect.quote
    renamed, rename_ops = apply_renames(before, after, renames, quote)
    renamed = align_expressions(renamed, after, dialect.expression_key)
    ops = compare_all(renamed, after)
    if dialect.reorders_columns:
        ops += moved_columns(renamed, after, ops)
    ops = rebuild_dependents(ops, renamed, after, DepIndex(renamed, quote), DepIndex(after, quote))
    return Diff(operations=tuple(rename_ops + ops), hints=tuple(rename_hints(ops)))


def rename_hints(ops: Sequence[Operation]) -> list[str]:
    """Dropped and added columns of one table with the same type, and dropped and created
    tables with the same columns: each pair may be a rename the user did not declare."""
    hints: list[str] = []
    dropped_tables = {op.name for op in ops if _is(op, "drop", "table")}
    gone: dict[str, list[Column]] = {}
    new: dict[str, list[Column]] = {}
    for op in ops:
        if op.kind != "column" or op.owner in dropped_tables:
            continue
        if op.action == "drop" and isinstance(op.before, Column) and not op.before.generated:
            gone.setdefault(op.owner, []).append(op.before)
        if op.action == "create" and isinstance(op.after, Column) and not op.after.generated:
            new.setdefault(op.owner, []).append(op.after)
    for owner in sorted(gone.keys() & new.keys()):
        for old in gone[owner]:
            for added in new[owner]:
                if old.type == added.type and old.name != added.name:
                    hints.append(
                        f"column {owner}.{old.name} is dropped and {owner}.{added.name} added "
                        f"with the same type {old.type}: looks like a rename; pass --rename "
                        f"{owner}.{old.name}={owner}.{added.name}"
                    )
    created = [op.after for op in ops if _is(op, "create", "table")]
    for op in ops:
        if _is(op, "drop", "table") and isinstance(op.before, Table):
            for t in created:
                assert isinstance(t, Table)
                if t.qualified != op.before.qualified and _shape(t) == _shape(op.before):
                    hints.append(
                        f"table {op.before.qualified} is dropped and {t.qualified} created with "
                        f"the same columns: looks like a rename; pass --rename "
                        f"{op.before.qualified}={t.qualified}"
                    )
    return sorted(set(hints))


def _is(op: Operation, action: str, kind: str) -> bool:
    return op.action == action and op.kind == kind


def _shape(t: Table) -> list[tuple[str, str]]:
    return [(c.name, c.type) for c in t.columns]


def moved_columns(before: Schema, after: Schema, ops: Sequence[Operation]) -> list[Operation]:
    """Alters for columns that only change position, where the engine can move them: the
    fewest columns that put the shared ones in `after`'s order (those off a longest common
    subsequence)."""
    touched = {(op.owner, op.subject.name) for op in ops if isinstance(op.subject, Column)}
    out: list[Operation] = []
    for a in after.tables:
        b = before.table(a.qualified)
        if b is None:
            continue
        shared = {c.name for c in a.columns} & {c.name for c in b.columns}
        old = [c.name for c in b.columns if c.name in shared]
        new = [c.name for c in a.columns if c.name in shared]
        if old == new:
            continue
        for name in [n for n in new if n not in _common(old, new)]:
            cb, ca = b.column(name), a.column(name)
            if cb is not None and ca is not None and (a.qualified, name) not in touched:
                out.append(alter("column", cb, ca, a.qualified))
    return out


def _common(x: list[str], y: list[str]) -> set[str]:
    """The items of a longest common subsequence of two lists of distinct names."""
    n, m = len(x), len(y)
    length = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            if x[i] == y[j]:
                length[i][j] = length[i + 1][j + 1] + 1
            else:
                length[i][j] = max(length[i + 1][j], length[i][j + 1])
    out: set[str] = set()
    i = j = 0
    while i < n and j < m:
        if x[i] == y[j]:
            out.add(x[i])
            i, j = i + 1, j + 1
        elif length[i + 1][j] >= length[i][j + 1]:
            i += 1
        else:
            j += 1
    return out
