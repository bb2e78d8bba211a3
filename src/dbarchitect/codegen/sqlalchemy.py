"""SQLAlchemy 2.0 typed declarative models for any Schema.

`render_models(schema)` writes one module: `class Base(DeclarativeBase)`, a class per table
with `Mapped[...]` columns, keys, checks and indexes in `__table_args__`, relationships on
both sides of every foreign key, Python enums for PostgreSQL enum types, sequences, and the
SQL `create_all` cannot express attached to `Base.metadata` events (sqlalchemy_plan.py), so
that `Base.metadata.create_all(engine)` on an empty database of the schema's engine builds a
database that introspects equal to the schema. Tables without a primary key and pure join
tables are plain `sa.Table`s (the ORM maps only tables with a key).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from dbarchitect.codegen import sqlalchemy_code as code
from dbarchitect.codegen.sqlalchemy_code import LINE_LENGTH, atom, call, layout, string
from dbarchitect.codegen.sqlalchemy_names import (
    RESERVED_ATTRIBUTES,
    RESERVED_MODULE,
    Scope,
    class_name,
    identifier,
    snake,
)
from dbarchitect.codegen.sqlalchemy_plan import ModelPlan, plan_models
from dbarchitect.codegen.sqlalchemy_relations import is_pure_join, plan_relations
from dbarchitect.codegen.sqlalchemy_tables import TableWriter
from dbarchitect.dialects import get_dialect
from dbarchitect.model import EnumType, Schema, Sequence, Table

_RAW_TYPE = '''class RawType(sa.types.UserDefinedType[Any]):
    """A column type SQLAlchemy has no class for, rendered exactly as the engine prints it."""

    cache_ok = True

    def __init__(self, spec: str) -> None:
        self.spec = spec

    def get_col_spec(self, **kw: Any) -> str:
        return self.spec'''

_RUN_SQL = '''def run_sql(event: str, *statements: str) -> None:
    """Run SQL that create_all/drop_all cannot express at a Base.metadata event, in order."""
    for statement in statements:
        # DDL() formats its text with %: a literal percent sign is written twice.
        sa.event.listen(Base.metadata, event, sa.DDL(statement.replace("%", "%%")))'''

_ENUM_VALUES = '''def enum_values(cls: type[enum.Enum]) -> list[str]:
    """The database labels of a Python enum: its members' values, in order."""
    return [str(member.value) for member in cls]'''


@dataclass(slots=True)
class _Module:
    """The pieces of the generated module, collected while rendering."""

    imports: set[str] = field(default_factory=set)
    blocks: list[str] = field(default_factory=list)

    def add(self, lines: list[str] | str) -> None:
        self.blocks.append(lines if isinstance(lines, str) else "\n".join(lines))


def render_models(schema: Schema) -> str:
    """The Python source of SQLAlchemy 2.0 models reproducing `schema` on its engine."""
    plan = plan_models(schema)
    core = plan.core
    dialect = get_dialect(schema.dialect)
    tables = {t.qualified: t for t in core.tables}
    module_scope = Scope(RESERVED_MODULE | {"run_sql", "enum_values"})
    with_key = {q for q, t in tables.items() if t.primary_key is not None}
    classes = {q for q in with_key if not is_pure_join(tables[q], with_key)}
    names = {
        q: module_scope.take(
            class_name(tables[q].name), class_name(f"{tables[q].schema} {tables[q].name}")
        )
        for q in sorted(classes)
    }
    enums = _enum_names(core.enums, module_scope, dialect.quote)
    table_vars = {
        q: module_scope.take(identifier(snake(tables[q].name) + "_table"))
        for q in sorted(set(tables) - classes)
    }
    attributes = {q: _attributes(tables[q], q in classes) for q in tables}
    scopes = {q: Scope({*attributes[q].values(), *RESERVED_ATTRIBUTES}) for q in classes}
    relations = plan_relations(tables, classes, scopes)
    writer = TableWriter(
        schema=core,
        dialect=dialect,
        enums={text: (var, cls) for text, (var, cls, _) in enums.items()},
        attributes=attributes,
        class_names=names,
        table_vars=table_vars,
    )

    out = _Module()
    out.add(["class Base(DeclarativeBase):", '    """Base of the models below."""'])
    body: list[str] = []
    for q in sorted(table_vars):
        body.append(writer.core_table(tables[q], table_vars[q]))
    for q in sorted(classes):
        mine = [r for r in relations if r.owner == q]
        body.append(writer.model_class(tables[q], names[q], mine))
    orm = ["DeclarativeBase"]
    orm += ["Mapped", "mapped_column"] if classes else []
    orm += ["relationship"] if relations else []
    out.imports.add(f"from sqlalchemy.orm import {', '.join(orm)}")
    if writer.uses_raw:
        out.imports.add("from typing import Any")
        out.add(_RAW_TYPE)
    if _has_sql(plan):
        out.add(_RUN_SQL)
    _events(out, "before_create", plan.before_types, "the namespaces and extensions of the types")
    _enums(out, enums, dialect.default_schema)
    _events(out, "before_create", plan.before_tables, "types and functions the tables use")
    for seq_ in core.sequences:
        out.add(_sequence(seq_, module_scope, dialect.default_schema))
    out.blocks += body
    _events(out, "after_create", plan.after_create, "what create_all cannot make")
    _events(out, "before_drop", _dropping(plan.before_drop), "objects that depend on the tables")
    _events(out, "after_drop", plan.after_drop, "the objects created before the tables")
    out.imports |= writer.imports
    return _assemble(schema, out, len(classes), len(table_vars))


_EnumNames = dict[str, tuple[str, str, EnumType]]


def _enum_names(
    enums: tuple[EnumType, ...], scope: Scope, quote: Callable[[str], str]
) -> _EnumNames:
    """Enum type text (as columns print it) → (SQLAlchemy variable, Python class, enum)."""
    out: _EnumNames = {}
    for e in enums:
        cls = class_name(e.name)
        cls = scope.take(cls, cls + "Enum")
        var = scope.take(identifier(snake(e.name) + "_enum"))
        qualified = f"{quote(e.schema)}.{quote(e.name)}" if e.schema else quote(e.name)
        out.setdefault(qualified, (var, cls, e))
    return out


def _enums(out: _Module, enums: _EnumNames, default: str) -> None:
    """A Python enum class and a SQLAlchemy Enum (created with the metadata) per enum type."""
    if not enums:
        return
    out.imports.add("import enum")
    out.add(_ENUM_VALUES)
    for var, cls, e in enums.values():
        lines = [f"class {cls}(enum.Enum):", f'    """Values of the enum type {_label(e)}."""', ""]
        members = Scope()
        for value in e.values:
            lines.append(f"    {members.take(_member_name(value))} = {string(value)}")
        out.add(lines)
        node = call(
            "sa.Enum",
            cls,
            name=string(e.name),
            schema=string(e.schema) if e.schema and e.schema != default else None,
            metadata="Base.metadata",
            values_callable="enum_values",
        )
        out.add(layout(node, 0, prefix=f"{var} = "))


def _label(e: EnumType) -> str:
    return f"{e.schema}.{e.name}" if e.schema else e.name


def _member_name(value: str) -> str:
    name = identifier(re.sub(r"\W+", "_", value.upper()).strip("_"), fallback="VALUE")
    if name.startswith("_"):
        name = "VALUE" + name
    return name


def _sequence(s: Sequence, scope: Scope, default: str) -> list[str]:
    types = {"integer": "sa.Integer()", "smallint": "sa.SmallInteger()"}
    node = call(
        "sa.Sequence",
        string(s.name),
        schema=string(s.schema) if s.schema and s.schema != default else None,
        data_type=types.get(s.type),
        start=str(s.start) if s.start != 1 or s.increment < 0 else None,
        increment=str(s.increment) if s.increment != 1 else None,
        minvalue=str(s.min_value) if s.min_value is not None else None,
        maxvalue=str(s.max_value) if s.max_value is not None else None,
        cache=str(s.cache) if s.cache != 1 else None,
        cycle="True" if s.cycle else None,
        metadata="Base.metadata",
    )
    var = scope.take(identifier(snake(s.name)))
    return layout(node, 0, prefix=f"{var} = ")


def _has_sql(plan: ModelPlan) -> bool:
    return any(
        (
            plan.before_types,
            plan.before_tables,
            plan.after_create,
            plan.before_drop,
            plan.after_drop,
        )
    )


def _dropping(statements: tuple[str, ...]) -> tuple[str, ...]:
    """Of the SQL that undoes the after_create part, what drop_all needs: dropping objects that
    depend on the tables (settings, comments and grants go with the tables anyway)."""
    # A sequence a column owns would go with its table before drop_all drops it itself.
    keep = ("DROP ", "ALTER DEFAULT PRIVILEGES", "ALTER SEQUENCE")
    return tuple(
        s
        for s in statements
        if s.startswith(keep) or (s.startswith("ALTER TABLE") and " DROP CONSTRAINT " in s)
    )


def _events(out: _Module, event: str, statements: tuple[str, ...], what: str) -> None:
    if not statements:
        return
    node = call("run_sql", string(event), *(atom(code.sql_string(s)) for s in statements))
    out.add([f"# {event}: {what}.", *layout(node, 0)])


def _attributes(table: Table, mapped: bool) -> dict[str, str]:
    """Column name → Python attribute name (plain Tables keep column names as keys)."""
    if not mapped:
        return {c.name: c.name for c in table.columns}
    scope = Scope(RESERVED_ATTRIBUTES)
    return {c.name: scope.take(identifier(c.name, fallback="column")) for c in table.columns}


def _assemble(schema: Schema, out: _Module, classes: int, tables: int) -> str:
    label = get_dialect(schema.dialect).label
    what = f"{_count(classes, 'mapped class', 'mapped classes')} and "
    what += _count(tables, "plain table", "plain tables")
    header = [
        f'"""SQLAlchemy 2.0 models of a {label} schema, generated by dbarchitect.',
        "",
        f"{what}. `Base.metadata.create_all(engine)` on an empty",
        f"{label} database builds the whole schema, including what SQLAlchemy cannot declare",
        "(run by the `run_sql` events).",
        '"""',
        "",
        "from __future__ import annotations",
    ]
    body = "".join("\n\n" + block + "\n" for block in out.blocks)
    std = sorted(i for i in out.imports if i.startswith("import ") and "sqlalchemy" not in i)
    std += sorted(i for i in out.imports if i.startswith("from ") and "sqlalchemy" not in i)
    third = ["import sqlalchemy as sa"] if "sa." in body else []
    third += sorted(i for i in out.imports if i.startswith("from sqlalchemy"))
    parts = ["\n".join(header)]
    if std:
        parts.append("\n".join(std))
    parts.append("\n".join(third))
    text = "\n\n".join(parts) + "\n" + body
    if any(len(line) > LINE_LENGTH for line in text.splitlines()):
        # SQL and names that cannot be split are left long rather than made unreadable.
        future = "\n\nfrom __future__"
        text = text.replace(future, "\n\n# ruff: noqa: E501" + future, 1)
    return text


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


__all__ = ["render_models"]
