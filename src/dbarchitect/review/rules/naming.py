"""Review rules: naming — names that must be quoted, are keywords or too long. Style rules
(plural mix, vague names, configured conventions) are in naming_style.py."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from pglast.keywords import RESERVED_KEYWORDS, TYPE_FUNC_NAME_KEYWORDS

from dbarchitect.model import Table
from dbarchitect.review.context import ReviewContext, object_name
from dbarchitect.review.finding import Hit
from dbarchitect.review.registry import rule
from dbarchitect.review.rules.types_common import words


@dataclass(frozen=True, slots=True)
class Named:
    """One named object: finding kind and object path, its own name, and its table if any."""

    kind: str
    object: str
    name: str
    what: str
    table: Table | None = None
    schema: str = ""
    signature: str = ""


def named_objects(ctx: ReviewContext, *, all_kinds: bool = True) -> Iterator[Named]:
    """Tables, views and table columns; with `all_kinds` also indexes, constraints,
    sequences, types, functions and triggers. Partitions repeat their parent and are skipped."""
    s = ctx.schema
    for t in ctx.tables:
        yield Named("table", object_name(t.schema, t.name), t.name, "table", None, t.schema)
        for c in t.columns:
            if not c.inherited:
                yield Named(
                    "column", object_name(t.schema, t.name, c.name), c.name, "column", t, t.schema
                )
    for v in s.views:
        what = "materialized view" if v.materialized else "view"
        yield Named("view", object_name(v.schema, v.name), v.name, what, None, v.schema)
    if not all_kinds:
        return
    for t in ctx.tables:
        for ix in t.indexes:
            yield Named(
                "index", object_name(t.schema, t.name, ix.name), ix.name, "index", t, t.schema
            )
        cons = [t.primary_key, *t.foreign_keys, *t.uniques, *t.checks, *t.exclusions]
        for con in cons:
            if con is not None and con.name and not con.inherited:
                yield Named(
                    "constraint",
                    object_name(t.schema, t.name, con.name),
                    con.name,
                    "constraint",
                    t,
                    t.schema,
                )
        for tg in t.triggers:
            if not tg.inherited:
                yield Named(
                    "trigger",
                    object_name(t.schema, t.name, tg.name),
                    tg.name,
                    "trigger",
                    t,
                    t.schema,
                )
    for q in s.sequences:
        yield Named("sequence", object_name(q.schema, q.name), q.name, "sequence", None, q.schema)
    types: list[tuple[str, str, str]] = [(e.schema, e.name, "type") for e in s.enums]
    types += [(d.schema, d.name, "domain") for d in s.domains]
    types += [(c.schema, c.name, "type") for c in s.composite_types]
    types += [(r.schema, r.name, "type") for r in s.ranges]
    for schema, name, what in types:
        yield Named("type", object_name(schema, name), name, what, None, schema)
    for f in s.functions:
        yield Named(
            "function",
            object_name(f.schema, f"{f.name}({f.identity})"),
            f.name,
            f.kind,
            None,
            f.schema,
            f.identity,
        )


def snake_case(name: str) -> str:
    """A plain lower-case name for `name`: CustomerId → customer_id, "Order Items" →
    order_items, HTTPCode → http_code."""
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", s)
    s = re.sub(r"[^\w$]+", "_", s).strip("_").lower()
    return f"_{s}" if s[:1].isdigit() else s or "unnamed"


def _siblings(ctx: ReviewContext, n: Named) -> set[str]:
    """Names that a rename of `n` must not collide with."""
    if n.kind == "column" and n.table is not None:
        return {c.name for c in n.table.columns}
    if n.kind == "constraint" and n.table is not None:
        t = n.table
        cons = [t.primary_key, *t.foreign_keys, *t.uniques, *t.checks, *t.exclusions]
        return {c.name for c in cons if c is not None}
    if n.kind == "trigger" and n.table is not None:
        return {tg.name for tg in n.table.triggers}
    # Tables, views, indexes and sequences share one namespace per schema.
    s = ctx.schema
    names = {t.name for t in s.tables if t.schema == n.schema}
    names |= {v.name for v in s.views if v.schema == n.schema}
    names |= {q.name for q in s.sequences if q.schema == n.schema}
    names |= {ix.name for t in s.tables if t.schema == n.schema for ix in t.indexes}
    return names


def rename_sql(ctx: ReviewContext, n: Named, new: str) -> str | None:
    """The statement that renames `n` to `new` on this engine, or None where it has none."""
    if new == n.name or new in _siblings(ctx, n):
        return None
    q = ctx.quote
    old, to = q(n.name), q(new)
    table = ctx.qname(n.table) if n.table is not None else ""
    qualified = f"{q(n.schema)}.{old}" if n.schema else old
    dialect = ctx.schema.dialect
    if n.kind == "column":
        return f"ALTER TABLE {table} RENAME COLUMN {old} TO {to};"
    if dialect == "postgres":
        statements = {
            "table": f"ALTER TABLE {qualified} RENAME TO {to};",
            "view": f"ALTER {n.what.upper()} {qualified} RENAME TO {to};",
            "index": f"ALTER INDEX {qualified} RENAME TO {to};",
            "constraint": f"ALTER TABLE {table} RENAME CONSTRAINT {old} TO {to};",
            "trigger": f"ALTER TRIGGER {old} ON {table} RENAME TO {to};",
            "sequence": f"ALTER SEQUENCE {qualified} RENAME TO {to};",
            "type": f"ALTER {n.what.upper()} {qualified} RENAME TO {to};",
            "function": f"ALTER {n.what.upper()} {qualified}({n.signature}) RENAME TO {to};",
        }
        return statements.get(n.kind)
    if dialect == "mysql":
        if n.kind in ("table", "view"):
            return f"RENAME TABLE {old} TO {to};"
        if n.kind == "index":
            return f"ALTER TABLE {table} RENAME INDEX {old} TO {to};"
        return None
    return f"ALTER TABLE {old} RENAME TO {to};" if n.kind == "table" else None


def _needs_quoting(name: str) -> list[str]:
    """The characters of `name` that no engine accepts in a bare identifier. Letters of any
    script, digits, `_` and a `$` after the first character are accepted unquoted by
    PostgreSQL, SQLite and MySQL alike; a leading digit is not."""
    bad = sorted({ch for ch in name if not (ch.isalnum() or ch in "_$")})
    if name[:1].isdigit() or name[:1] == "$":
        bad.insert(0, f"leading {name[0]!r}")
    return bad


@rule(
    id="identifier-needs-quoting",
    title="Name contains characters that must be quoted",
    family="naming",
    severity="warning",
    problem="""
A name with spaces, hyphens, dots or other punctuation, or that starts with a digit, must be
quoted in every statement, by every tool and ORM, on every engine. Each place that forgets
the quotes fails with a syntax error or, worse, parses as something else (`a-b` is a
subtraction).
""",
    solution="""
Rename the object to a plain name of letters, digits and underscores (snake_case), and
update the code that refers to it. Letters outside ASCII are accepted bare by all three
engines and are not reported.
""",
    example='ALTER TABLE "order items" RENAME TO order_items;',
)
def identifier_needs_quoting(ctx: ReviewContext) -> Iterator[Hit]:
    for n in named_objects(ctx):
        bad = _needs_quoting(n.name)
        if bad:
            chars = ", ".join(b if b.startswith("leading") else repr(b) for b in bad)
            yield Hit(
                kind=n.kind,
                object=n.object,
                message=f"{n.what} name {n.name!r} ({n.object}) must always be quoted: it "
                f"contains {chars}",
                fix=rename_sql(ctx, n, snake_case(n.name)),
            )


@rule(
    id="mixed-case-identifier",
    title="Name has upper-case letters and must be quoted",
    family="naming",
    severity="warning",
    problem="""
PostgreSQL folds unquoted names to lower case, so a table created as "CustomerOrder" can only
be reached as "CustomerOrder", with the quotes, forever: `SELECT * FROM CustomerOrder` looks
for customerorder and fails. Every query, tool and ORM must remember the quotes.
""",
    solution="""
Rename to lower-case snake_case and update the code that refers to the object. Names that
must be quoted for other reasons (spaces, punctuation) are reported by
identifier-needs-quoting instead.
""",
    example='ALTER TABLE "CustomerOrder" RENAME TO customer_order;',
    engines=("postgres",),
)
def mixed_case_identifier(ctx: ReviewContext) -> Iterator[Hit]:
    for n in named_objects(ctx, all_kinds=False):
        if n.name == n.name.lower() or _needs_quoting(n.name):
            continue
        yield Hit(
            kind=n.kind,
            object=n.object,
            message=f"{n.what} name {n.name!r} ({n.object}) has upper-case letters: it must "
            "be quoted in every query",
            fix=rename_sql(ctx, n, snake_case(n.name)),
        )
    # Indexes are named in DDL only, but the same folding applies there.
    for t in ctx.tables:
        for ix in t.indexes:
            if ix.name != ix.name.lower() and not _needs_quoting(ix.name):
                n = Named(
                    "index", object_name(t.schema, t.name, ix.name), ix.name, "index", t, t.schema
                )
                yield Hit(
                    kind="index",
                    object=n.object,
                    message=f"index name {ix.name!r} ({n.object}) has upper-case letters: it "
                    "must be quoted wherever it is named",
                    fix=rename_sql(ctx, n, snake_case(ix.name)),
                )


# Words SQLite 3.40 cannot take as a bare table or column name, or reads as something else
# (measured: CREATE TABLE w (w …), SELECT w FROM t WHERE w = 1 ORDER BY w, CREATE INDEX on w;
# `SELECT current_date FROM t` returns today's date, not the column). SQLite's other keywords
# fall back to plain names where they are used as names.
_SQLITE_RESERVED = words(
    """
    add all alter and as autoincrement between case cast check collate commit constraint
    create current_date current_time current_timestamp default deferrable delete distinct
    drop else escape except exists foreign from group having if in index insert intersect
    into is isnull join limit not nothing notnull null on or order primary raise references
    returning select set table then to transaction union unique update using values when
    where
    """
)
# PostgreSQL: reserved keywords and those that may name types and functions but not columns
# or tables. Column-name keywords (position, time, values…) work bare as names.
_PG_RESERVED = frozenset(RESERVED_KEYWORDS) | frozenset(TYPE_FUNC_NAME_KEYWORDS)
_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def is_reserved(ctx: ReviewContext, name: str) -> bool:
    """Whether `name`, an otherwise plain identifier, is a keyword the engine reserves."""
    if not _PLAIN.match(name):
        return False
    dialect = ctx.schema.dialect
    if dialect == "postgres":
        return name in _PG_RESERVED  # a quoted "Order" is a different name from order
    if dialect == "sqlite":
        return name.lower() in _SQLITE_RESERVED
    # MySQL/MariaDB: the dialect quotes a plain name only when it is reserved there.
    return ctx.quote(name) != name


@rule(
    id="reserved-word-identifier",
    title="Name is a reserved word",
    family="naming",
    severity="warning",
    problem="""
A table or column named with a reserved word of the engine (`order`, `user`, `group`,
`desc`…) must be quoted in every statement. Unquoted, it is a syntax error, or worse valid
SQL with another meaning: in PostgreSQL `SELECT user FROM t` returns the current role, in
SQLite `SELECT current_date FROM t` returns today's date.
""",
    solution="""
Rename to a name that is not reserved (`orders`, `app_user`, `sort_order`), and update the
code. PostgreSQL's list is its RESERVED and type/function-name keywords; MySQL's covers both
MySQL 8 and MariaDB; SQLite's is the words its parser cannot fall back to names for.
""",
    example='ALTER TABLE "user" RENAME TO app_user;',
)
def reserved_word_identifier(ctx: ReviewContext) -> Iterator[Hit]:
    for n in named_objects(ctx, all_kinds=False):
        if is_reserved(ctx, n.name):
            yield Hit(
                kind=n.kind,
                object=n.object,
                message=f"{n.what} name {n.name!r} ({n.object}) is a reserved word and must "
                "be quoted in every query",
            )


@rule(
    id="identifier-length",
    title="Name is at PostgreSQL's 63-byte limit",
    family="naming",
    severity="warning",
    problem="""
PostgreSQL truncates names longer than 63 bytes with only a NOTICE, so a name of exactly 63
bytes in PostgreSQL was very likely cut: two long names that share their first 63 bytes
collide, and migrations that refer to the full name no longer find the object. On SQLite and
MySQL names over 63 bytes are accepted (MySQL allows 64 characters) but would be truncated
when the schema moves to PostgreSQL.
""",
    solution="""
Give the object a shorter name (abbreviate, drop redundant words) well under 63 bytes, and
update migrations and code that refer to it. Bytes count, not characters: non-ASCII letters
take two to four bytes in UTF-8.
""",
    example="ALTER INDEX subscription_notification_preference_by_account_and_channel_id_idx "
    "RENAME TO subscription_pref_account_channel_idx;",
)
def identifier_length(ctx: ReviewContext) -> Iterator[Hit]:
    on_pg = ctx.schema.dialect == "postgres"
    for n in named_objects(ctx):
        size = len(n.name.encode("utf-8"))
        if on_pg and size == 63:
            message = "is exactly 63 bytes, PostgreSQL's limit: it was probably truncated"
        elif not on_pg and size > 63:
            message = f"is {size} bytes: PostgreSQL would truncate it to 63"
        else:
            continue
        yield Hit(kind=n.kind, object=n.object, message=f"{n.what} name {n.object} {message}")


# The style rules register on import.
from dbarchitect.review.rules import naming_style  # noqa: E402,F401
