"""Constraints and indexes as migration statements for PostgreSQL, with the online forms.

Online (the default, only for tables that already hold rows): indexes built CONCURRENTLY,
PRIMARY KEY / UNIQUE through a concurrently built index and ADD CONSTRAINT … USING INDEX,
FOREIGN KEY and CHECK added NOT VALID and validated afterwards (VALIDATE takes SHARE UPDATE
EXCLUSIVE, which blocks neither reads nor writes). Partitioned parents take none of these:
PostgreSQL refuses CONCURRENTLY, USING INDEX and NOT VALID foreign keys on them.
"""

from __future__ import annotations

from dbarchitect.dialects.postgres import ddl, ddl_objects
from dbarchitect.dialects.postgres.migrate_context import Context, comment_sql
from dbarchitect.dialects.postgres.migrate_types import add_domain_check
from dbarchitect.dialects.postgres.normalize import stable
from dbarchitect.dialects.postgres.quoting import qname, quote
from dbarchitect.model import (
    CheckConstraint,
    ExclusionConstraint,
    ForeignKey,
    Index,
    PrimaryKey,
    UniqueConstraint,
)

Constraint = PrimaryKey | ForeignKey | UniqueConstraint | CheckConstraint | ExclusionConstraint


def _online(ctx: Context, owner: str) -> bool:
    return ctx.online and ctx.existing(owner) and not ctx.partitioned(owner)


def _is_domain(ctx: Context, owner: str) -> bool:
    return ctx.relation(owner) is None and ctx.domain(owner) is not None


def create_constraint(ctx: Context, owner: str, c: Constraint) -> None:
    """ADD CONSTRAINT, in its online form where the table already holds rows."""
    if c.inherited:
        return  # PostgreSQL adds it through the parent
    if isinstance(c, CheckConstraint) and _is_domain(ctx, owner):
        add_domain_check(ctx, ctx.owner_sql(owner), c)
        return
    table = ctx.owner_sql(owner)
    name = quote(c.name)
    add = f"ALTER TABLE {table} ADD CONSTRAINT {name}"
    online = _online(ctx, owner)
    if isinstance(c, (PrimaryKey, UniqueConstraint)):
        if online:
            _key_through_index(ctx, table, c)
        else:
            if isinstance(c, PrimaryKey):
                ctx.emit(f"{add} {ddl.primary_key_clause(c)};")
            else:
                ctx.emit(f"{add} {ddl.unique_clause(c)};")
    elif isinstance(c, ForeignKey):
        target = table if ctx.partitioned(owner) else f"ONLY {table}"
        clause = ddl.fk_clause(c)
        if online and not c.not_valid:
            ctx.emit(f"ALTER TABLE {target} ADD CONSTRAINT {name} {clause} NOT VALID;")
            ctx.emit(f"ALTER TABLE {table} VALIDATE CONSTRAINT {name};", transactional=False)
        else:
            ctx.emit(f"ALTER TABLE {target} ADD CONSTRAINT {name} {clause};")
    elif isinstance(c, CheckConstraint):
        clause = f"CHECK ({stable(c.expression)})" + (" NO INHERIT" if c.no_inherit else "")
        if c.not_valid:
            ctx.emit(f"{add} {clause} NOT VALID;")
        elif online:
            ctx.emit(f"{add} {clause} NOT VALID;")
            ctx.emit(f"ALTER TABLE {table} VALIDATE CONSTRAINT {name};", transactional=False)
        else:
            ctx.emit(f"{add} {clause};")
    else:
        ctx.emit(f"{add} {c.definition};")
    if c.comment is not None:
        ctx.emit(comment_sql(f"CONSTRAINT {name} ON {table}", c.comment))


def _key_through_index(ctx: Context, table: str, c: PrimaryKey | UniqueConstraint) -> None:
    # The index takes the constraint's name: ADD CONSTRAINT … USING INDEX keeps it.
    name = quote(c.name)
    nnd = " NULLS NOT DISTINCT" if isinstance(c, UniqueConstraint) and c.nulls_not_distinct else ""
    ctx.emit(
        f"CREATE UNIQUE INDEX CONCURRENTLY {name} ON {table} "
        f"{ddl.key_columns(c.columns, c.include)}{nnd}{ddl.index_with(c.index_options)};",
        transactional=False,
    )
    kind = "PRIMARY KEY" if isinstance(c, PrimaryKey) else "UNIQUE"
    ctx.emit(
        f"ALTER TABLE {table} ADD CONSTRAINT {name} {kind} USING INDEX {name}"
        f"{ddl.deferrable_clause(c.deferrable, c.initially_deferred)};"
    )


def drop_constraint(ctx: Context, owner: str, c: Constraint) -> None:
    """DROP CONSTRAINT (inherited ones go with the parent's)."""
    if c.inherited or owner in ctx.dropped:
        return
    keyword = "DOMAIN" if _is_domain(ctx, owner) else "TABLE"
    ctx.emit(f"ALTER {keyword} {ctx.owner_sql(owner)} DROP CONSTRAINT {quote(c.name)};")


def validate_constraint(ctx: Context, owner: str, c: Constraint) -> None:
    """VALIDATE CONSTRAINT: checks existing rows without blocking writes."""
    keyword = "DOMAIN" if _is_domain(ctx, owner) else "TABLE"
    ctx.emit(
        f"ALTER {keyword} {ctx.owner_sql(owner)} VALIDATE CONSTRAINT {quote(c.name)};",
        transactional=False,
    )


def alter_constraint(ctx: Context, owner: str, b: Constraint, a: Constraint) -> None:
    """Only the comment of a constraint alters in place (validation is its own action)."""
    validates = isinstance(b, (ForeignKey, CheckConstraint)) and b.not_valid
    if validates and isinstance(a, (ForeignKey, CheckConstraint)) and not a.not_valid:
        validate_constraint(ctx, owner, a)
    if b.comment != a.comment and not a.inherited:
        on = "ON DOMAIN" if _is_domain(ctx, owner) else "ON"
        ctx.emit(comment_sql(f"CONSTRAINT {quote(a.name)} {on} {ctx.owner_sql(owner)}", a.comment))


# --- indexes ------------------------------------------------------------------------------
def index_qname(ctx: Context, owner: str, name: str) -> str:
    """An index's quoted name: it lives in its table's schema."""
    rel = ctx.relation(owner)
    schema = rel.schema if rel is not None else owner.partition(".")[0]
    return qname(schema, name)


def _touches_index(ctx: Context, action: str, quoted: str) -> bool:
    """Whether some operation of the migration creates (or drops) the index `quoted`."""
    for op in ctx.operations:
        ix = op.after if action == "create" else op.before
        if (
            op.kind == "index"
            and op.action == action
            and isinstance(ix, Index)
            and index_qname(ctx, op.owner, ix.name) == quoted
        ):
            return True
    return False


def create_index(ctx: Context, owner: str, ix: Index) -> None:
    """CREATE INDEX [CONCURRENTLY]; a partition's index attached to its parent's is left to
    PostgreSQL, which creates it with the parent's index or the partition."""
    rel = ctx.relation(owner)
    if rel is None:
        raise ctx.fail(f"no table or view {owner}")
    if ix.parent and (not ctx.existing(owner) or _touches_index(ctx, "create", ix.parent)):
        return
    partitioned = ctx.partitioned(owner)
    concurrently = ctx.online and ctx.existing(owner) and not partitioned
    ctx.emit(
        ddl_objects.create_index(rel, ix, only=False, concurrently=concurrently),
        transactional=not concurrently,
    )
    if ix.parent:
        ctx.emit(f"ALTER INDEX {ix.parent} ATTACH PARTITION {qname(rel.schema, ix.name)};")
    if ix.comment is not None:
        ctx.emit(comment_sql(f"INDEX {qname(rel.schema, ix.name)}", ix.comment))


def drop_index(ctx: Context, owner: str, ix: Index) -> None:
    """DROP INDEX [CONCURRENTLY]; a partition's attached index goes with its parent's."""
    if owner in ctx.dropped:
        return
    if ix.parent and _touches_index(ctx, "drop", ix.parent):
        return
    concurrently = ctx.online and not ctx.partitioned(owner) and not ix.parent
    conc = "CONCURRENTLY " if concurrently else ""
    name = index_qname(ctx, owner, ix.name)
    ctx.emit(f"DROP INDEX {conc}{name};", transactional=not concurrently)


def alter_index(ctx: Context, owner: str, b: Index, a: Index) -> None:
    """An index's comment; anything else is drop + create."""
    if b.comment != a.comment:
        ctx.emit(comment_sql(f"INDEX {index_qname(ctx, owner, a.name)}", a.comment))
