"""`dbarch check --dialect sqlite`: what SQLite's ALTER TABLE cannot do, and data loss.

SQLite's ALTER TABLE does RENAME TABLE, RENAME COLUMN, ADD COLUMN and DROP COLUMN in place,
each with restrictions (https://www.sqlite.org/lang_altertable.html); anything else (changing
a type or a constraint, SET NOT NULL, ADD CONSTRAINT…) is a syntax error and needs the
documented 12-step table rebuild. Some ADD COLUMN restrictions (PRIMARY KEY, UNIQUE) fail on
any table, others (non-constant default, NOT NULL without a default, STORED generated) only
when the table has rows — so on a table created earlier in the same file only the former are
reported. tests/migrate/test_check_sqlite.py runs every failing case on real SQLite.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlglot import exp

from dbarchitect.migrate.safety.hazards import add_hazard, hazard_finding
from dbarchitect.migrate.safety.sqlglot_parse import SqlFile, SqlStatement, name_of
from dbarchitect.model.schema import Schema
from dbarchitect.review.finding import Finding, Severity
from dbarchitect.review.registry import Rule

SQLITE_HAZARDS: dict[str, Rule] = {}


def _hazard(id: str, severity: Severity, title: str, problem: str, solution: str, ex: str) -> None:
    add_hazard(SQLITE_HAZARDS, "sqlite", id, severity, title, problem, solution, ex)


_REBUILD_STEPS = """The 12-step procedure of the SQLite documentation: PRAGMA foreign_keys=OFF;
    BEGIN; CREATE TABLE new_X with the wanted definition; INSERT INTO new_X SELECT … FROM X;
    DROP TABLE X; ALTER TABLE new_X RENAME TO X; recreate X's indexes, triggers and views; PRAGMA
    foreign_key_check; COMMIT; PRAGMA foreign_keys=ON."""
_hazard(
    "sqlite-table-rebuild",
    "warning",
    "ALTER TABLE operation SQLite cannot do in place",
    """SQLite's ALTER TABLE only renames a table or column, adds a column or drops a column
    (which fails on a PRIMARY KEY, UNIQUE or indexed column). Anything else — changing a type,
    NOT NULL, a default or a constraint — is refused and needs the table rebuilt.""",
    _REBUILD_STEPS,
    "ALTER TABLE users ALTER COLUMN age TYPE bigint;",
)
_hazard(
    "sqlite-add-column-restriction",
    "error",
    "ADD COLUMN that SQLite refuses",
    """SQLite refuses ADD COLUMN with PRIMARY KEY or UNIQUE, and on a table with rows a column
    with a non-constant default (CURRENT_TIMESTAMP, an expression in parentheses), NOT NULL
    without a non-NULL default, or a STORED generated column: the migration fails.""",
    """Give the column a constant default (and fill it later), add a unique index with CREATE
    UNIQUE INDEX instead of UNIQUE, make a generated column VIRTUAL — or rebuild the table
    with the 12-step procedure.""",
    "ALTER TABLE users ADD COLUMN created_at text NOT NULL DEFAULT CURRENT_TIMESTAMP;",
)
_DATA_LOSS = """Deploy the code that stops using it first, keep a backup, and drop it only when
    nothing reads it any more."""
_hazard(
    "sqlite-drop-table",
    "warning",
    "Table dropped",
    "DROP TABLE loses its data for good and breaks every client still using it.",
    _DATA_LOSS,
    "DROP TABLE legacy_orders;",
)
_hazard(
    "sqlite-drop-column",
    "warning",
    "Column dropped",
    """DROP COLUMN loses the column's data for good (and rewrites the table to clear it) and
    breaks clients still using it.""",
    _DATA_LOSS,
    "ALTER TABLE users DROP COLUMN middle_name;",
)

_NON_CONSTANT = ("CURRENT_TIMESTAMP", "CURRENT_DATE", "CURRENT_TIME")


@dataclass(slots=True)
class _Table:
    columns: set[str] = field(default_factory=set)
    keyed: dict[str, str] = field(default_factory=dict)  # column → why it cannot be dropped


def rebuild_plan(table: str, change: str) -> str:
    """The documented 12-step rebuild of `table`, as SQL to adapt."""
    return (
        "PRAGMA foreign_keys = OFF;\n"
        "BEGIN;\n"
        f"CREATE TABLE new_{table} (...);  -- the new definition: {change}\n"
        f"INSERT INTO new_{table} (...) SELECT ... FROM {table};\n"
        f"DROP TABLE {table};\n"
        f"ALTER TABLE new_{table} RENAME TO {table};\n"
        f"-- recreate the indexes, triggers and views of {table}\n"
        "PRAGMA foreign_key_check;\n"
        "COMMIT;\n"
        "PRAGMA foreign_keys = ON;"
    )


class _Checker:
    def __init__(self, schema: Schema | None) -> None:
        self.tables: dict[str, _Table] = {}
        self.new: set[str] = set()
        self.findings: list[Finding] = []
        for table in schema.tables if schema else ():
            t = self.tables.setdefault(table.name.lower(), _Table())
            t.columns = {c.name.lower() for c in table.columns}
            for col in table.primary_key.columns if table.primary_key else ():
                t.keyed[col.lower()] = "PRIMARY KEY"
            for u in table.uniques:
                for col in u.columns:
                    t.keyed[col.lower()] = "UNIQUE"
            for ix in table.indexes:
                for key in ix.keys:
                    if not key.expression:
                        t.keyed.setdefault(key.column.lower(), f"indexed by {ix.name}")

    def emit(self, stmt: SqlStatement, rule: str, obj: str, message: str, fix: str) -> None:
        found = hazard_finding(
            SQLITE_HAZARDS,
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
        self.new.clear()
        for stmt in migration.statements:
            self.statement(stmt)

    def statement(self, stmt: SqlStatement) -> None:
        node = stmt.node
        kind = str(node.args.get("kind") or "").upper()
        if isinstance(node, exp.Create) and kind == "TABLE":
            self._create_table(node)
        elif isinstance(node, exp.Create) and kind == "INDEX":
            index = node.this
            table = self.tables.setdefault(name_of(index.args.get("table")).lower(), _Table())
            params = index.args.get("params")
            for col in params.args.get("columns") or [] if params else []:
                if isinstance(col.this, exp.Column):
                    table.keyed.setdefault(col.this.name.lower(), f"indexed by {index.name}")
        elif isinstance(node, exp.Alter) and kind == "TABLE":
            self._alter(stmt, node)
        elif isinstance(node, exp.Drop) and kind == "TABLE":
            for t in node.args.get("tables") or node.expressions:
                name = name_of(t).lower()
                if name not in self.new:
                    self.emit(
                        stmt,
                        "sqlite-drop-table",
                        name,
                        f"DROP TABLE {name} loses its data for good",
                        SQLITE_HAZARDS["sqlite-drop-table"].solution,
                    )
                self.new.discard(name)
                self.tables.pop(name, None)

    def _create_table(self, node: exp.Create) -> None:
        target = node.this
        name = name_of(target).lower()
        table = _Table()
        for part in target.expressions if isinstance(target, exp.Schema) else []:
            if isinstance(part, exp.ColumnDef):
                table.columns.add(part.name.lower())
                for c in _constraints(part):
                    if isinstance(c, exp.PrimaryKeyColumnConstraint):
                        table.keyed[part.name.lower()] = "PRIMARY KEY"
                    elif isinstance(c, exp.UniqueColumnConstraint):
                        table.keyed[part.name.lower()] = "UNIQUE"
            elif isinstance(part, exp.PrimaryKey | exp.UniqueColumnConstraint):
                why = "PRIMARY KEY" if isinstance(part, exp.PrimaryKey) else "UNIQUE"
                for col in part.find_all(exp.Identifier):
                    table.keyed.setdefault(col.name.lower(), why)
        self.tables[name] = table
        self.new.add(name)

    def _alter(self, stmt: SqlStatement, node: exp.Alter) -> None:
        table = name_of(node.this).lower()
        for action in node.args.get("actions") or []:
            if isinstance(action, exp.RenameColumn | exp.AlterRename):
                continue
            if isinstance(action, exp.ColumnDef):
                self._add_column(stmt, table, action)
            elif isinstance(action, exp.Drop) and str(action.args.get("kind")).upper() == "COLUMN":
                for col in action.args.get("tables") or action.expressions:
                    self._drop_column(stmt, table, name_of(col).lower())
            elif isinstance(action, exp.Command) and str(action.this).upper() == "DROP":
                # `DROP name` (COLUMN omitted) is kept by sqlglot as text.
                arg = action.args.get("expression")
                text = (arg.name if isinstance(arg, exp.Expression) else str(arg or "")).split()
                names = [w for w in text if w.upper() != "COLUMN"]
                if names:
                    self._drop_column(stmt, table, names[0].strip('`"[]').lower())
            else:
                change = action.sql(dialect="sqlite")
                self.emit(
                    stmt,
                    "sqlite-table-rebuild",
                    table,
                    f"SQLite's ALTER TABLE cannot do `{change}` on {table}: the statement fails; "
                    "the table must be rebuilt",
                    rebuild_plan(table, change),
                )

    def _add_column(self, stmt: SqlStatement, table: str, col: exp.ColumnDef) -> None:
        name = col.name.lower()
        refused: list[str] = []
        has_rows = table not in self.new
        default: exp.Expression | None = None
        not_null = stored = False
        for c in _constraints(col):
            if isinstance(c, exp.PrimaryKeyColumnConstraint):
                refused.append("Cannot add a PRIMARY KEY column")
            elif isinstance(c, exp.UniqueColumnConstraint):
                refused.append("Cannot add a UNIQUE column")
            elif isinstance(c, exp.DefaultColumnConstraint):
                default = c.this
            elif isinstance(c, exp.NotNullColumnConstraint) and not c.args.get("allow_null"):
                not_null = True
            elif isinstance(c, exp.ComputedColumnConstraint) and c.args.get("persisted"):
                stored = True
        if has_rows and default is not None and _non_constant(default):
            refused.append("Cannot add a column with non-constant default")
        if has_rows and not_null and (default is None or isinstance(default, exp.Null)):
            refused.append("Cannot add a NOT NULL column with default value NULL")
        if has_rows and stored:
            refused.append("cannot add a STORED column")
        if refused:
            self.emit(
                stmt,
                "sqlite-add-column-restriction",
                f"{table}.{name}",
                f"ADD COLUMN {table}.{name} fails: {'; '.join(refused)}",
                SQLITE_HAZARDS["sqlite-add-column-restriction"].solution
                + "\n"
                + rebuild_plan(table, f"add column {col.sql(dialect='sqlite')}"),
            )
        self.tables.setdefault(table, _Table()).columns.add(name)

    def _drop_column(self, stmt: SqlStatement, table: str, column: str) -> None:
        why = self.tables.get(table, _Table()).keyed.get(column)
        if why is not None:
            self.emit(
                stmt,
                "sqlite-table-rebuild",
                f"{table}.{column}",
                f"DROP COLUMN {table}.{column} fails: the column is {why}; the table must be "
                "rebuilt (or the index dropped first)",
                rebuild_plan(table, f"without column {column}"),
            )
        if table not in self.new:
            self.emit(
                stmt,
                "sqlite-drop-column",
                f"{table}.{column}",
                f"DROP COLUMN {table}.{column} loses its data for good",
                SQLITE_HAZARDS["sqlite-drop-column"].solution,
            )
        self.tables.get(table, _Table()).columns.discard(column)


def _constraints(col: exp.ColumnDef) -> list[exp.Expression]:
    return [c.args["kind"] for c in col.args.get("constraints") or [] if c.args.get("kind")]


def _non_constant(default: exp.Expression) -> bool:
    """SQLite's rule: CURRENT_TIME/DATE/TIMESTAMP or an expression in parentheses."""
    if isinstance(default, exp.Paren):
        return True
    if isinstance(default, exp.CurrentTimestamp | exp.CurrentDate | exp.CurrentTime):
        return True
    return default.sql(dialect="sqlite").upper() in _NON_CONSTANT


def check_sqlite(migrations: Sequence[SqlFile], *, schema: Schema | None = None) -> list[Finding]:
    """Hazards of parsed SQLite migrations, in statement order; `schema` (optional) is what the
    migration runs against (its keys and indexes decide whether a DROP COLUMN can work)."""
    checker = _Checker(schema)
    for migration in migrations:
        checker.walk(migration)
    return checker.findings


__all__ = ["SQLITE_HAZARDS", "check_sqlite", "rebuild_plan"]
