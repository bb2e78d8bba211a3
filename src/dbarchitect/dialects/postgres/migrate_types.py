"""Schemas, extensions, collations, text search configurations, types and sequences as
migration statements for PostgreSQL.

An enum whose values are only inserted gets ALTER TYPE … ADD VALUE (which PostgreSQL 13–17
will not let a transaction use before it commits, hence non-transactional); one with values
removed or reordered is rebuilt: the old type renamed aside, the new one created, every
column (and domain) over it converted through text, the old type dropped.
"""

from __future__ import annotations

from dbarchitect.dialects.postgres import ddl_objects
from dbarchitect.dialects.postgres.migrate_context import Context, comment_sql, fit
from dbarchitect.dialects.postgres.migrate_grants import public_default, reapply_grants
from dbarchitect.dialects.postgres.normalize import stable
from dbarchitect.dialects.postgres.quoting import literal, qname, quote
from dbarchitect.model import (
    CheckConstraint,
    Collation,
    CompositeType,
    DomainType,
    EnumType,
    Extension,
    Namespace,
    RangeType,
    Sequence,
    TextSearchConfig,
)

TypeObj = EnumType | DomainType | CompositeType | RangeType


# --- namespaces, extensions, collations, text search ----------------------------------------
def create_namespace(ctx: Context, ns: Namespace) -> None:
    """CREATE SCHEMA and its comment."""
    ctx.emit(f"CREATE SCHEMA {quote(ns.name)};")
    if ns.comment is not None:
        ctx.emit(comment_sql(f"SCHEMA {quote(ns.name)}", ns.comment))


def create_extension(ctx: Context, e: Extension) -> None:
    """CREATE EXTENSION with the schema and version `after` names."""
    sql = f"CREATE EXTENSION IF NOT EXISTS {quote(e.name)}"
    if e.schema:
        sql += f" WITH SCHEMA {quote(e.schema)}"
    if e.version:
        sql += f" VERSION {literal(e.version)}"
    ctx.emit(sql + ";")
    if e.comment is not None:
        ctx.emit(comment_sql(f"EXTENSION {quote(e.name)}", e.comment))


def alter_extension(ctx: Context, b: Extension, a: Extension) -> None:
    """UPDATE TO a new version, SET SCHEMA, comment."""
    name = quote(a.name)
    if a.version and b.version != a.version:
        ctx.emit(f"ALTER EXTENSION {name} UPDATE TO {literal(a.version)};")
    if a.schema and b.schema != a.schema:
        ctx.emit(f"ALTER EXTENSION {name} SET SCHEMA {quote(a.schema)};")
    if b.comment != a.comment:
        ctx.emit(comment_sql(f"EXTENSION {name}", a.comment))


def create_collation(ctx: Context, c: Collation) -> None:
    """CREATE COLLATION and its comment."""
    ctx.emit(ddl_objects.create_collation(c))
    if c.comment is not None:
        ctx.emit(comment_sql(f"COLLATION {qname(c.schema, c.name)}", c.comment))


def create_ts_config(ctx: Context, cfg: TextSearchConfig) -> None:
    """CREATE TEXT SEARCH CONFIGURATION with its mappings and comment."""
    for sql in ddl_objects.create_ts_config(cfg):
        ctx.emit(sql)
    if cfg.comment is not None:
        ctx.emit(
            comment_sql(f"TEXT SEARCH CONFIGURATION {qname(cfg.schema, cfg.name)}", cfg.comment)
        )


# --- types ----------------------------------------------------------------------------------
def create_type(ctx: Context, t: TypeObj) -> None:
    """CREATE TYPE / DOMAIN with comments and PUBLIC's default USAGE as `after` has it."""
    name = qname(t.schema, t.name)
    if isinstance(t, EnumType):
        ctx.emit(ddl_objects.create_enum(t))
    elif isinstance(t, DomainType):
        for sql in ddl_objects.create_domain(t):
            ctx.emit(sql)
    elif isinstance(t, CompositeType):
        ctx.emit(ddl_objects.create_composite(t))
    else:
        ctx.emit(ddl_objects.create_range(t))
    keyword = "DOMAIN" if isinstance(t, DomainType) else "TYPE"
    if t.comment is not None:
        ctx.emit(comment_sql(f"{keyword} {name}", t.comment))
    if isinstance(t, CompositeType):
        for a in t.attributes:
            if a.comment is not None:
                ctx.emit(comment_sql(f"COLUMN {name}.{quote(a.name)}", a.comment))
    if isinstance(t, DomainType):
        for chk in t.checks:
            if chk.comment is not None:
                ctx.emit(comment_sql(f"CONSTRAINT {quote(chk.name)} ON DOMAIN {name}", chk.comment))
    public_default(ctx, "domain" if isinstance(t, DomainType) else "type", name)


def drop_type(ctx: Context, t: TypeObj) -> None:
    """DROP TYPE / DROP DOMAIN (never CASCADE)."""
    keyword = "DOMAIN" if isinstance(t, DomainType) else "TYPE"
    ctx.emit(f"DROP {keyword} {qname(t.schema, t.name)};")


def alter_comment_only(ctx: Context, keyword: str, name: str, b: object, a: object) -> None:
    """Objects whose only in-place change is their comment (ranges, collations…)."""
    if getattr(b, "comment", None) != getattr(a, "comment", None):
        ctx.emit(comment_sql(f"{keyword} {name}", getattr(a, "comment", None)))


def alter_enum(ctx: Context, b: EnumType, a: EnumType) -> None:
    """ADD VALUE where the old order survives, else a rebuild through text."""
    name = qname(a.schema, a.name)
    old = list(b.values)
    if [v for v in a.values if v in old] == old:
        for i, value in enumerate(a.values):
            if value in old:
                continue
            if i > 0:
                where = f" AFTER {literal(a.values[i - 1])}"
            elif len(a.values) > 1:
                where = f" BEFORE {literal(a.values[1])}"
            else:
                where = ""
            ctx.emit(f"ALTER TYPE {name} ADD VALUE {literal(value)}{where};", transactional=False)
    elif b.values != a.values:
        _rebuild_enum(ctx, b, a)
        return
    if b.comment != a.comment:
        ctx.emit(comment_sql(f"TYPE {name}", a.comment))


def _rebuild_enum(ctx: Context, b: EnumType, a: EnumType) -> None:
    _rebuild_type(ctx, a)


def _rebuild_type(ctx: Context, a: EnumType | CompositeType) -> None:
    """Rename the type aside, create the new one, move every column (and domain) of it over
    through text, drop the old one."""
    name = qname(a.schema, a.name)
    aside = fit(f"{a.name}__old")
    ctx.emit(f"ALTER TYPE {name} RENAME TO {quote(aside)};")
    if isinstance(a, EnumType):
        ctx.emit(ddl_objects.create_enum(a))
    else:
        ctx.emit(ddl_objects.create_composite(a))
        for x in a.attributes:
            if x.comment is not None:
                ctx.emit(comment_sql(f"COLUMN {name}.{quote(x.name)}", x.comment))
    if a.comment is not None:
        ctx.emit(comment_sql(f"TYPE {name}", a.comment))
    reapply_grants(ctx, "type", name)
    # Domains over the enum are rebuilt the same way: a domain's base type cannot change.
    rebuilt: dict[str, str] = {name: name, name + "[]": name + "[]"}
    domains_aside: list[str] = []
    for d in ctx.before.domains:
        if d.base_type not in rebuilt:
            continue
        dname = qname(d.schema, d.name)
        new = next((x for x in ctx.after.domains if (x.schema, x.name) == (d.schema, d.name)), d)
        d_aside = fit(f"{d.name}__old")
        ctx.emit(f"ALTER DOMAIN {dname} RENAME TO {quote(d_aside)};")
        for sql in ddl_objects.create_domain(new):
            ctx.emit(sql)
        if new.comment is not None:
            ctx.emit(comment_sql(f"DOMAIN {dname}", new.comment))
        reapply_grants(ctx, "domain", dname)
        rebuilt[dname] = dname
        rebuilt[dname + "[]"] = dname + "[]"
        domains_aside.append(qname(d.schema, d_aside))
    _retype_columns(ctx, rebuilt)
    for d_aside in domains_aside:
        ctx.emit(f"DROP DOMAIN {d_aside};")
    ctx.emit(f"DROP TYPE {qname(a.schema, aside)};")


def _retype_columns(ctx: Context, types: dict[str, str]) -> None:
    """Convert every column whose type is a key of `types` to the new type of that name,
    through text; its default is dropped first and restored from `after`."""
    for t in ctx.before.tables:
        if t.qualified in ctx.dropped:
            continue
        table = qname(t.schema, t.name)
        for col in t.columns:
            if col.type not in types or (t.qualified, col.name) in ctx.dropped_columns:
                continue
            if ctx.propagated_column(t.qualified, col.name, ctx.before):
                continue
            target = f"ALTER TABLE {table} ALTER COLUMN {quote(col.name)}"
            text = "text[]" if col.type.endswith("[]") else "text"
            now = ctx.after.table(t.qualified)
            new_col = now.column(col.name) if now is not None else None
            default = new_col.default if new_col is not None else col.default
            if col.default is not None:
                ctx.emit(f"{target} DROP DEFAULT;")
            ctx.emit(
                f"{target} TYPE {types[col.type]} USING {quote(col.name)}::{text}::{col.type};"
            )
            if default is not None:
                ctx.emit(f"{target} SET DEFAULT {default};")


def alter_domain(ctx: Context, b: DomainType, a: DomainType) -> None:
    """Default, NOT NULL, checks (online: NOT VALID, then VALIDATE) and comments; a new base
    type or collation rebuilds the domain under the columns that use it."""
    name = qname(a.schema, a.name)
    if (b.base_type, b.collation) != (a.base_type, a.collation):
        aside = fit(f"{a.name}__old")
        ctx.emit(f"ALTER DOMAIN {name} RENAME TO {quote(aside)};")
        for sql in ddl_objects.create_domain(a):
            ctx.emit(sql)
        if a.comment is not None:
            ctx.emit(comment_sql(f"DOMAIN {name}", a.comment))
        for chk in a.checks:
            if chk.comment is not None:
                ctx.emit(comment_sql(f"CONSTRAINT {quote(chk.name)} ON DOMAIN {name}", chk.comment))
        reapply_grants(ctx, "domain", name)
        _retype_columns(ctx, {name: name, name + "[]": name + "[]"})
        ctx.emit(f"DROP DOMAIN {qname(a.schema, aside)};")
        return
    if b.default != a.default:
        action = "DROP DEFAULT" if a.default is None else f"SET DEFAULT {a.default}"
        ctx.emit(f"ALTER DOMAIN {name} {action};")
    if b.nullable != a.nullable:
        ctx.emit(f"ALTER DOMAIN {name} {'DROP' if a.nullable else 'SET'} NOT NULL;")
    old = {c.name: c for c in b.checks}
    new = {c.name: c for c in a.checks}
    for cname, chk in old.items():
        n = new.get(cname)
        if n is None or _replaced(chk, n):
            ctx.emit(f"ALTER DOMAIN {name} DROP CONSTRAINT {quote(cname)};")
    for cname, chk in new.items():
        o = old.get(cname)
        if o is None or _replaced(o, chk):
            add_domain_check(ctx, name, chk)
        elif o.not_valid and not chk.not_valid:
            ctx.emit(
                f"ALTER DOMAIN {name} VALIDATE CONSTRAINT {quote(cname)};", transactional=False
            )
        if o is not None and not _replaced(o, chk) and o.comment != chk.comment:
            ctx.emit(comment_sql(f"CONSTRAINT {quote(cname)} ON DOMAIN {name}", chk.comment))
    if b.comment != a.comment:
        ctx.emit(comment_sql(f"DOMAIN {name}", a.comment))


def _replaced(b: CheckConstraint, a: CheckConstraint) -> bool:
    return b.expression != a.expression or (a.not_valid and not b.not_valid)


def add_domain_check(ctx: Context, domain: str, chk: CheckConstraint) -> None:
    """ALTER DOMAIN … ADD CONSTRAINT (online: NOT VALID, then VALIDATE alone), its comment."""
    clause = (
        f"ALTER DOMAIN {domain} ADD CONSTRAINT {quote(chk.name)} CHECK ({stable(chk.expression)})"
    )
    if chk.not_valid or ctx.online:
        # NOT VALID touches no table; VALIDATE then scans without blocking writers.
        ctx.emit(clause + " NOT VALID;")
        if not chk.not_valid:
            ctx.emit(
                f"ALTER DOMAIN {domain} VALIDATE CONSTRAINT {quote(chk.name)};", transactional=False
            )
    else:
        ctx.emit(clause + ";")
    if chk.comment is not None:
        ctx.emit(comment_sql(f"CONSTRAINT {quote(chk.name)} ON DOMAIN {domain}", chk.comment))


def alter_composite(ctx: Context, b: CompositeType, a: CompositeType) -> None:
    """ADD / DROP / ALTER ATTRIBUTE, attribute comments, comment."""
    name = qname(a.schema, a.name)
    old = {x.name: x for x in b.attributes}
    new = {x.name: x for x in a.attributes}
    if _retypes_in_use(ctx, b, a):
        # PostgreSQL refuses ALTER ATTRIBUTE … TYPE while a table column stores the type.
        _rebuild_type(ctx, a)
        return
    actions = [f"DROP ATTRIBUTE {quote(n)}" for n in old if n not in new]
    for x in a.attributes:
        collate = f" COLLATE {x.collation}" if x.collation else ""
        o = old.get(x.name)
        if o is None:
            actions.append(f"ADD ATTRIBUTE {quote(x.name)} {x.type}{collate}")
        elif (o.type, o.collation) != (x.type, x.collation):
            actions.append(f"ALTER ATTRIBUTE {quote(x.name)} SET DATA TYPE {x.type}{collate}")
    if actions:
        ctx.emit(f"ALTER TYPE {name} " + ", ".join(actions) + ";")
    for x in a.attributes:
        o = old.get(x.name)
        if (o.comment if o else None) != x.comment:
            ctx.emit(comment_sql(f"COLUMN {name}.{quote(x.name)}", x.comment))
    if b.comment != a.comment:
        ctx.emit(comment_sql(f"TYPE {name}", a.comment))


def _retypes_in_use(ctx: Context, b: CompositeType, a: CompositeType) -> bool:
    old = {x.name: (x.type, x.collation) for x in b.attributes}
    if all(old.get(x.name, (x.type, x.collation)) == (x.type, x.collation) for x in a.attributes):
        return False
    name = qname(b.schema, b.name)
    used = {name, name + "[]"}
    return any(d.base_type in used for d in ctx.before.domains) or any(
        c.type in used for t in ctx.before.tables for c in t.columns
    )


# --- sequences ------------------------------------------------------------------------------
def create_sequence(ctx: Context, s: Sequence) -> None:
    """CREATE SEQUENCE; OWNED BY waits until its column exists."""
    name = qname(s.schema, s.name)
    ctx.emit(ddl_objects.create_sequence(s))
    ctx.gone_sequences.discard(f"{s.schema}.{s.name}")
    ctx.owned[f"{s.schema}.{s.name}"] = s.owned_by
    if s.comment is not None:
        ctx.emit(comment_sql(f"SEQUENCE {name}", s.comment))
    if s.owned_by:
        ctx.when_column_exists(
            s.owned_by, f"ALTER SEQUENCE {name} OWNED BY {ctx.owned_by_sql(s.owned_by)};"
        )


def drop_sequence(ctx: Context, s: Sequence) -> None:
    """DROP SEQUENCE, unless it went with the column that owned it."""
    if f"{s.schema}.{s.name}" not in ctx.gone_sequences:
        ctx.emit(f"DROP SEQUENCE {qname(s.schema, s.name)};")


def alter_sequence(ctx: Context, b: Sequence, a: Sequence) -> None:
    """Type and options in one ALTER SEQUENCE, then OWNED BY and comment."""
    name = qname(a.schema, a.name)
    opts = []
    if b.type != a.type:
        opts.append(f"AS {a.type}")
    if b.increment != a.increment:
        opts.append(f"INCREMENT BY {a.increment}")
    if b.min_value != a.min_value or b.type != a.type:
        opts.append("NO MINVALUE" if a.min_value is None else f"MINVALUE {a.min_value}")
    if b.max_value != a.max_value or b.type != a.type:
        opts.append("NO MAXVALUE" if a.max_value is None else f"MAXVALUE {a.max_value}")
    if b.start != a.start:
        opts.append(f"START WITH {a.start}")
    if b.cache != a.cache:
        opts.append(f"CACHE {a.cache}")
    if b.cycle != a.cycle:
        opts.append("CYCLE" if a.cycle else "NO CYCLE")
    if opts:
        ctx.emit(f"ALTER SEQUENCE {name} " + " ".join(opts) + ";")
    if b.owned_by != a.owned_by:
        ctx.owned[f"{a.schema}.{a.name}"] = a.owned_by
        if a.owned_by is None:
            ctx.emit(f"ALTER SEQUENCE {name} OWNED BY NONE;")
        else:
            ctx.when_column_exists(
                a.owned_by, f"ALTER SEQUENCE {name} OWNED BY {ctx.owned_by_sql(a.owned_by)};"
            )
    if b.comment != a.comment:
        ctx.emit(comment_sql(f"SEQUENCE {name}", a.comment))
