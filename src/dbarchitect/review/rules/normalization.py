"""Normalization smells: repeating groups, lists in text, very wide tables, unconstrained copies.

These are design advice read from names and types, and (for the `data` rules) from a small
sample of values on a live database. They aim to be quiet: each pattern is narrowed until a
well-kept schema does not trip it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator

from dbarchitect.model import Column, Table
from dbarchitect.review.context import ReviewContext, object_name
from dbarchitect.review.finding import Hit
from dbarchitect.review.registry import rule

# The rules that read data live in their own module; importing it registers them.
from dbarchitect.review.rules import normalization_data as normalization_data
from dbarchitect.review.rules.normalization_data import is_textual, is_virtual

_DIGITS = re.compile(r"\d+")
_INTEGERS = frozenset({"smallint", "integer", "bigint"})
# Postal addresses have a fixed number of lines by convention; they are not a repeating group.
_FIXED_SERIES = re.compile(r"(^|_)(address_?)?line_?$|addr(ess)?_?$", re.IGNORECASE)
_LIST_SUFFIX = re.compile(r"_(ids|list|csv)$", re.IGNORECASE)
_LIST_CAMEL = re.compile(r"(?<=[a-z0-9])(Ids|IDs|List|Csv|CSV)$")
# MySQL storage engines that enforce foreign keys; the others parse and ignore them.
_FK_ENGINES = frozenset({"innodb", "ndb", "ndbcluster"})


def _family(logical: str) -> str:
    if logical in _INTEGERS:
        return "integer"
    if logical in ("char", "varchar", "text"):
        return "text"
    return logical


def _table_obj(t: Table) -> str:
    return object_name(t.schema, t.name)


def _consecutive_runs(numbers: list[int]) -> list[list[int]]:
    runs: list[list[int]] = []
    for n in sorted(set(numbers)):
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    return runs


def repeating_groups(table: Table) -> list[list[Column]]:
    """Runs of at least three columns whose names differ only by consecutive numbers
    (phone1..phone3, tag_1..tag_3, sales_2021..sales_2023), with the same type family."""
    by_stem: dict[tuple[str, str, str], dict[int, Column]] = defaultdict(dict)
    for c in table.columns:
        for m in _DIGITS.finditer(c.name):
            before, after = c.name[: m.start()], c.name[m.end() :]
            if not any(ch.isalpha() for ch in before + after) or _FIXED_SERIES.search(before):
                continue
            key = (before.lower(), after.lower(), _family(c.logical))
            by_stem[key].setdefault(int(m.group()), c)
    groups = []
    for numbered in by_stem.values():
        for run in _consecutive_runs(list(numbered)):
            if len(run) >= 3:
                groups.append([numbered[n] for n in run])
    return sorted(groups, key=lambda g: [c.name for c in g])


@rule(
    id="repeating-column-group",
    title="Repeating group of numbered columns",
    family="normalization",
    severity="warning",
    problem="""
Columns that differ only by a number (phone1, phone2, phone3) are a repeating group: a list
stored across columns. The number of items is fixed by the schema, queries must test every
column (`WHERE phone1 = $1 OR phone2 = $1 OR …`), nothing can be indexed as one value, and
adding a fourth item is a migration.
""",
    solution="""
Move the items into a child table with one row per item (the parent's key, a position if order
matters, and the value). Two numbered columns (address_line_1, address_line_2) and
dimension-like names (thumb_250, thumb_500) are not reported.
""",
    example="""
CREATE TABLE customer_phone (
  customer_id bigint NOT NULL REFERENCES customer,
  position smallint NOT NULL,
  phone text NOT NULL,
  PRIMARY KEY (customer_id, position)
);
""",
)
def repeating_column_group(ctx: ReviewContext) -> Iterator[Hit]:
    for t in ctx.tables:
        if is_virtual(t):
            continue
        for group in repeating_groups(t):
            names = ", ".join(c.name for c in group)
            yield Hit(
                kind="table",
                object=_table_obj(t),
                message=f"table {t.qualified} stores a repeating group in {len(group)} "
                f"numbered columns: {names}",
            )


def _looks_like_list_name(name: str) -> bool:
    return bool(_LIST_SUFFIX.search(name) or _LIST_CAMEL.search(name))


@rule(
    id="delimited-list-column",
    title="Text column named like a list",
    family="normalization",
    severity="warning",
    problem="""
A text column named like a list (`tag_ids`, `email_list`, `roles_csv`) almost always holds
several values joined by a delimiter. The database cannot enforce what the items are, cannot
reference them with foreign keys, cannot index one item, and every reader must split the string
the same way.
""",
    solution="""
Store one item per row in a child table (with a foreign key when the items are ids). On
PostgreSQL an array column (`bigint[]`, with a GIN index) is a lighter alternative when items
need no constraints of their own.
""",
    example="""
CREATE TABLE article_tag (
  article_id bigint NOT NULL REFERENCES article,
  tag_id bigint NOT NULL REFERENCES tag,
  PRIMARY KEY (article_id, tag_id)
);
""",
)
def delimited_list_column(ctx: ReviewContext) -> Iterator[Hit]:
    for t in ctx.tables:
        if is_virtual(t):
            continue
        for c in t.columns:
            if is_textual(c) and _looks_like_list_name(c.name):
                yield Hit(
                    kind="column",
                    object=object_name(t.schema, t.name, c.name),
                    message=f"column {t.qualified}.{c.name} ({c.type}) is named like a list "
                    "but stored as text",
                )


@rule(
    id="wide-table",
    title="Very wide table",
    family="normalization",
    severity="info",
    problem="""
A table with very many columns usually mixes several entities or optional facets in one row:
most columns are NULL for most rows, every change touches a large row, and the table becomes
the place where every new attribute lands.
""",
    solution="""
Split the table along the facets it mixes (one-to-one side tables for optional groups of
columns, child tables for repeating ones). The limit is configurable:
`[review.thresholds] wide-table-columns = 50`.
""",
    example="""
CREATE TABLE customer_billing (
  customer_id bigint PRIMARY KEY REFERENCES customer,
  vat_number text,
  billing_email text
);
""",
)
def wide_table(ctx: ReviewContext) -> Iterator[Hit]:
    limit = int(ctx.threshold("wide-table-columns", 50))
    for t in ctx.tables:
        if len(t.columns) > limit and not is_virtual(t):
            yield Hit(
                kind="table",
                object=_table_obj(t),
                message=f"table {t.qualified} has {len(t.columns)} columns (more than {limit})",
            )


def _norm(name: str) -> str:
    return name.lower().replace("_", "")


def _singulars(name: str) -> set[str]:
    out = {name}
    if name.endswith("ies"):
        out.add(name[:-3] + "y")
    if name.endswith("es"):
        out.add(name[:-2])
    if name.endswith("s"):
        out.add(name[:-1])
    return out


def _enforces_fks(ctx: ReviewContext, t: Table) -> bool:
    engine = dict(t.options).get("engine")
    return ctx.schema.dialect != "mysql" or engine is None or engine.lower() in _FK_ENGINES


def _key_index(ctx: ReviewContext) -> dict[str, list[tuple[Table, Column]]]:
    """Referencing column names (normalized, `customerid`) → the tables whose single-column
    primary key such a column would reference: `id` or `<singular table>_id`."""
    index: dict[str, list[tuple[Table, Column]]] = defaultdict(list)
    for t in ctx.tables:
        if t.primary_key is None or len(t.primary_key.columns) != 1 or is_virtual(t):
            continue
        if not _enforces_fks(ctx, t):
            continue
        pk = t.column(t.primary_key.columns[0])
        if pk is None:
            continue
        for stem in _singulars(_norm(t.name)):
            if _norm(pk.name) in ("id", stem + "id"):
                index[stem + "id"].append((t, pk))
    return index


def _fk_fix(ctx: ReviewContext, t: Table, c: Column, target: Table, pk: Column) -> str | None:
    dialect = ctx.schema.dialect
    if dialect == "sqlite":
        return None  # SQLite cannot add a constraint to an existing table
    name = ctx.quote(f"{t.name}_{c.name}_fkey"[:63])
    add = (
        f"ALTER TABLE {ctx.qname(t)} ADD CONSTRAINT {name} FOREIGN KEY ({ctx.quote(c.name)}) "
        f"REFERENCES {ctx.qname(target)} ({ctx.quote(pk.name)})"
    )
    if dialect != "postgres" or t.partitioning is not None:
        return add + ";"  # NOT VALID exists only on PostgreSQL, and not on partitioned tables
    return f"{add} NOT VALID;\nALTER TABLE {ctx.qname(t)} VALIDATE CONSTRAINT {name};"


def _partition_note(partitions: list[Table], column: str) -> str:
    having = sum(1 for p in partitions if any(fk.columns == (column,) for fk in p.foreign_keys))
    if not having:
        return ""
    return f"; {having} of its {len(partitions)} partitions declare one, the parent does not"


@rule(
    id="implied-foreign-key-missing",
    title="Column references another table's key without a foreign key",
    family="normalization",
    severity="warning",
    problem="""
A column named after another table's key (`customer_id` beside a table `customer` keyed by
`customer_id` or `id`), of the same type, but with no foreign key: the same data is kept in two
places and nothing keeps them consistent. Deleting or rewriting the referenced row leaves
orphans that joins silently drop.
""",
    solution="""
Add the foreign key (on PostgreSQL NOT VALID first, then VALIDATE, to avoid a long lock), after
cleaning up orphans. When many tables reference the same key without constraints (a schema that
avoids foreign keys on purpose), one finding names the referenced table instead of one per column.
""",
    example="""
ALTER TABLE orders ADD CONSTRAINT orders_customer_id_fkey
  FOREIGN KEY (customer_id) REFERENCES customer (id) NOT VALID;
ALTER TABLE orders VALIDATE CONSTRAINT orders_customer_id_fkey;
""",
)
def implied_foreign_key_missing(ctx: ReviewContext) -> Iterator[Hit]:
    index = _key_index(ctx)
    found: dict[tuple[str, str], list[tuple[Table, Column, Table, Column]]] = defaultdict(list)
    for t in ctx.tables:
        if is_virtual(t) or not _enforces_fks(ctx, t):
            continue
        in_fk = {c for fk in t.foreign_keys for c in fk.columns}
        for c in t.columns:
            if c.name in in_fk:
                continue
            targets = [(x, pk) for x, pk in index.get(_norm(c.name), []) if x is not t]
            same_schema = [(x, pk) for x, pk in targets if x.schema == t.schema]
            targets = same_schema or targets
            if len(targets) != 1:
                continue  # none, or ambiguous between schemas
            target, pk = targets[0]
            if _family(pk.logical) != _family(c.logical):
                continue
            found[(target.qualified, pk.name)].append((t, c, target, pk))
    group = int(ctx.threshold("implied-foreign-key-group", 5))
    partitions: dict[str, list[Table]] = defaultdict(list)
    for p in ctx.schema.tables:
        if p.partition_of:
            partitions[p.partition_of].append(p)
    for (target_name, pk_name), refs in sorted(found.items()):
        if len(refs) >= group:
            cols = [f"{t.qualified}.{c.name}" for t, c, _, _ in refs]
            shown = ", ".join(cols[:3]) + (f" and {len(cols) - 3} more" if len(cols) > 3 else "")
            yield Hit(
                kind="table",
                object=_table_obj(refs[0][2]),
                message=f"{len(refs)} columns reference {target_name}({pk_name}) by name "
                f"without a foreign key: {shown}",
            )
            continue
        for t, c, target, pk in refs:
            yield Hit(
                kind="column",
                object=object_name(t.schema, t.name, c.name),
                message=f"column {t.qualified}.{c.name} looks like a reference to "
                f"{target_name}({pk_name}) but has no foreign key"
                + _partition_note(partitions[t.qualified], c.name),
                fix=_fk_fix(ctx, t, c, target, pk),
            )
