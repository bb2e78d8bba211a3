"""Operations → MySQL/MariaDB statements, one ALTER (or CREATE/DROP) per operation.

MySQL DDL commits implicitly, so nothing is transactional in effect and order is everything.
The operations arrive ordered by migrate.plan; three local moves keep the server from refusing:
a foreign key's drop runs before the drop of an index it may need, and pending indexes of a
table are created before a foreign key that may need them (else the server makes its own index
named after the key); a column's drop runs after the drops of the indexes, keys and checks that
name it (the server would drop them itself, and their own drops would then fail). An
AUTO_INCREMENT column and the key it needs go in one statement.

Online (`online=True`) forms, measured on MariaDB 10.11: `ALGORITHM=INPLACE, LOCK=NONE` on
ADD/DROP of B-tree and hash indexes and unique keys and on ADD COLUMN, for InnoDB tables that
exist before the migration (FULLTEXT and SPATIAL indexes need a lock; INPLACE lets the server
choose INSTANT where it can).
"""

from __future__ import annotations

from collections.abc import Sequence

from dbarchitect.dialects.mysql.ddl import (
    add_foreign_key,
    column_definition,
    create_sequence,
    create_table,
    create_view,
    index_definition,
)
from dbarchitect.dialects.mysql.migrate_table import (
    alter_options,
    clustered_key,
    fill_nulls,
    mentions,
    versioned,
)
from dbarchitect.dialects.mysql.quoting import quote_ident, quote_literal
from dbarchitect.dialects.mysql.routines import create_routine
from dbarchitect.errors import DbarchError
from dbarchitect.migrate.migration import Statement
from dbarchitect.migrate.operations import Operation, TableFates
from dbarchitect.model import (
    CheckConstraint,
    Column,
    ForeignKey,
    Function,
    Index,
    PrimaryKey,
    Schema,
    Table,
    Trigger,
    UniqueConstraint,
    View,
)
from dbarchitect.model import (
    Sequence as SequenceModel,
)

_ON_TABLE = frozenset(
    {"column", "primary_key", "foreign_key", "unique", "check", "index", "trigger"}
)
_IN_CREATE_TABLE = frozenset({"column", "primary_key", "unique", "check", "index"})
_ONLINE = ", ALGORITHM=INPLACE, LOCK=NONE"


def render_operations(
    operations: Sequence[Operation], before: Schema, after: Schema, *, online: bool = True
) -> list[Statement]:
    """SQL statements, in order, for operations already ordered by migrate.plan."""
    return _Renderer(list(operations), before, after, online).render()


def _name(obj: object) -> str:
    name = getattr(obj, "name", None)
    assert isinstance(name, str)
    return name


class _Renderer:
    """Walks the operations once, tracking each table's column order for ADD … AFTER."""

    def __init__(self, ops: list[Operation], before: Schema, after: Schema, online: bool) -> None:
        self.ops = ops
        self.before = before
        self.after = after
        self.online = online
        fates = TableFates.of(ops)
        self.new_name, self.old_name = fates.new_name, fates.old_name
        self.created, self.dropped = set(fates.created), set(fates.dropped)
        self.columns = {
            self.new_name.get(t.name, t.name): [c.name for c in t.columns] for t in before.tables
        }
        self.out: list[Statement] = []
        self.done: set[int] = set()
        self.deferred: list[Statement] = []
        # Tables that gained a FULLTEXT or SPATIAL index here: no more online changes to them.
        self.locking: set[str] = set()

    def key(self, op: Operation) -> str:
        """The name, in `after`, of the table the operation is about (or the object's name)."""
        if op.kind in ("table", "view", "function", "sequence"):
            return _name(op.after if op.after is not None else op.before)
        return self.new_name.get(op.owner, op.owner)

    def current_name(self, key: str) -> str:
        """The table's name at this point: the old one until its rename has run."""
        pending = any(
            op.kind == "table" and op.action == "rename" and self.key(op) == key
            for i, op in enumerate(self.ops)
            if i not in self.done
        )
        return self.old_name.get(key, key) if pending else key

    def engine(self, key: str) -> str:
        table = self.after.table(key) or self.before.table(self.old_name.get(key, key))
        return dict(table.options).get("engine", "") if table else ""

    def emit(self, sql: str, op: Operation | None) -> None:
        self.out.append(Statement(sql=sql, operation=op))

    def render(self) -> list[Statement]:
        for i, op in enumerate(self.ops):
            if i not in self.done:
                self.done.add(i)
                self._one(op)
        out = self.out + self.deferred
        if out and self._alters_versioned():
            # MariaDB refuses to change the columns of a system-versioned table unless told
            # to keep the history rows as they are (error 4119).
            variable = "@@SESSION.system_versioning_alter_history"
            out = [
                Statement(sql=f"SET @dbarch_saved_alter_history = {variable};"),
                Statement(sql=f"SET {variable} = KEEP;"),
                *out,
                Statement(sql=f"SET {variable} = @dbarch_saved_alter_history;"),
            ]
        return out

    def _alters_versioned(self) -> bool:
        """Whether an operation changes a table that is system-versioned before or after it."""
        for op in self.ops:
            key = self.key(op)
            if (op.kind not in _ON_TABLE and op.kind != "table") or key in self.created:
                continue
            for table in (self.before.table(self.old_name.get(key, key)), self.after.table(key)):
                if table is not None and versioned(table):
                    return True
        return False

    def pending(self, key: str, kinds: set[str], action: str) -> list[tuple[int, Operation]]:
        return [
            (i, op)
            for i, op in enumerate(self.ops)
            if i not in self.done
            and op.kind in kinds
            and op.action == action
            and self.key(op) == key
        ]

    def run_now(self, i: int, op: Operation) -> None:
        self.done.add(i)
        self._one(op)

    # --- dispatch -----------------------------------------------------------------------------

    def _one(self, op: Operation) -> None:
        key = self.key(op)
        if op.kind in _ON_TABLE:
            if key in self.dropped and op.action == "drop" and op.kind != "foreign_key":
                # Goes with its table's DROP TABLE. A foreign key does not: MySQL refuses to
                # drop the table it points at while it exists, even if its own table goes next.
                return
            if key in self.created and op.kind in _IN_CREATE_TABLE:
                return  # written inside the new table's CREATE TABLE
        handler = getattr(self, f"_{op.kind}", None)
        if handler is None:
            raise DbarchError(f"MySQL/MariaDB has no {op.kind}: cannot {op.describe()}")
        handler(op, key)

    def alter(self, key: str, clauses: list[str], op: Operation, *, online: bool = False) -> None:
        tail = _ONLINE if online and self._online_ok(key) else ""
        self.emit(
            f"ALTER TABLE {quote_ident(self.current_name(key))} {', '.join(clauses)}{tail};", op
        )

    def _online_ok(self, key: str) -> bool:
        if not self.online or key in self.created:
            return False
        table = self.before.table(self.old_name.get(key, key))
        if table is None or dict(table.options).get("engine", "InnoDB").lower() != "innodb":
            return False
        if key in self.locking:
            return False
        return not any(i.method in ("fulltext", "spatial") for i in table.indexes)

    # --- tables -------------------------------------------------------------------------------

    def _table(self, op: Operation, key: str) -> None:
        if op.action == "create":
            full = self.after.table(key)
            table = full if full is not None else op.after
            assert isinstance(table, Table)
            self.emit(create_table(table), op)
            self.columns[key] = [c.name for c in table.columns]
            # A table created by undoing a drop comes back whole: its foreign keys (after every
            # table exists) and triggers that no operation of this list creates.
            listed = {
                _name(o.after)
                for o in self.ops
                if o.action == "create"
                and self.key(o) == key
                and o.kind in ("foreign_key", "trigger")
            }
            for fk in table.foreign_keys:
                if fk.name not in listed:
                    self.deferred.append(Statement(sql=add_foreign_key(table, fk), operation=op))
            for trigger in table.triggers:
                if trigger.name not in listed:
                    self.deferred.append(Statement(sql=f"{trigger.definition};", operation=op))
        elif op.action == "drop":
            self.emit(f"DROP TABLE {quote_ident(_name(op.before))};", op)
        elif op.action == "rename":
            old, new = _name(op.before), _name(op.after)
            self.emit(f"RENAME TABLE {quote_ident(old)} TO {quote_ident(new)};", op)
        elif op.action == "alter":
            assert isinstance(op.before, Table) and isinstance(op.after, Table)
            clauses = alter_options(op.before, op.after)
            if clauses:
                self.alter(key, clauses, op)

    def _column(self, op: Operation, key: str) -> None:
        order = self.columns.setdefault(key, [])
        if op.action == "create":
            assert isinstance(op.after, Column)
            col = op.after
            position = self._position(key, col.name)
            clauses = [f"ADD COLUMN {column_definition(col)}{position}"]
            clauses += self._key_for_identity(key, col)
            online = col.identity is None and not (col.generated and col.generated_stored)
            self.alter(key, clauses, op, online=online and len(clauses) == 1)
        elif op.action == "drop":
            assert isinstance(op.before, Column)
            self._drops_naming(key, op.before.name)
            self.alter(key, [f"DROP COLUMN {quote_ident(op.before.name)}"], op)
            if op.before.name in order:
                order.remove(op.before.name)
        elif op.action == "rename":
            old, new = _name(op.before), _name(op.after)
            self.alter(key, [f"RENAME COLUMN {quote_ident(old)} TO {quote_ident(new)}"], op)
            if old in order:
                order[order.index(old)] = new
        else:
            assert isinstance(op.after, Column) and isinstance(op.before, Column)
            fill = fill_nulls(self.current_name(key), op.before, op.after)
            if fill is not None:
                self.emit(fill, op)
            move = self._move(key, op.after.name)
            clauses = [f"MODIFY COLUMN {column_definition(op.after)}{move}"]
            if op.before.identity is None:
                clauses += self._key_for_identity(key, op.after)
            self.alter(key, clauses, op)

    def _position(self, key: str, name: str) -> str:
        """FIRST / AFTER x so the column lands where `after` has it (nothing at the end)."""
        order = self.columns.setdefault(key, [])
        target = self.after.table(key)
        names = [c.name for c in target.columns] if target else []
        at = names.index(name) if name in names else len(names)
        previous = next((n for n in reversed(names[:at]) if n in order), None)
        if previous is None:
            order.insert(0, name)
            return " FIRST" if len(order) > 1 else ""
        order.insert(order.index(previous) + 1, name)
        if order[-1] == name:
            return ""
        return f" AFTER {quote_ident(previous)}"

    def _move(self, key: str, name: str) -> str:
        """FIRST / AFTER x when the column does not follow, at this point, the column it
        follows in `after` (an altered column may also have moved)."""
        order = self.columns.get(key, [])
        target = self.after.table(key)
        if target is None or name not in order:
            return ""
        names = [c.name for c in target.columns]
        at = names.index(name) if name in names else len(names)
        previous = next((n for n in reversed(names[:at]) if n in order), None)
        # Columns on their way out (not in `after`) do not count as out of place.
        now = next((n for n in reversed(order[: order.index(name)]) if n in names), None)
        if now == previous:
            return ""
        order.remove(name)
        if previous is None:
            order.insert(0, name)
            return " FIRST"
        order.insert(order.index(previous) + 1, name)
        return f" AFTER {quote_ident(previous)}"

    def _key_for_identity(self, key: str, col: Column) -> list[str]:
        """An AUTO_INCREMENT column needs its key in the same statement: take it from later."""
        if col.identity is None:
            return []
        for i, op in self.pending(key, {"primary_key", "unique", "index"}, "create"):
            obj = op.after
            first = (
                obj.keys[0].column if isinstance(obj, Index) else getattr(obj, "columns", ("",))[0]
            )
            if first == col.name:
                self.done.add(i)
                return [_add_clause(op, self.engine(key))]
        return []

    def _drops_naming(self, key: str, column: str) -> None:
        """Run now the pending drops of keys, indexes, checks and foreign keys naming `column`."""
        kinds = {"primary_key", "unique", "index", "check", "foreign_key"}
        for i, op in self.pending(key, kinds, "drop"):
            obj = op.before
            if isinstance(obj, CheckConstraint):
                named = mentions(obj.expression, column)
            elif isinstance(obj, Index):
                named = any(
                    mentions(k.column, column) if k.expression else k.column == column
                    for k in obj.keys
                )
            else:
                named = column in getattr(obj, "columns", ())
            if named:
                self.run_now(i, op)

    # --- keys, indexes, checks ------------------------------------------------------------

    def _primary_key(self, op: Operation, key: str) -> None:
        clauses = []
        if op.action in ("drop", "alter"):
            clauses.append("DROP PRIMARY KEY")
            clauses = self._identity_off(key, op) + clauses
        if op.action in ("create", "alter"):
            clauses.append(_add_clause(op, self.engine(key)))
        self.alter(key, clauses, op)

    def _identity_off(self, key: str, op: Operation) -> list[str]:
        """The PRIMARY KEY of an AUTO_INCREMENT column can only go with its AUTO_INCREMENT."""
        assert isinstance(op.before, PrimaryKey)
        table = self.before.table(self.old_name.get(key, key))
        out = []
        for name in op.before.columns:
            col = table.column(name) if table else None
            if col is None or col.identity is None:
                continue
            for i, pending in self.pending(key, {"column"}, "alter") + self.pending(
                key, {"column"}, "drop"
            ):
                if _name(pending.before) == name:
                    self.done.add(i)
                    if pending.action == "drop":
                        out.append(f"DROP COLUMN {quote_ident(name)}")
                        if name in self.columns.get(key, []):
                            self.columns[key].remove(name)
                    else:
                        assert isinstance(pending.after, Column)
                        out.append(f"MODIFY COLUMN {column_definition(pending.after)}")
        return out

    def _unique(self, op: Operation, key: str) -> None:
        self._index(op, key)

    def _index(self, op: Operation, key: str) -> None:
        clauses = []
        plain = True
        if op.action in ("drop", "alter"):
            # Foreign keys of this table that are going away may need this index: drop them first.
            for i, pending in self.pending(key, {"foreign_key"}, "drop"):
                self.run_now(i, pending)
            clauses.append(f"DROP INDEX {quote_ident(_name(op.before))}")
            plain = _plain(op.before) and not self._clusters(key, op.before)
        if op.action in ("create", "alter"):
            clauses.append(_add_clause(op, self.engine(key)))
            plain = plain and _plain(op.after)
        self.alter(key, clauses, op, online=plain)
        if not plain:
            self.locking.add(key)

    def _clusters(self, key: str, index: object) -> bool:
        """Whether dropping the index would drop InnoDB's implicit clustered key."""
        table = self.before.table(self.old_name.get(key, key))
        pk_changes = any(
            op.kind == "primary_key" and op.action in ("drop", "alter") and self.key(op) == key
            for op in self.ops
        )
        return table is not None and clustered_key(table, index, pk_changes)

    def _check(self, op: Operation, key: str) -> None:
        clauses = []
        if op.action in ("drop", "alter"):
            clauses.append(f"DROP CONSTRAINT {quote_ident(_name(op.before))}")
        if op.action in ("create", "alter"):
            clauses.append(_add_clause(op, self.engine(key)))
        self.alter(key, clauses, op)

    def _foreign_key(self, op: Operation, key: str) -> None:
        if op.action in ("drop", "alter"):
            self.alter(key, [f"DROP FOREIGN KEY {quote_ident(_name(op.before))}"], op)
        if op.action in ("create", "alter"):
            assert isinstance(op.after, ForeignKey)
            # The server would make its own index for a key that has none yet: build ours first.
            order = set(self.columns.get(key, []))
            for i, pending in self.pending(key, {"index", "unique", "primary_key"}, "create"):
                obj = pending.after
                cols = (
                    [k.column for k in obj.keys if not k.expression]
                    if isinstance(obj, Index)
                    else list(getattr(obj, "columns", ()))
                )
                if set(cols) <= order:
                    self.run_now(i, pending)
            stub = Table(schema="", name=self.current_name(key))
            self.emit(add_foreign_key(stub, op.after), op)

    # --- views, triggers, routines, sequences -----------------------------------------------

    def _view(self, op: Operation, key: str) -> None:
        if op.action == "drop":
            self.emit(f"DROP VIEW {quote_ident(key)};", op)
            return
        assert isinstance(op.after, View)
        # A view needs the views it reads: create those first when they are still to come.
        needs = {d.removeprefix("rel:").rsplit(".", 1)[-1] for d in op.after.depends_on}
        for i, pending in enumerate(self.ops):
            if (
                i not in self.done
                and pending.kind == "view"
                and pending.action in ("create", "alter")
                and self.key(pending) != key
                and self.key(pending) in needs
            ):
                self.run_now(i, pending)
        text = create_view(op.after)
        if op.action == "alter":
            text = "CREATE OR REPLACE" + text.removeprefix("CREATE")
        self.emit(text, op)

    def _trigger(self, op: Operation, key: str) -> None:
        if op.action in ("drop", "alter"):
            self.emit(f"DROP TRIGGER {quote_ident(_name(op.before))};", op)
        if op.action in ("create", "alter"):
            assert isinstance(op.after, Trigger)
            self.emit(f"{op.after.definition};", op)

    def _function(self, op: Operation, key: str) -> None:
        if op.action in ("drop", "alter"):
            assert isinstance(op.before, Function)
            kind = op.before.kind.upper()
            self.emit(f"DROP {kind} {quote_ident(op.before.name)};", op)
        if op.action in ("create", "alter"):
            assert isinstance(op.after, Function)
            sql_mode = dict(op.after.config).get("sql_mode")
            if sql_mode is not None:
                # A routine keeps the sql_mode it was created under: create it under its own.
                self.emit("SET @dbarch_saved_sql_mode = @@SESSION.sql_mode;", op)
                self.emit(f"SET SESSION sql_mode = {quote_literal(sql_mode)};", op)
            self.emit(f"{create_routine(op.after)};", op)
            if sql_mode is not None:
                self.emit("SET SESSION sql_mode = @dbarch_saved_sql_mode;", op)

    def _sequence(self, op: Operation, key: str) -> None:
        if op.action == "drop":
            self.emit(f"DROP SEQUENCE {quote_ident(key)};", op)
            return
        assert isinstance(op.after, SequenceModel)
        if op.action == "create":
            self.emit(create_sequence(op.after), op)
            return
        alter = create_sequence(op.after).replace("CREATE SEQUENCE", "ALTER SEQUENCE", 1)
        self.emit(alter, op)


def _plain(obj: object) -> bool:
    """Indexes the server builds online: not FULLTEXT or SPATIAL."""
    return not (isinstance(obj, Index) and obj.method in ("fulltext", "spatial"))


def _add_clause(op: Operation, engine: str) -> str:
    """ADD … for a key, index or check (`engine` decides which USING is the default)."""
    obj = op.after
    if isinstance(obj, PrimaryKey):
        return f"ADD PRIMARY KEY ({', '.join(quote_ident(c) for c in obj.columns)})"
    if isinstance(obj, UniqueConstraint):
        cols = ", ".join(quote_ident(c) for c in obj.columns)
        text = f"ADD UNIQUE KEY {quote_ident(obj.name)} ({cols})"
        return text + (f" COMMENT {quote_literal(obj.comment)}" if obj.comment else "")
    if isinstance(obj, Index):
        return f"ADD {index_definition(obj, engine)}"
    if isinstance(obj, CheckConstraint):
        return f"ADD CONSTRAINT {quote_ident(obj.name)} CHECK ({obj.expression})"
    raise AssertionError(f"no ADD clause for {op.describe()}")
