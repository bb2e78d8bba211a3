"""A migration between two schemas: diff, order, render up and down for the schemas' dialect."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from dbarchitect.migrate.operations import Operation
from dbarchitect.model import Schema


@dataclass(frozen=True, slots=True, kw_only=True)
class Rename:
    """A rename the user asserted: `old` and `new` are qualified as the model qualifies them
    (Table.qualified for tables; Table.qualified + "." + column for columns)."""

    kind: Literal["table", "column"]
    old: str
    new: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Statement:
    """One SQL statement of a rendered migration. A statement with `transactional` false runs
    alone, outside any transaction block: it cannot run inside one (CREATE INDEX CONCURRENTLY),
    or the locks taken by the statements before it must not be held while it runs (VALIDATE
    CONSTRAINT after the constraint was added NOT VALID: that is the point of the two steps).
    A `check` statement reports a problem by returning rows (SQLite's foreign_key_check)."""

    sql: str
    transactional: bool = True
    operation: Operation | None = None
    check: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Migration:
    """The ordered operations and the SQL for both directions, with what the user must know."""

    dialect: str
    operations: tuple[Operation, ...]
    up: tuple[Statement, ...]
    down: tuple[Statement, ...]
    hints: tuple[str, ...] = ()
    lossy: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.operations


def make_migration(
    before: Schema,
    after: Schema,
    *,
    renames: Sequence[Rename] = (),
    online: bool = True,
) -> Migration:
    """Everything needed to take a database from `before` to `after` and back."""
    from dbarchitect.dialects import get_dialect
    from dbarchitect.migrate.diff import diff
    from dbarchitect.migrate.plan import plan

    result = diff(before, after, renames=renames)
    up_ops = plan(result.operations, before, after)
    # The down migration is diffed, not inverted: a dropped table comes back with its indexes,
    # triggers and foreign keys only when they are operations of their own, which the diff
    # in that direction emits.
    back = diff(after, before, renames=reverse_renames(renames))
    down_ops = plan(back.operations, after, before)
    dialect = get_dialect(before.dialect)
    return Migration(
        dialect=before.dialect,
        operations=tuple(up_ops),
        up=tuple(dialect.render_operations(up_ops, before, after, online=online)),
        down=tuple(dialect.render_operations(down_ops, after, before, online=online)),
        hints=result.hints,
        lossy=tuple(f"{op.describe()}: {op.lossy}" for op in up_ops if op.lossy),
    )


def reverse_renames(renames: Sequence[Rename]) -> list[Rename]:
    """The renames that undo `renames`. A column rename may name its table by the old or the
    new name on either side; it is first settled as (FROM table, TO table)."""
    forward = {r.old: r.new for r in renames if r.kind == "table"}
    backward = {new: old for old, new in forward.items()}
    out = [Rename(kind="table", old=r.new, new=r.old) for r in renames if r.kind == "table"]
    for r in renames:
        if r.kind != "column":
            continue
        old_table, old_col = r.old.rsplit(".", 1)
        new_table, new_col = r.new.rsplit(".", 1)
        old_table = backward.get(old_table, old_table)
        new_table = forward.get(new_table, new_table)
        out.append(
            Rename(kind="column", old=f"{new_table}.{new_col}", new=f"{old_table}.{old_col}")
        )
    return out
