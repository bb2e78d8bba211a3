"""Operations → SQLite statements.

SQLite's ALTER TABLE renames tables and columns, adds a column at the end (no PRIMARY KEY or
UNIQUE, a constant default, NOT NULL only with a non-null default, no STORED generated column)
and drops a column nothing else names. Every other change to a table is the rebuild of
https://www.sqlite.org/lang_altertable.html#otheralter (sqlite/migrate_rebuild.py); all the
operations on one table become one rebuild, emitted where the first of them stands. Indexes,
views and triggers are dropped and created, never altered.

Transactions: a runner wraps consecutive transactional statements in one transaction, and
`PRAGMA foreign_keys` does nothing inside one. So when a table is rebuilt or dropped the
migration starts with `PRAGMA foreign_keys = OFF` and ends with `PRAGMA foreign_key_check`
(inside the transaction: it must return no rows) and `PRAGMA foreign_keys = ON`, the two
switches marked non-transactional.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from dbarchitect.dialects.sqlite.ddl import column_definition, create_index, create_table, quote
from dbarchitect.dialects.sqlite.migrate_rebuild import State, mentions, rebuild
from dbarchitect.errors import DbarchError
from dbarchitect.migrate.migration import Statement
from dbarchitect.migrate.operations import Operation, TableFates
from dbarchitect.model import Column, Index, Schema, Table, Trigger, View

# Kinds that live on a table: a rebuilt table absorbs every operation of these kinds on it.
_ON_TABLE = frozenset(
    {"column", "primary_key", "foreign_key", "unique", "check", "index", "trigger"}
)
_CONSTRAINTS = frozenset({"primary_key", "foreign_key", "unique", "check"})
# Defaults ADD COLUMN accepts: literals only (no CURRENT_TIME…, no parenthesised expression).
_CONSTANT = re.compile(
    r"""'(?:[^']|'')*'|[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?0[xX][0-9a-fA-F]+"""
    r"""|[xX]'[0-9a-fA-F]*'|(?i:null|true|false)"""
)
# Table options only a new CREATE TABLE can change.
_REBUILD_OPTIONS = ("strict", "without_rowid", "autoincrement", "virtual", "virtual_args")


def render_operations(
    operations: Sequence[Operation], before: Schema, after: Schema, *, online: bool = True
) -> list[Statement]:
    """SQL statements, in order, for operations already ordered by migrate.plan.

    `online` changes nothing: SQLite has no forms that keep a table writable during a change.
    """
    del online
    return _Renderer(list(operations), before, after).render()


def _table_of(op: Operation) -> Table:
    obj = op.subject
    assert isinstance(obj, Table)
    return obj


class _Renderer:
    """Walks the ordered operations once, tracking which views and triggers exist."""

    def __init__(self, ops: list[Operation], before: Schema, after: Schema) -> None:
        self.ops = ops
        self.before = before
        self.after = after
        fates = TableFates.of(ops)
        self.new_name, self.old_name = fates.new_name, fates.old_name
        self.created, self.dropped = set(fates.created), set(fates.dropped)
        self.state = State.of(before)
        self.out: list[Statement] = []
        self.done: set[int] = set()
        self.rebuilt: set[str] = set()
        self.to_rebuild = {self.key(op) for op in ops if self._needs_rebuild(op)}

    # --- deciding -----------------------------------------------------------------------------

    def key(self, op: Operation) -> str:
        """The name, in `after`, of the table (or view) the operation is about."""
        if op.kind in ("table", "view"):
            return _name(op.after if op.after is not None else op.before)
        return self.new_name.get(op.owner, op.owner)

    def _needs_rebuild(self, op: Operation) -> bool:
        key = self.key(op)
        if key in self.created or key in self.dropped or self.after.table(key) is None:
            return False
        if op.kind == "table":
            return op.action == "alter" and _rebuild_options(op)
        if op.kind in _CONSTRAINTS:
            return True
        if op.kind != "column":
            return False
        if op.action == "alter":
            return True
        if op.action == "create":
            return not self._can_add(key)
        if op.action == "drop":
            assert isinstance(op.before, Column)
            return not self._can_drop(key, op.before)
        return False

    def _before_table(self, key: str) -> Table | None:
        return self.before.table(self.old_name.get(key, key))

    def _can_add(self, key: str) -> bool:
        """Whether every column added to the table can be ADD COLUMN (all of them at the end)."""
        target, source = self.after.table(key), self._before_table(key)
        if target is None or source is None:
            return False
        added = {
            _name(op.after)
            for op in self.ops
            if op.kind == "column" and op.action == "create" and self.key(op) == key
        }
        kept = [c for c in target.columns if c.name not in added]
        if target.columns[: len(kept)] != tuple(kept):
            return False
        keys = set(target.primary_key.columns if target.primary_key else ())
        for u in target.uniques:
            keys.update(u.columns)
        return all(_addable(c, keys) for c in target.columns[len(kept) :])

    def _can_drop(self, key: str, column: Column) -> bool:
        """Whether DROP COLUMN works: nothing in the schema names the column."""
        table = self._before_table(key)
        if table is None:
            return False
        name = column.name.casefold()
        if table.primary_key and name in _folded(table.primary_key.columns):
            return False
        if any(name in _folded(u.columns) for u in table.uniques):
            return False
        if any(name in _folded(fk.columns) for fk in table.foreign_keys):
            return False
        for other in self.before.tables:
            for fk in other.foreign_keys:
                if fk.ref_table.casefold() == table.name.casefold() and (
                    name in _folded(fk.ref_columns) or not fk.ref_columns
                ):
                    return False
        texts = [c.expression for c in table.checks]
        texts += [c.generated for c in table.columns if c.generated and c.name != column.name]
        for index in table.indexes:
            texts += [k.column for k in index.keys] + ([index.where] if index.where else [])
        texts += [v.definition for v in self.state.views.values()]
        texts += [t.definition for _, t in self.state.triggers.values()]
        return not any(mentions(text, {name}) for text in texts)

    # --- rendering ----------------------------------------------------------------------------

    def render(self) -> list[Statement]:
        for i, op in enumerate(self.ops):
            if i not in self.done:
                self._one(i, op)
        if not self.out:
            return []
        dropping = any(op.kind == "table" and op.action == "drop" for op in self.ops)
        if not (self.rebuilt or dropping):
            return self.out
        return [
            Statement(sql="PRAGMA foreign_keys = OFF;", transactional=False),
            *self.out,
            Statement(sql="PRAGMA foreign_key_check;", check=True),
            Statement(sql="PRAGMA foreign_keys = ON;", transactional=False),
        ]

    def emit(self, sql: str, op: Operation | None) -> None:
        self.out.append(Statement(sql=sql, operation=op))

    def _one(self, i: int, op: Operation) -> None:
        key = self.key(op)
        if key in self.to_rebuild and (op.kind in _ON_TABLE or op.kind == "table"):
            if op.kind == "table" and op.action == "rename":
                self._rename_table(i, op)
            elif key not in self.rebuilt:
                self._rebuild(key, op)
            return
        if key in self.created and op.kind in _CONSTRAINTS | {"column"}:
            return  # written inside the new table's CREATE TABLE
        if key in self.dropped and op.kind in _ON_TABLE and op.action == "drop":
            return  # goes with its table's DROP TABLE
        if op.kind == "table":
            self._table(i, op)
        elif op.kind == "column":
            self._column(i, op, key)
        elif op.kind == "index":
            self._index(op, key)
        elif op.kind == "trigger":
            self._trigger(op, key)
        elif op.kind == "view":
            self._view(i, op)
        else:
            raise DbarchError(f"SQLite has no {op.kind}: cannot {op.describe()}")

    def _table(self, i: int, op: Operation) -> None:
        if op.action == "create":
            name = _name(op.after)
            full = self.after.table(name) or _table_of(op)
            self.emit(create_table(replace(full, indexes=())), op)
            # A table created by undoing a drop comes back whole: what no operation of this
            # list creates on it (its indexes and triggers) is created with it.
            listed = {
                _name(o.after)
                for o in self.ops
                if o.action == "create" and o.kind in ("index", "trigger") and self.key(o) == name
            }
            for index in full.indexes:
                if index.name not in listed:
                    self.emit(create_index(full, index), op)
            for trigger in full.triggers:
                if trigger.name not in listed:
                    self.emit(f"{trigger.definition};", op)
                    self.state.triggers[trigger.name] = (name, trigger)
        elif op.action == "drop":
            name = _name(op.before)
            self.emit(f"DROP TABLE {quote(name)};", op)
            self.state.forget_owner(name)
        elif op.action == "rename":
            self._rename_table(i, op)
        # An alter of a table's options that ALTER TABLE cannot make is a rebuild (above);
        # SQLite tables have nothing else to alter (no comments).

    def _rename_table(self, i: int, op: Operation) -> None:
        if i in self.done:
            return
        self.done.add(i)
        old, new = _name(op.before), _name(op.after)
        self.emit(f"ALTER TABLE {quote(old)} RENAME TO {quote(new)};", op)
        self.state.rename_owner(old, new)

    def _rebuild(self, key: str, first: Operation) -> None:
        # A pending rename of this table runs first, so the rebuild works on the new name.
        for i, op in enumerate(self.ops):
            if op.kind == "table" and op.action == "rename" and self.key(op) == key:
                self._rename_table(i, op)
        source = self._before_table(key)
        target = self.after.table(key)
        assert source is not None and target is not None
        renamed = {
            _name(op.after): _name(op.before)
            for op in self.ops
            if op.kind == "column" and op.action == "rename" and self.key(op) == key
        }
        reserved = {t.name.casefold() for t in self.before.tables + self.after.tables}
        reserved |= {v.name.casefold() for v in self.before.views + self.after.views}
        sqls = rebuild(source, target, renamed, self.state, reserved)
        self.out.extend(Statement(sql=s, operation=first) for s in sqls)
        self.rebuilt.add(key)

    def _column(self, i: int, op: Operation, key: str) -> None:
        table = quote(key)
        if op.action == "rename":
            old, new = _name(op.before), _name(op.after)
            self.emit(f"ALTER TABLE {table} RENAME COLUMN {quote(old)} TO {quote(new)};", op)
        elif op.action == "drop":
            self.emit(f"ALTER TABLE {table} DROP COLUMN {quote(_name(op.before))};", op)
        elif op.action == "create":
            # ADD COLUMN appends: add this table's new columns together, in their final order.
            target = self.after.table(key)
            assert target is not None
            adds = {
                _name(o.after): j
                for j, o in enumerate(self.ops)
                if o.kind == "column" and o.action == "create" and self.key(o) == key
            }
            for col in target.columns:
                if col.name in adds:
                    self.done.add(adds[col.name])
                    self.emit(
                        f"ALTER TABLE {table} ADD COLUMN {column_definition(col)};",
                        self.ops[adds[col.name]],
                    )
        else:
            raise AssertionError(f"column {op.action} without a rebuild")
        del i

    def _index(self, op: Operation, key: str) -> None:
        stub = Table(schema="", name=key)
        if op.action in ("drop", "alter"):
            assert isinstance(op.before, Index)
            self.emit(f"DROP INDEX {quote(op.before.name)};", op)
        if op.action in ("create", "alter"):
            assert isinstance(op.after, Index)
            self.emit(create_index(stub, op.after), op)

    def _trigger(self, op: Operation, key: str) -> None:
        if op.action in ("drop", "alter"):
            assert isinstance(op.before, Trigger)
            if op.before.name in self.state.triggers:
                self.emit(f"DROP TRIGGER {quote(op.before.name)};", op)
                del self.state.triggers[op.before.name]
        if op.action in ("create", "alter"):
            assert isinstance(op.after, Trigger)
            self.emit(f"{op.after.definition};", op)
            self.state.triggers[op.after.name] = (key, op.after)

    def _view(self, i: int, op: Operation) -> None:
        if op.action in ("drop", "alter"):
            assert isinstance(op.before, View)
            if op.before.name in self.state.views:
                self.emit(f"DROP VIEW {quote(op.before.name)};", op)
                self.state.drop_view(op.before.name)
        if op.action in ("create", "alter"):
            assert isinstance(op.after, View)
            self.emit(self.state.create_view(op.after), op)
        if op.action == "alter":
            # Dropping the view dropped its triggers: put back those no later operation touches.
            assert isinstance(op.after, View)
            pending = {_name(o.subject) for o in self.ops[i + 1 :] if o.kind == "trigger"}
            for trigger in op.before.triggers if isinstance(op.before, View) else ():
                if trigger.name not in pending:
                    self.emit(f"{trigger.definition};", op)
                    self.state.triggers[trigger.name] = (op.after.name, trigger)


def _name(obj: object) -> str:
    name = getattr(obj, "name", None)
    assert isinstance(name, str)
    return name


def _folded(names: tuple[str, ...]) -> set[str]:
    return {n.casefold() for n in names}


def _rebuild_options(op: Operation) -> bool:
    assert isinstance(op.before, Table) and isinstance(op.after, Table)
    old, new = dict(op.before.options), dict(op.after.options)
    return any(old.get(k) != new.get(k) for k in _REBUILD_OPTIONS)


def _addable(col: Column, keys: set[str]) -> bool:
    """What ADD COLUMN accepts (https://www.sqlite.org/lang_altertable.html#altertabaddcol)."""
    if col.name in keys or (col.generated is not None and col.generated_stored):
        return False
    if col.default is not None and not _CONSTANT.fullmatch(col.default):
        return False
    null_default = col.default is None or col.default.casefold() == "null"
    return col.nullable or not null_default
