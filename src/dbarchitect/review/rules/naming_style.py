"""Review rules: naming style — singular/plural mix, vague names, configured conventions."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Literal

from dbarchitect.errors import InputError
from dbarchitect.model import Table
from dbarchitect.review.context import ReviewContext, object_name
from dbarchitect.review.finding import Hit
from dbarchitect.review.registry import rule
from dbarchitect.review.rules.naming import Named, rename_sql
from dbarchitect.review.rules.types_common import name_words, words

Number = Literal["singular", "plural"]

# Words whose number cannot be told from their spelling, or that have none.
_NEITHER = words(
    """
    data metadata media info information news series species staff equipment feedback
    software hardware music audio video sheep fish deer aircraft moose offspring
    """
)
_IRREGULAR_PLURALS = words(
    """
    people children men women feet teeth mice geese criteria indices matrices vertices
    phenomena
    """
)
_SINGULAR_IN_S = words(
    """
    alias canvas gas atlas bias lens chaos
    """
)


def number_of(word: str) -> Number | None:
    """Whether an English noun is spelled singular or plural; None when it cannot be told
    (uncountable, too short, or an ending like -ics that is both)."""
    w = word.lower()
    if len(w) < 3 or w.isdigit() or w in _NEITHER:
        return None
    if w in _IRREGULAR_PLURALS:
        return "plural"
    if w.endswith("ics"):
        return None
    if w.endswith(("ss", "us", "is")) or w in _SINGULAR_IN_S:
        return "singular"
    return "plural" if w.endswith("s") else "singular"


def _table_number(name: str) -> Number | None:
    parts = [w for w in name_words(name) if not w.isdigit()]
    return number_of(parts[-1]) if parts else None


@rule(
    id="table-name-plural-mix",
    title="Table names mix singular and plural",
    family="naming",
    severity="info",
    problem="""
When some tables are named in the singular (`customer`) and others in the plural (`orders`),
every query writer has to remember which is which, and joins read inconsistently. Either
convention is fine; mixing them is the problem.
""",
    solution="""
Pick one convention and rename the minority over time (views with the old names can bridge
the transition). The number of a name is read from its last word; names whose number cannot
be told from their spelling (data, series, statistics) are not counted. Reported only when
each convention has at least `plural-mix-min` tables (threshold, default 3) and the minority
is at least 10% of the counted tables.
""",
    example="ALTER TABLE orders RENAME TO customer_order;",
)
def table_name_plural_mix(ctx: ReviewContext) -> Iterator[Hit]:
    groups: dict[Number, list[str]] = {"singular": [], "plural": []}
    for t in ctx.tables:
        if any(k == "virtual" for k, _ in t.options):
            continue
        number = _table_number(t.name)
        if number:
            groups[number].append(t.qualified)
    singular, plural = groups["singular"], groups["plural"]
    least = int(ctx.threshold("plural-mix-min", 3))
    minority = min(len(singular), len(plural))
    if minority < least or minority < 0.1 * (len(singular) + len(plural)):
        return
    yield Hit(
        kind="database",
        object="database",
        message=f"table names mix {len(singular)} singular (e.g. {', '.join(singular[:3])}) "
        f"and {len(plural)} plural (e.g. {', '.join(plural[:3])})",
    )


# Names that say nothing about what the object holds; `data` and `value` are accepted as
# column names (payload and key/value columns are an idiom) but not as table names.
_VAGUE = words(
    """
    info information misc miscellaneous stuff temp tmp thing things object objects flag
    flags foo bar baz dummy
    """
)
_VAGUE_TABLES = _VAGUE | frozenset({"data", "value", "values", "table", "tbl"})
_NUMBERED = re.compile(r"^(col|column|field|attr|attribute|table|tbl|tmp|temp)_?\d+$")


def _vague(name: str, vague: frozenset[str]) -> bool:
    lower = name.lower()
    return lower in vague or bool(_NUMBERED.match(lower))


@rule(
    id="vague-name",
    title="Table or column has a vague name",
    family="naming",
    severity="info",
    problem="""
Names like `info`, `misc`, `stuff`, `tmp`, `flag` or `col3` say nothing about what the table
or column holds, so every reader has to look at the data to find out, and the same word ends
up meaning different things in different places. Temporary names (`tmp`, `temp`) also
suggest leftovers from a one-off job.
""",
    solution="""
Rename to say what is held (`is_archived` instead of `flag`, `shipping_note` instead of
`info`), or drop leftover tables. A column named `value` (key/value and measurement tables)
or `data` (a payload) is an accepted idiom and is not reported; tables with those names are.
""",
    example="ALTER TABLE account RENAME COLUMN flag TO is_suspended;",
)
def vague_name(ctx: ReviewContext) -> Iterator[Hit]:
    for t in ctx.tables:
        if _vague(t.name, _VAGUE_TABLES):
            yield Hit(
                kind="table",
                object=object_name(t.schema, t.name),
                message=f"table name {t.qualified} is vague: it does not say what it holds",
            )
        for c in t.columns:
            if not c.inherited and _vague(c.name, _VAGUE):
                yield Hit(
                    kind="column",
                    object=object_name(t.schema, t.name, c.name),
                    message=f"column name {object_name(t.qualified, c.name)} is vague: it "
                    "does not say what it holds",
                )


_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def _pattern(
    ctx: ReviewContext, key: str, values: dict[str, str | None], allowed: tuple[str, ...]
) -> re.Pattern[str]:
    """The configured naming pattern `key` as a regex: each placeholder replaced by its value,
    or by "anything" where the value is unknown (an expression, a CHECK's columns)."""
    template = ctx.config.naming[key]
    unknown = sorted(set(_PLACEHOLDER.findall(template)) - set(allowed))
    if unknown:
        raise InputError(
            f"review.naming.{key}: unknown placeholder {{{unknown[0]}}} in {template!r}; "
            f"use {', '.join('{' + a + '}' for a in allowed)}"
        )
    out, pos = [], 0
    for m in _PLACEHOLDER.finditer(template):
        out.append(re.escape(template[pos : m.start()]))
        value = values.get(m.group(1))
        out.append(re.escape(value) if value is not None else ".+")
        pos = m.end()
    out.append(re.escape(template[pos:]))
    return re.compile("".join(out))


def _expected(ctx: ReviewContext, key: str, values: dict[str, str | None]) -> str | None:
    """The exact conventional name when every placeholder has a value, else None."""
    template = ctx.config.naming[key]
    if any(values.get(p) is None for p in _PLACEHOLDER.findall(template)):
        return None
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)] or "", template)


def _conforms(
    ctx: ReviewContext, name: str, pattern: re.Pattern[str], expected: str | None
) -> bool:
    if pattern.fullmatch(name):
        return True
    # PostgreSQL cuts a long conventional name at 63 bytes: the cut name still conforms.
    return (
        ctx.schema.dialect == "postgres"
        and expected is not None
        and len(expected.encode()) > 63
        and expected.encode()[:63].decode("utf-8", "ignore") == name
    )


def _values(t: Table, columns: tuple[str, ...] | None) -> dict[str, str | None]:
    return {
        "table": t.name,
        "columns": "_".join(columns) if columns else None,
        "column": columns[0] if columns else None,
    }


_INDEX_PLACEHOLDERS = ("table", "columns", "column")


@rule(
    id="index-naming-convention",
    title="Index name does not follow the configured convention",
    family="naming",
    severity="info",
    problem="""
A naming convention for indexes makes an index's purpose readable in plans, migrations and
error messages, and lets tools and reviewers spot duplicates. Names that drift from it (an
ORM's generated hash, a hand-typed name) hide that information.
""",
    solution="""
Set the convention in the configuration, e.g. `[tool.dbarch.review.naming] index =
"{table}_{columns}_idx"` (placeholders: {table}; {columns}, the key columns joined by _;
{column}, the first key column; optional `unique-index` for unique indexes). Rename indexes
that do not match. The rule reports nothing until a convention is configured.
""",
    example="ALTER INDEX idx_1 RENAME TO orders_customer_id_idx;",
)
def index_naming_convention(ctx: ReviewContext) -> Iterator[Hit]:
    if "index" not in ctx.config.naming:
        return
    for t in ctx.tables:
        for ix in t.indexes:
            key = "unique-index" if ix.unique and "unique-index" in ctx.config.naming else "index"
            exprs = any(k.expression for k in ix.keys)
            values = _values(t, None if exprs else tuple(k.column for k in ix.keys))
            pattern = _pattern(ctx, key, values, _INDEX_PLACEHOLDERS)
            expected = _expected(ctx, key, values)
            if _conforms(ctx, ix.name, pattern, expected):
                continue
            n = Named(
                "index", object_name(t.schema, t.name, ix.name), ix.name, "index", t, t.schema
            )
            yield Hit(
                kind="index",
                object=n.object,
                message=f"index {n.object} does not follow the convention "
                f"{ctx.config.naming[key]!r}" + (f" (expected {expected})" if expected else ""),
                fix=rename_sql(ctx, n, expected) if expected else None,
            )


_CONSTRAINT_PLACEHOLDERS = ("table", "columns", "column", "ref_table")


@rule(
    id="constraint-naming-convention",
    title="Constraint name does not follow the configured convention",
    family="naming",
    severity="info",
    problem="""
Constraint names appear in every violation error an application sees and in every migration
that drops or alters the constraint. A convention (`{table}_{columns}_fkey`) makes the error
self-explaining and migrations predictable across environments; generated or ad-hoc names
do not.
""",
    solution="""
Set conventions in the configuration under `[tool.dbarch.review.naming]`, with keys
`primary-key`, `foreign-key`, `unique` and `check`, e.g. `foreign-key =
"{table}_{columns}_fkey"`. Placeholders: {table}, {columns} (joined by _), {column} (the
first), and {ref_table} for foreign keys; a CHECK's columns are unknown, so there they match
anything. Only the configured kinds are checked; MySQL's primary key is always PRIMARY and
unnamed SQLite constraints have no name to check.
""",
    example="ALTER TABLE orders RENAME CONSTRAINT fk_1 TO orders_customer_id_fkey;",
)
def constraint_naming_convention(ctx: ReviewContext) -> Iterator[Hit]:
    naming = ctx.config.naming
    dialect = ctx.schema.dialect
    for t in ctx.tables:
        items: list[tuple[str, str, dict[str, str | None]]] = []
        if t.primary_key and not t.primary_key.inherited and dialect != "mysql":
            items.append(("primary-key", t.primary_key.name, _values(t, t.primary_key.columns)))
        for fk in t.foreign_keys:
            if not fk.inherited:
                items.append(
                    ("foreign-key", fk.name, {**_values(t, fk.columns), "ref_table": fk.ref_table})
                )
        items += [("unique", u.name, _values(t, u.columns)) for u in t.uniques if not u.inherited]
        items += [("check", c.name, _values(t, None)) for c in t.checks if not c.inherited]
        for key, name, values in items:
            if key not in naming or not name:
                continue
            pattern = _pattern(ctx, key, values, _CONSTRAINT_PLACEHOLDERS)
            expected = _expected(ctx, key, values)
            if _conforms(ctx, name, pattern, expected):
                continue
            n = Named("constraint", object_name(t.schema, t.name, name), name, key, t, t.schema)
            fix = None
            if expected and dialect == "postgres":
                fix = rename_sql(ctx, n, expected)
            elif expected and dialect == "mysql" and key == "unique":
                fix = rename_sql(ctx, Named("index", n.object, name, "index", t), expected)
            yield Hit(
                kind="constraint",
                object=n.object,
                message=f"{key} constraint {n.object} does not follow the convention "
                f"{naming[key]!r}" + (f" (expected {expected})" if expected else ""),
                fix=fix,
            )
