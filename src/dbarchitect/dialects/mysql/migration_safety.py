"""`dbarch check --dialect mysql`: online-DDL hazards of MySQL/MariaDB (InnoDB) migrations.

InnoDB runs each ALTER TABLE with one of three algorithms: INSTANT (metadata only), INPLACE
(the table may be rebuilt, but concurrent writes continue with LOCK=NONE) or COPY (a new table
is filled row by row while writes are blocked). Which one an operation needs follows MariaDB's
documentation and was checked on MariaDB 10.11 with `ALGORITHM=INPLACE, LOCK=NONE`, which the
server refuses with an error when the operation cannot run online (tests/migrate/
test_check_mysql.py re-checks each claim on the real server). Tables created earlier in the
same file are new and empty, so statements on them are not hazards.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from sqlglot import exp

from dbarchitect.migrate.safety.hazards import add_hazard, hazard_finding
from dbarchitect.migrate.safety.sqlglot_parse import SqlFile, SqlStatement, name_of, words
from dbarchitect.model.schema import Schema
from dbarchitect.review.finding import Finding, Severity
from dbarchitect.review.registry import Rule

DIALECT = "mysql"
MYSQL_HAZARDS: dict[str, Rule] = {}


def _hazard(id: str, severity: Severity, title: str, problem: str, solution: str, ex: str) -> None:
    add_hazard(MYSQL_HAZARDS, "mysql", id, severity, title, problem, solution, ex)


_ONLINE_TOOL = """Use an online schema change tool (gh-ost, pt-online-schema-change) that copies
    the table in the background and swaps it in, or expand/contract: add a new column
    (ALGORITHM=INSTANT), backfill it in batches, move the clients over, drop the old column."""
_hazard(
    "mysql-copy-algorithm",
    "error",
    "ALTER TABLE needs ALGORITHM=COPY",
    """The operation cannot run INPLACE (changing a column's type or character set, dropping the
    primary key, CONVERT TO CHARACTER SET, adding a FOREIGN KEY with foreign_key_checks on,
    adding a CHECK constraint) or not with LOCK=NONE (FULLTEXT/SPATIAL index, AUTO_INCREMENT
    column): the table is rebuilt while every write waits, for as long as the copy takes.""",
    _ONLINE_TOOL,
    "ALTER TABLE orders MODIFY amount bigint;",
)
_hazard(
    "mysql-lock-not-none",
    "warning",
    "Online ALTER without LOCK=NONE",
    """This operation can run online, but without LOCK=NONE the server silently picks a
    stronger lock (or ALGORITHM=COPY) when it cannot, blocking writes.""",
    """State ALGORITHM=INPLACE, LOCK=NONE: the server then refuses the statement with an error
    instead of locking the table.""",
    "ALTER TABLE orders ADD INDEX orders_customer (customer_id);",
)
_hazard(
    "mysql-instant-possible",
    "info",
    "ADD COLUMN could state ALGORITHM=INSTANT",
    """MariaDB >= 10.3 and MySQL >= 8.0.12 add a column as a metadata change. Stating
    ALGORITHM=INSTANT makes the server refuse (rather than rebuild) if it cannot.""",
    "Append `, ALGORITHM=INSTANT` to the ALTER TABLE.",
    "ALTER TABLE users ADD COLUMN note text;",
)
_DATA_LOSS = """Deploy the code that stops using it first, keep a backup (or rename it out of
    the way and drop it in a later release), and drop it only when nothing reads it any more."""
_hazard(
    "mysql-drop-column",
    "warning",
    "Column dropped",
    "DROP COLUMN loses the column's data for good and breaks clients still using it.",
    _DATA_LOSS,
    "ALTER TABLE users DROP COLUMN middle_name;",
)
_hazard(
    "mysql-drop-table",
    "warning",
    "Table dropped",
    "DROP TABLE loses its data for good and breaks every client still using it.",
    _DATA_LOSS,
    "DROP TABLE legacy_orders;",
)
_hazard(
    "mysql-truncate",
    "warning",
    "TRUNCATE",
    "TRUNCATE deletes every row for good (it drops and recreates the table).",
    "Make sure the data is meant to go (and backed up); delete in batches if clients stay on.",
    "TRUNCATE TABLE audit_log;",
)
_hazard(
    "mysql-rename",
    "warning",
    "Table or column renamed",
    "Clients still using the old name fail as soon as the rename is done.",
    """Expand/contract: create the new name alongside the old one (a view or a new column kept
    in sync), move the clients over, then drop the old name in a later release.""",
    "ALTER TABLE users RENAME COLUMN mail TO email;",
)

Verdict = Literal["instant", "online", "copy"]
_INT_WIDTH = re.compile(r"^(tinyint|smallint|mediumint|int|bigint)\(\d+\)")
_VARLEN = re.compile(r"^(varchar|varbinary)\((\d+)\)$")


def _norm_type(text: str) -> str:
    t = " ".join(text.lower().split()).replace("integer", "int")
    return _INT_WIDTH.sub(r"\1", t)


@dataclass(slots=True)
class _Column:
    type: str
    charset: str | None = None
    not_null: bool | None = None  # None: not known


@dataclass(slots=True)
class _State:
    tables: dict[str, dict[str, _Column]] = field(default_factory=dict)
    new: set[str] = field(default_factory=set)
    fk_checks: bool = True


@dataclass(slots=True)
class _Op:
    verdict: Verdict
    reason: str = ""


class _Checker:
    def __init__(self, schema: Schema | None) -> None:
        self.state = _State()
        self.findings: list[Finding] = []
        for table in schema.tables if schema else ():
            self.state.tables[table.name.lower()] = {
                c.name.lower(): _Column(_norm_type(c.type), not_null=not c.nullable)
                for c in table.columns
            }

    def emit(self, stmt: SqlStatement, rule: str, obj: str, message: str, fix: str) -> None:
        found = hazard_finding(
            MYSQL_HAZARDS,
            rule,
            obj=obj,
            message=message,
            fix=fix,
            file=stmt.file,
            line=stmt.line,
            ignored=stmt.ignored,
        )
        if found is not None:
            self.findings.append(found)

    def walk(self, migration: SqlFile) -> None:
        self.state.new.clear()
        for stmt in migration.statements:
            self.statement(stmt)

    def statement(self, stmt: SqlStatement) -> None:
        node = stmt.node
        if isinstance(node, exp.Create) and str(node.args.get("kind")).upper() == "TABLE":
            self._create_table(node)
        elif isinstance(node, exp.Create) and str(node.args.get("kind")).upper() == "INDEX":
            table = name_of(node.this.args.get("table"))
            kind = str(node.this.args.get("kind") or "").upper()
            self._index_statement(stmt, table, kind, words(stmt.text))
        elif isinstance(node, exp.Alter) and str(node.args.get("kind")).upper() == "TABLE":
            self._alter(stmt, node)
        elif isinstance(node, exp.Drop) and str(node.args.get("kind")).upper() == "TABLE":
            for t in node.args.get("tables") or node.expressions:
                self._data_loss(stmt, "mysql-drop-table", name_of(t), "DROP TABLE")
        elif isinstance(node, exp.Drop) and str(node.args.get("kind")).upper() == "INDEX":
            on = node.args.get("cluster")
            table = name_of(on.this) if isinstance(on, exp.OnProperty) else ""
            self._index_statement(stmt, table, "", words(stmt.text))
        elif isinstance(node, exp.TruncateTable):
            for t in node.expressions:
                self._data_loss(stmt, "mysql-truncate", name_of(t), "TRUNCATE")
        elif isinstance(node, exp.Set):
            self._set(node)
        elif isinstance(node, exp.Command):
            self._command(stmt, words(stmt.text))

    def _create_table(self, node: exp.Create) -> None:
        target = node.this
        name = name_of(target).lower()
        cols: dict[str, _Column] = {}
        if isinstance(target, exp.Schema):
            for col in target.expressions:
                if isinstance(col, exp.ColumnDef):
                    cols[col.name.lower()] = _column_of(col)
        self.state.tables[name] = cols
        self.state.new.add(name)

    def _set(self, node: exp.Set) -> None:
        for item in node.expressions:
            eq = item.this if isinstance(item, exp.SetItem) else None
            if isinstance(eq, exp.EQ) and eq.this.name.lower() == "foreign_key_checks":
                self.state.fk_checks = eq.expression.name.upper() not in ("0", "OFF", "FALSE")

    def _command(self, stmt: SqlStatement, w: list[str]) -> None:
        """Forms sqlglot keeps as text: RENAME TABLE, CREATE INDEX … LOCK=, ALTER … CONVERT."""
        if w[:2] == ["RENAME", "TABLE"] and len(w) > 2:
            for i, word in enumerate(w[2:], start=2):
                if word == "TO" and i >= 1 and w[i - 1].lower() not in self.state.new:
                    self.emit(
                        stmt,
                        "mysql-rename",
                        w[i - 1].lower(),
                        f"RENAME TABLE {w[i - 1].lower()}: clients using the old name fail",
                        MYSQL_HAZARDS["mysql-rename"].solution,
                    )
        elif w[:1] == ["CREATE"] and "INDEX" in w and "ON" in w:
            table = w[w.index("ON") + 1].lower() if w.index("ON") + 1 < len(w) else ""
            kind = w[1] if w[1] in ("FULLTEXT", "SPATIAL") else ""
            self._index_statement(stmt, table, kind, w)
        elif w[:1] == ["DROP"] and "INDEX" in w and "ON" in w:
            self._index_statement(stmt, w[w.index("ON") + 1].lower(), "", w)
        elif w[:2] == ["ALTER", "TABLE"] and len(w) > 2:
            table = w[2].lower()
            op = _Op("copy", "CONVERT TO CHARACTER SET") if "CONVERT" in w else _Op("online")
            actions = stmt.text.split(None, 3)[3] if len(stmt.text.split()) > 3 else ""
            self._verdict(stmt, table, [op], _stated(w), actions.rstrip(";"))

    def _index_statement(self, stmt: SqlStatement, table: str, kind: str, w: list[str]) -> None:
        if kind in ("FULLTEXT", "SPATIAL"):
            op = _Op("copy", f"a {kind} index cannot be built with LOCK=NONE")
        else:
            op = _Op("online")
        self._verdict(stmt, table.lower(), [op], _stated(w), None)

    def _alter(self, stmt: SqlStatement, node: exp.Alter) -> None:
        table = name_of(node.this).lower()
        actions = list(node.args.get("actions") or [])
        options = list(node.args.get("options") or [])
        stated: dict[str, str] = {}
        ops: list[_Op] = []
        for o in options:
            if isinstance(o, exp.AlgorithmProperty):
                stated["ALGORITHM"] = o.name.upper()
            elif isinstance(o, exp.LockProperty):
                stated["LOCK"] = o.name.upper()
            elif isinstance(o, exp.EngineProperty):
                ops.append(_Op("online", "ENGINE= rebuilds the table"))
        adds_pk = any(
            isinstance(a, exp.AddConstraint)
            and any(isinstance(e, exp.PrimaryKey) for e in a.expressions)
            for a in actions
        )
        for action in actions:
            ops.append(self._action(stmt, table, action, adds_pk))
        text = ", ".join(a.sql(dialect=DIALECT) for a in actions)
        self._verdict(stmt, table, ops, stated, text)
        self._apply(table, actions)

    def _action(self, stmt: SqlStatement, table: str, action: exp.Expression, adds_pk: bool) -> _Op:
        if isinstance(action, exp.ColumnDef):
            if any(_is(c, exp.AutoIncrementColumnConstraint) for c in _constraints(action)):
                return _Op("copy", "an AUTO_INCREMENT column cannot be added with LOCK=NONE")
            keyed = (exp.PrimaryKeyColumnConstraint, exp.UniqueColumnConstraint)
            if any(_is(c, keyed) for c in _constraints(action)):
                return _Op("online")
            return _Op("instant", "ADD COLUMN")
        if isinstance(action, exp.ModifyColumn):
            return self._modify(stmt, table, action)
        if isinstance(action, exp.DropPrimaryKey):
            if adds_pk:
                return _Op("online")
            return _Op("copy", "dropping the primary key without adding another")
        if isinstance(action, exp.AddConstraint):
            return self._add_constraint(action)
        if isinstance(action, exp.Drop):
            kind = str(action.args.get("kind") or "").upper()
            if kind == "COLUMN":
                for col in action.args.get("tables") or action.expressions:
                    self._data_loss(stmt, "mysql-drop-column", f"{table}.{name_of(col)}", "DROP")
                return _Op("instant")
            return _Op("online")
        if isinstance(action, exp.RenameColumn):
            self._rename(stmt, table, f"{table}.{name_of(action.this)}")
            return _Op("instant")
        if isinstance(action, exp.AlterRename):
            self._rename(stmt, table, table)
            return _Op("instant")
        if isinstance(action, exp.AlterColumn) and action.args.get("dtype") is None:
            return _Op("instant")
        return _Op("online")

    def _modify(self, stmt: SqlStatement, table: str, action: exp.ModifyColumn) -> _Op:
        new = action.this
        if not isinstance(new, exp.ColumnDef):
            return _Op("online")
        old_name = name_of(action.args.get("rename_from")) or new.name
        if old_name.lower() != new.name.lower():
            self._rename(stmt, table, f"{table}.{old_name}")
        old = self.state.tables.get(table, {}).get(old_name.lower())
        col = _column_of(new)
        if col.charset is not None and (old is None or old.charset != col.charset):
            return _Op("copy", f"changing the character set of {old_name} to {col.charset}")
        if not new.args.get("kind"):
            return _Op("online")
        if old is None:
            return _Op("copy", f"the type of {table}.{old_name} is unknown here; a type change")
        if old.type == col.type:
            # Same type and nullability (a rename, a new comment): metadata only. A NULL /
            # NOT NULL change rebuilds the table in place.
            same_null = old.not_null is not None and old.not_null == col.not_null
            return _Op("instant" if same_null else "online")
        was, now = _VARLEN.match(old.type), _VARLEN.match(col.type)
        if was and now and was[1] == now[1] and int(now[2]) >= int(was[2]):
            return _Op("instant")
        return _Op("copy", f"changing {old_name} from {old.type} to {col.type}")

    def _add_constraint(self, action: exp.AddConstraint) -> _Op:
        for e in action.expressions:
            inner = list(e.expressions) if isinstance(e, exp.Constraint) else [e]
            for part in inner:
                if isinstance(part, exp.ForeignKey) and self.state.fk_checks:
                    return _Op("copy", "adding a FOREIGN KEY while foreign_key_checks is on")
                if isinstance(part, exp.CheckColumnConstraint):
                    return _Op("copy", "adding a CHECK constraint (MariaDB copies to validate)")
                kind = str(part.args.get("kind") or "").upper()
                if isinstance(part, exp.IndexColumnConstraint) and kind in ("FULLTEXT", "SPATIAL"):
                    return _Op("copy", f"a {kind} index cannot be built with LOCK=NONE")
        return _Op("online")

    def _verdict(
        self,
        stmt: SqlStatement,
        table: str,
        ops: Sequence[_Op],
        stated: dict[str, str],
        actions: str | None,
    ) -> None:
        if table in self.state.new:
            return
        algorithm, lock = stated.get("ALGORITHM"), stated.get("LOCK")
        copy = [o.reason for o in ops if o.verdict == "copy"]
        if algorithm == "COPY":
            copy.append("ALGORITHM=COPY is stated")
        if copy:
            refused = algorithm in ("INPLACE", "NOCOPY", "INSTANT") or lock == "NONE"
            outcome = (
                "the server refuses the stated ALGORITHM/LOCK, so the statement fails"
                if refused
                else "the table is copied while writes to it are blocked"
            )
            self.emit(
                stmt,
                "mysql-copy-algorithm",
                table,
                f"{'; '.join(copy)} needs ALGORITHM=COPY (or a shared lock) on {table}: {outcome}",
                _copy_plan(table, actions),
            )
            return
        body = stmt.text.rstrip().rstrip(";")
        if any(o.verdict == "online" for o in ops) and lock != "NONE":
            sep = ", " if body.upper().startswith("ALTER") else " "
            self.emit(
                stmt,
                "mysql-lock-not-none",
                table,
                f"runs online on {table} only if the server chooses to; without LOCK=NONE it may "
                "block writes instead of failing",
                f"{body}{sep}ALGORITHM=INPLACE{sep}LOCK=NONE;",
            )
        elif any(o.reason == "ADD COLUMN" for o in ops) and algorithm is None:
            self.emit(
                stmt,
                "mysql-instant-possible",
                table,
                f"ADD COLUMN on {table} can be ALGORITHM=INSTANT (MariaDB >= 10.3, MySQL >= "
                "8.0.12); stating it makes the server refuse rather than rebuild",
                f"{body}, ALGORITHM=INSTANT;",
            )

    def _data_loss(self, stmt: SqlStatement, rule: str, obj: str, what: str) -> None:
        table = obj.split(".")[0].lower()
        if table in self.state.new and rule != "mysql-drop-column":
            self.state.new.discard(table)
            return
        if table in self.state.new:
            return
        self.emit(
            stmt,
            rule,
            obj,
            f"{what} {obj} loses its data for good",
            MYSQL_HAZARDS[rule].solution,
        )

    def _rename(self, stmt: SqlStatement, table: str, obj: str) -> None:
        if table in self.state.new:
            return
        self.emit(
            stmt,
            "mysql-rename",
            obj,
            f"renaming {obj}: clients using the old name fail",
            MYSQL_HAZARDS["mysql-rename"].solution,
        )

    def _apply(self, table: str, actions: list[exp.Expression]) -> None:
        cols = self.state.tables.get(table)
        if cols is None:
            return
        for a in actions:
            if isinstance(a, exp.ColumnDef):
                cols[a.name.lower()] = _column_of(a)
            elif isinstance(a, exp.ModifyColumn) and isinstance(a.this, exp.ColumnDef):
                cols.pop(name_of(a.args.get("rename_from")).lower(), None)
                cols[a.this.name.lower()] = _column_of(a.this)


def _constraints(col: exp.ColumnDef) -> list[exp.Expression]:
    return [c.args.get("kind") for c in col.args.get("constraints") or [] if c.args.get("kind")]


def _is(node: exp.Expression, kinds: type | tuple[type, ...]) -> bool:
    return isinstance(node, kinds)


def _column_of(col: exp.ColumnDef) -> _Column:
    kind = col.args.get("kind")
    charset = None
    not_null = False
    for c in _constraints(col):
        if isinstance(c, exp.CharacterSetColumnConstraint):
            charset = c.name.lower()
        elif isinstance(c, exp.PrimaryKeyColumnConstraint) or (
            isinstance(c, exp.NotNullColumnConstraint) and not c.args.get("allow_null")
        ):
            not_null = True
    return _Column(_norm_type(kind.sql(dialect=DIALECT)) if kind else "", charset, not_null)


def _stated(w: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for i, word in enumerate(w[:-2]):
        if word in ("ALGORITHM", "LOCK") and w[i + 1] == "":
            out[word] = w[i + 2]
    return out


def _copy_plan(table: str, actions: str | None) -> str:
    alter = actions or "<the change>"
    return (
        f"-- copy in the background and swap atomically (writes continue):\n"
        f'gh-ost --table={table} --alter="{alter}" --execute\n'
        f'-- or: pt-online-schema-change --alter "{alter}" D=<database>,t={table} --execute\n'
        "-- or expand/contract: ADD COLUMN new_col <type>, ALGORITHM=INSTANT; backfill in "
        "batches; switch clients; DROP the old column"
    )


def check_mysql(migrations: Sequence[SqlFile], *, schema: Schema | None = None) -> list[Finding]:
    """Online-DDL hazards of parsed MySQL/MariaDB migrations, in statement order.

    `schema` (optional) is what the migration runs against: it supplies the current column
    types, so that a MODIFY keeping the type (or widening a VARCHAR) is not taken for a copy.
    """
    checker = _Checker(schema)
    for migration in migrations:
        checker.walk(migration)
    return checker.findings


__all__ = ["MYSQL_HAZARDS", "check_mysql"]
