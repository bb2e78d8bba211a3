"""Operations → PostgreSQL statements, in the order migrate.plan gave the operations.

One renderer per (action, kind), registered in `_RENDERERS`; they live in migrate_tables
(tables, columns), migrate_constraints (keys, checks, foreign keys, indexes), migrate_types
(schemas, extensions, types, sequences), migrate_objects (functions, views, triggers,
policies) and migrate_grants (privileges). Every statement ends with ";"; those PostgreSQL
refuses inside a transaction block (CREATE/DROP INDEX CONCURRENTLY, ALTER TYPE … ADD VALUE)
are marked non-transactional.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from dbarchitect.dialects.postgres import migrate_constraints as cons
from dbarchitect.dialects.postgres import migrate_grants as grants
from dbarchitect.dialects.postgres import migrate_objects as objs
from dbarchitect.dialects.postgres import migrate_tables as tables
from dbarchitect.dialects.postgres import migrate_types as types
from dbarchitect.dialects.postgres.migrate_context import Context
from dbarchitect.dialects.postgres.quoting import qname, quote
from dbarchitect.errors import InputError
from dbarchitect.migrate.migration import Statement
from dbarchitect.migrate.operations import Operation
from dbarchitect.model import (
    CheckConstraint,
    Collation,
    Column,
    CompositeType,
    DefaultPrivilege,
    DomainType,
    EnumType,
    ExclusionConstraint,
    Extension,
    ForeignKey,
    Function,
    Grant,
    Index,
    Namespace,
    Policy,
    PrimaryKey,
    RangeType,
    Schema,
    Table,
    TextSearchConfig,
    Trigger,
    UniqueConstraint,
    View,
)
from dbarchitect.model import Sequence as SequenceObj

_CONSTRAINTS = ("primary_key", "foreign_key", "unique", "check", "exclusion")
_TYPES = ("enum", "domain", "composite", "range")
_CONSTRAINT_CLASSES = (
    PrimaryKey,
    ForeignKey,
    UniqueConstraint,
    CheckConstraint,
    ExclusionConstraint,
)

Renderer = Callable[[Context, Operation], None]


def _comment_alter(keyword: str) -> Renderer:
    def render(ctx: Context, op: Operation) -> None:
        b, a = op.before, op.after
        name = getattr(a, "name", "")
        if isinstance(a, (Namespace, Extension)):
            types.alter_comment_only(ctx, keyword, quote(name), b, a)
        else:
            types.alter_comment_only(ctx, keyword, qname(getattr(a, "schema", ""), name), b, a)

    return render


def _drop_named(keyword: str) -> Renderer:
    def render(ctx: Context, op: Operation) -> None:
        obj = op.before
        name = getattr(obj, "name", "")
        if isinstance(obj, (Namespace, Extension)):
            ctx.emit(f"DROP {keyword} {quote(name)};")
        else:
            ctx.emit(f"DROP {keyword} {qname(getattr(obj, 'schema', ''), name)};")

    return render


def _alter_type(ctx: Context, op: Operation) -> None:
    b, a = _type_obj(op.before), _type_obj(op.after)
    if isinstance(b, EnumType) and isinstance(a, EnumType):
        types.alter_enum(ctx, b, a)
    elif isinstance(b, DomainType) and isinstance(a, DomainType):
        types.alter_domain(ctx, b, a)
    elif isinstance(b, CompositeType) and isinstance(a, CompositeType):
        types.alter_composite(ctx, b, a)
    else:
        types.alter_comment_only(ctx, "TYPE", qname(a.schema, a.name), b, a)


T = TypeVar("T")


def _b(op: Operation, cls: type[T]) -> T:
    """The operation's `before`, checked to be a `cls`."""
    if not isinstance(op.before, cls):
        raise InputError(f"{op.describe()}: expected a {cls.__name__} before")
    return op.before


def _a(op: Operation, cls: type[T]) -> T:
    """The operation's `after`, checked to be a `cls`."""
    if not isinstance(op.after, cls):
        raise InputError(f"{op.describe()}: expected a {cls.__name__} after")
    return op.after


def _constraint(obj: object) -> cons.Constraint:
    if not isinstance(obj, _CONSTRAINT_CLASSES):
        raise InputError(f"expected a constraint, got {type(obj).__name__}")
    return obj


def _type_obj(obj: object) -> types.TypeObj:
    if not isinstance(obj, (EnumType, DomainType, CompositeType, RangeType)):
        raise InputError(f"expected a type, got {type(obj).__name__}")
    return obj


def _registry() -> dict[tuple[str, str], Renderer]:
    own = objs
    r: dict[tuple[str, str], Renderer] = {
        ("create", "namespace"): lambda c, o: types.create_namespace(c, _a(o, Namespace)),
        ("drop", "namespace"): _drop_named("SCHEMA"),
        ("alter", "namespace"): _comment_alter("SCHEMA"),
        ("create", "extension"): lambda c, o: types.create_extension(c, _a(o, Extension)),
        ("drop", "extension"): _drop_named("EXTENSION"),
        ("alter", "extension"): lambda c, o: types.alter_extension(
            c, _b(o, Extension), _a(o, Extension)
        ),
        ("create", "collation"): lambda c, o: types.create_collation(c, _a(o, Collation)),
        ("drop", "collation"): _drop_named("COLLATION"),
        ("alter", "collation"): _comment_alter("COLLATION"),
        ("create", "ts_config"): lambda c, o: types.create_ts_config(c, _a(o, TextSearchConfig)),
        ("drop", "ts_config"): _drop_named("TEXT SEARCH CONFIGURATION"),
        ("alter", "ts_config"): _comment_alter("TEXT SEARCH CONFIGURATION"),
        ("create", "sequence"): lambda c, o: types.create_sequence(c, _a(o, SequenceObj)),
        ("drop", "sequence"): lambda c, o: types.drop_sequence(c, _b(o, SequenceObj)),
        ("alter", "sequence"): lambda c, o: types.alter_sequence(
            c, _b(o, SequenceObj), _a(o, SequenceObj)
        ),
        ("create", "function"): lambda c, o: own.create_function(c, _a(o, Function)),
        ("drop", "function"): lambda c, o: own.drop_function(c, _b(o, Function)),
        ("alter", "function"): lambda c, o: own.alter_function(c, _b(o, Function), _a(o, Function)),
        ("create", "table"): lambda c, o: tables.create_table(c, _a(o, Table)),
        ("drop", "table"): lambda c, o: tables.drop_table(c, _b(o, Table)),
        ("alter", "table"): lambda c, o: tables.alter_table(c, _b(o, Table), _a(o, Table)),
        ("rename", "table"): lambda c, o: tables.rename_table(c, _b(o, Table), _a(o, Table)),
        ("create", "view"): lambda c, o: own.create_view(c, _a(o, View)),
        ("drop", "view"): lambda c, o: own.drop_view(c, _b(o, View)),
        ("alter", "view"): lambda c, o: own.alter_view(c, _b(o, View), _a(o, View)),
        ("create", "column"): lambda c, o: tables.create_column(c, o.owner, _a(o, Column)),
        ("drop", "column"): lambda c, o: tables.drop_column(c, o.owner, _b(o, Column)),
        ("alter", "column"): lambda c, o: tables.alter_column(
            c, o.owner, _b(o, Column), _a(o, Column)
        ),
        ("rename", "column"): lambda c, o: tables.rename_column(
            c, o.owner, _b(o, Column), _a(o, Column)
        ),
        ("create", "index"): lambda c, o: cons.create_index(c, o.owner, _a(o, Index)),
        ("drop", "index"): lambda c, o: cons.drop_index(c, o.owner, _b(o, Index)),
        ("alter", "index"): lambda c, o: cons.alter_index(c, o.owner, _b(o, Index), _a(o, Index)),
        ("create", "trigger"): lambda c, o: own.create_trigger(c, o.owner, _a(o, Trigger)),
        ("drop", "trigger"): lambda c, o: own.drop_trigger(c, o.owner, _b(o, Trigger)),
        ("alter", "trigger"): lambda c, o: own.alter_trigger(
            c, o.owner, _b(o, Trigger), _a(o, Trigger)
        ),
        ("create", "policy"): lambda c, o: own.create_policy(c, o.owner, _a(o, Policy)),
        ("drop", "policy"): lambda c, o: own.drop_policy(c, o.owner, _b(o, Policy)),
        ("alter", "policy"): lambda c, o: own.alter_policy(
            c, o.owner, _b(o, Policy), _a(o, Policy)
        ),
        ("create", "grant"): lambda c, o: grants.create_grant(c, _a(o, Grant)),
    }
    for kind in _TYPES:
        r[("create", kind)] = lambda c, o: types.create_type(c, _type_obj(o.after))
        r[("drop", kind)] = lambda c, o: types.drop_type(c, _type_obj(o.before))
        r[("alter", kind)] = _alter_type
    for kind in _CONSTRAINTS:
        r[("create", kind)] = lambda c, o: cons.create_constraint(c, o.owner, _constraint(o.after))
        r[("drop", kind)] = lambda c, o: cons.drop_constraint(c, o.owner, _constraint(o.before))
        r[("alter", kind)] = lambda c, o: cons.alter_constraint(
            c, o.owner, _constraint(o.before), _constraint(o.after)
        )
        r[("validate", kind)] = lambda c, o: cons.validate_constraint(
            c, o.owner, _constraint(o.after)
        )
    return r


_RENDERERS = _registry()


def render_operations(
    operations: Sequence[Operation], before: Schema, after: Schema, *, online: bool = True
) -> list[Statement]:
    """SQL statements, in order, for operations already ordered by migrate.plan.

    `before` is the schema the database is in when the migration starts, `after` the one it
    must end in. With `online`, tables that already hold rows get the forms that keep them
    readable and writable (see migrate_constraints.py).
    """
    ctx = Context(before=before, after=after, online=online, operations=operations)
    roles = grants.roles_statement(operations)
    if roles:
        ctx.emit(roles)
    if any(op.kind == "function" and op.action in ("create", "alter") for op in operations):
        # Bodies may name tables created later in the migration; they are checked at call.
        ctx.emit("SET check_function_bodies = false;")
    dropped_objects = ctx.objects_dropped()
    defaults_done: set[str] = set()
    for op in operations:
        ctx.op = op
        if op.kind == "grant" and op.action == "drop":
            grants.drop_grant(ctx, _b(op, Grant), dropped_objects)
        elif op.kind == "default_privilege" and op.action == "create":
            grants.create_default_privilege(ctx, _a(op, DefaultPrivilege), defaults_done)
        elif op.kind == "default_privilege" and op.action == "drop":
            grants.drop_default_privilege(ctx, _b(op, DefaultPrivilege), defaults_done)
        else:
            renderer = _RENDERERS.get((op.action, op.kind))
            if renderer is None:
                raise ctx.fail(f"PostgreSQL cannot {op.action} a {op.kind} in place")
            renderer(ctx, op)
    ctx.op = None
    ctx.flush_pending()
    return ctx.out
