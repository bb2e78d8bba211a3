"""Keys and referential integrity."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator

from dbarchitect.dialects.sqlite.types import affinity as sqlite_affinity
from dbarchitect.model import Column, ForeignKey, Table
from dbarchitect.review.context import ReviewContext, object_name
from dbarchitect.review.finding import Hit
from dbarchitect.review.registry import rule
from dbarchitect.review.rules.indexes_common import unnamed_label


@rule(
    id="table-without-primary-key",
    title="Table has no primary key",
    family="keys",
    severity="warning",
    problem="""
A table without a primary key, nor any unique key over NOT NULL columns, has no reliable way
to address one row: updates and deletes from applications and replication (logical
replication needs a replica identity) either fail or touch duplicates, and ORMs cannot map it.

A table whose unique NOT NULL key plays that part is not reported: it is addressable, and
promoting the key (`ADD PRIMARY KEY USING INDEX`) is a matter of style.
""",
    solution="Add a primary key: a natural key if one is stable, else a bigint identity column.",
    example="ALTER TABLE t ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY;",
)
def table_without_primary_key(ctx: ReviewContext) -> Iterator[Hit]:
    for t in ctx.tables:
        if t.primary_key is not None or any(o[0] == "virtual" for o in t.options):
            continue
        if _has_unique_not_null_key(t):
            continue
        yield Hit(
            kind="table",
            object=object_name(t.schema, t.name),
            message=f"table {t.qualified} has no primary key and no unique NOT NULL key",
            fix=f"ALTER TABLE {ctx.qname(t)} ADD COLUMN id bigint GENERATED ALWAYS AS "
            "IDENTITY PRIMARY KEY;"
            if ctx.schema.dialect == "postgres"
            else None,
        )


def _has_unique_not_null_key(t: Table) -> bool:
    """A UNIQUE constraint or full unique index whose columns are all NOT NULL."""
    keys = [u.columns for u in t.uniques]
    keys += [
        tuple(k.column for k in ix.keys)
        for ix in t.indexes
        if ix.unique and ix.where is None and not any(k.expression for k in ix.keys)
    ]
    for cols in keys:
        columns = [t.column(c) for c in cols]
        if cols and all(c is not None and not c.nullable for c in columns):
            return True
    return False


@rule(
    id="fk-without-index",
    title="Foreign key columns are not indexed",
    family="keys",
    severity="info",
    problem="""
Deleting or updating a referenced row makes the engine look for referencing rows. Without an
index whose leading columns are the foreign key's columns, that is a full scan of the child
table for every parent row touched, under lock; joins from parent to child are slow too.

Reported as advice, not a warning: a key into a small lookup table whose rows are never
deleted (types, statuses, languages) needs no index, and real schemas have many of those
(MusicBrainz: 292 of 895). Raise the severity in the configuration where parents do change.
""",
    solution="Create an index whose leading columns are the foreign key's columns.",
    example="CREATE INDEX CONCURRENTLY order_customer_id_idx ON orders (customer_id);",
    # InnoDB creates such an index itself whenever a foreign key lacks one.
    engines=("postgres", "sqlite"),
)
def fk_without_index(ctx: ReviewContext) -> Iterator[Hit]:
    for t in ctx.tables:
        leading: list[tuple[str, ...]] = [
            tuple(k.column for k in ix.keys if not k.expression) for ix in t.indexes if not ix.where
        ]
        if t.primary_key:
            leading.append(t.primary_key.columns)
        leading.extend(u.columns for u in t.uniques)
        for fk, label in fk_labels(t):
            if fk.inherited:
                continue
            n = len(fk.columns)
            if any(set(cols[:n]) == set(fk.columns) for cols in leading if len(cols) >= n):
                continue
            cols = ", ".join(ctx.quote(c) for c in fk.columns)
            name = f"{t.name}_{'_'.join(fk.columns)}_idx"
            concurrently = "CONCURRENTLY " if ctx.schema.dialect == "postgres" else ""
            yield Hit(
                kind="constraint",
                object=object_name(t.schema, t.name, label),
                message=f"{fk_title(fk, label)} on {t.qualified} has no index on its columns",
                fix=f"CREATE INDEX {concurrently}{ctx.quote(name)} ON {ctx.qname(t)} ({cols});",
            )


def fk_labels(t: Table) -> list[tuple[ForeignKey, str]]:
    """Each foreign key with the name findings use: its own, or for one declared without a
    name (SQLite) the name PostgreSQL would give it, numbered on a clash."""
    taken = {fk.name for fk in t.foreign_keys if fk.name}
    return [
        (fk, fk.name or unnamed_label(t.name, fk.columns, "fkey", taken)) for fk in t.foreign_keys
    ]


def fk_title(fk: ForeignKey, label: str) -> str:
    """How messages name a foreign key: by its name, or as unnamed with its columns."""
    what = f"foreign key {label}" if fk.name else "unnamed foreign key"
    ref = object_name(fk.ref_schema, fk.ref_table)
    return f"{what} ({', '.join(fk.columns)}) → {ref} ({', '.join(fk.ref_columns)})"


def _table_map(ctx: ReviewContext) -> dict[tuple[str, str], Table]:
    return {(t.schema, t.name): t for t in ctx.schema.tables}


def _comparable_type(ctx: ReviewContext, col: Column, domains: dict[str, str]) -> str:
    """The type as far as matching keys is concerned, per engine."""
    dialect = ctx.schema.dialect
    if dialect == "sqlite":
        # SQLite checks a child value after converting it with the parent column's affinity,
        # so the spelling of the declared type (INT, INTEGER, BIGINT) does not matter; a
        # different affinity does: a TEXT child stores '7' and '007' for the same parent 7.
        return sqlite_affinity(col.type)
    if dialect == "mysql":
        # Integer display widths (int(11) vs int(10)) change nothing stored or compared.
        return _DISPLAY_WIDTH.sub(r"\1", col.type.lower())
    t = col.type
    for _ in range(8):  # a domain over a domain: follow to the base type
        if t not in domains:
            break
        t = domains[t]
    return t


_DISPLAY_WIDTH = re.compile(r"\b(tinyint|smallint|mediumint|int|integer|bigint)\(\d+\)")


def _domains(ctx: ReviewContext) -> dict[str, str]:
    out: dict[str, str] = {}
    for d in ctx.schema.domains:
        out[f"{d.schema}.{d.name}"] = d.base_type
        out.setdefault(d.name, d.base_type)  # format_type omits a visible domain's schema
    return out


@rule(
    id="fk-type-mismatch",
    title="Foreign key column type differs from the referenced column",
    family="keys",
    severity="error",
    problem="""
A foreign key column whose type differs from the key it references can hold values the parent
cannot (or the reverse): an integer column pointing at a bigint key starts failing inserts the
day the parent's ids pass 2^31, a varchar(40) pointing at a varchar(20) accepts values no
parent row can have. Joins between the two compare across types, which can cost the index.
On SQLite what counts is the column affinity: a TEXT column referencing an INTEGER key keeps
'7' and '007' as different values that both point at parent 7.
""",
    solution="""
Give the referencing column exactly the referenced column's type. On PostgreSQL ALTER COLUMN
… TYPE rewrites the table under an exclusive lock: plan it for a quiet moment or migrate
through a new column. On MySQL redeclare the column with MODIFY (its full definition); on
SQLite rebuild the table.
""",
    example="ALTER TABLE orders ALTER COLUMN customer_id TYPE bigint;  -- customer.id is bigint",
)
def fk_type_mismatch(ctx: ReviewContext) -> Iterator[Hit]:
    tables = _table_map(ctx)
    domains = _domains(ctx) if ctx.schema.dialect == "postgres" else {}
    for t in ctx.tables:
        for fk, label in fk_labels(t):
            parent = tables.get((fk.ref_schema, fk.ref_table))
            if fk.inherited or parent is None:
                continue
            wrong: list[tuple[Column, Column]] = []
            for name, ref_name in zip(fk.columns, fk.ref_columns, strict=False):
                col, ref = t.column(name), parent.column(ref_name)
                if col is None or ref is None:
                    continue
                if _comparable_type(ctx, col, domains) != _comparable_type(ctx, ref, domains):
                    wrong.append((col, ref))
            if not wrong:
                continue
            detail = "; ".join(
                f"{col.name} is {col.type} but {parent.qualified}.{ref.name} is {ref.type}"
                for col, ref in wrong
            )
            fix = None
            if ctx.schema.dialect == "postgres":
                alters = ", ".join(
                    f"ALTER COLUMN {ctx.quote(col.name)} TYPE {ref.type}" for col, ref in wrong
                )
                fix = f"ALTER TABLE {ctx.qname(t)} {alters};"
            yield Hit(
                kind="constraint",
                object=object_name(t.schema, t.name, label),
                message=f"{fk_title(fk, label)} on {t.qualified}: {detail}",
                fix=fix,
            )


@rule(
    id="duplicate-foreign-key",
    title="Foreign key duplicates another",
    family="keys",
    severity="warning",
    problem="""
Two foreign keys over the same columns to the same referenced columns check the same thing
twice: every insert and update of the child and every delete of a parent pays for both, and
when their ON DELETE / ON UPDATE actions differ, which one wins is an accident of how the
engine orders its checks rather than a stated design.
""",
    solution="Drop the copy; if the actions differ, keep the one whose action is intended.",
    example="ALTER TABLE orders DROP CONSTRAINT orders_customer_id_fkey1;",
)
def duplicate_foreign_key(ctx: ReviewContext) -> Iterator[Hit]:
    for t in ctx.tables:
        groups: dict[tuple[object, ...], list[tuple[ForeignKey, str]]] = defaultdict(list)
        for fk, label in fk_labels(t):
            if not fk.inherited:
                pairs = frozenset(zip(fk.columns, fk.ref_columns, strict=False))
                groups[(fk.ref_schema, fk.ref_table, pairs)].append((fk, label))
        for same in groups.values():
            kept, *copies = sorted(same, key=lambda p: p[1])
            first, first_label = kept
            for fk, label in copies:
                differ = [
                    f"ON {event} {mine} vs {theirs}"
                    for event, mine, theirs in (
                        ("DELETE", fk.on_delete, first.on_delete),
                        ("UPDATE", fk.on_update, first.on_update),
                    )
                    if mine != theirs
                ]
                actions = f"; their actions differ ({', '.join(differ)})" if differ else ""
                other = first_label if first.name else "an identical unnamed one"
                yield Hit(
                    kind="constraint",
                    object=object_name(t.schema, t.name, label),
                    message=f"{fk_title(fk, label)} on {t.qualified} duplicates {other}{actions}",
                    fix=_drop_fk(ctx, t, fk),
                )


def _drop_fk(ctx: ReviewContext, t: Table, fk: ForeignKey) -> str | None:
    if ctx.schema.dialect == "postgres":
        return f"ALTER TABLE {ctx.qname(t)} DROP CONSTRAINT {ctx.quote(fk.name)};"
    if ctx.schema.dialect == "mysql":
        return f"ALTER TABLE {ctx.qname(t)} DROP FOREIGN KEY {ctx.quote(fk.name)};"
    return None  # SQLite drops a foreign key only by rebuilding the table


@rule(
    id="fk-missing-on-delete",
    title="Foreign key leaves ON DELETE unstated",
    family="keys",
    severity="info",
    problem="""
A foreign key without an ON DELETE clause gets NO ACTION: deleting a parent that still has
children fails. That is often right, but it is also what you get by forgetting to decide, and
the schema cannot tell the two apart — whether children should go with the parent (CASCADE),
be detached (SET NULL) or block it (RESTRICT) is a design decision worth writing down.
""",
    solution="""
State the action: RESTRICT (or NO ACTION, deferrable) to block, CASCADE for owned children,
SET NULL for optional links. On MySQL/MariaDB RESTRICT and NO ACTION mean the same and the
catalog records an omitted clause as one of them (MariaDB: RESTRICT), so a written-out
RESTRICT cannot be told from a forgotten clause and both are reported: suppress the ones
that are deliberate (`[review.ignore]` or a `dbarch:ignore` comment).
""",
    example="ALTER TABLE orders ADD CONSTRAINT orders_customer_id_fkey FOREIGN KEY (customer_id)\n"
    "  REFERENCES customer (id) ON DELETE RESTRICT;",
    enabled=False,
)
def fk_missing_on_delete(ctx: ReviewContext) -> Iterator[Hit]:
    mysql = ctx.schema.dialect == "mysql"
    default = {"NO ACTION", "RESTRICT"} if mysql else {"NO ACTION"}
    for t in ctx.tables:
        for fk, label in fk_labels(t):
            if fk.inherited or fk.on_delete not in default:
                continue
            how = (
                f"has ON DELETE {fk.on_delete}, which is also what an omitted clause gives"
                if mysql
                else f"leaves ON DELETE at the default {fk.on_delete}"
            )
            yield Hit(
                kind="constraint",
                object=object_name(t.schema, t.name, label),
                message=f"{fk_title(fk, label)} on {t.qualified} {how}",
            )


# The rest of the family lives in its own module; importing it registers those rules.
from dbarchitect.review.rules import keys_integrity  # noqa: E402, F401
