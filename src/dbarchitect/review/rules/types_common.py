"""Review rules: types, on every engine (money in floats, int4 keys, one name with many types)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator

from dbarchitect.model import Column, Table
from dbarchitect.review.context import ReviewContext, object_name
from dbarchitect.review.finding import Hit
from dbarchitect.review.registry import rule

_NEXTVAL = re.compile(r"^nextval\('((?:[^']|'')+)'::regclass\)$")
_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


def words(text: str) -> frozenset[str]:
    """A word list written as text, one or more words a line."""
    return frozenset(text.split())


def name_words(name: str) -> list[str]:
    """The lower-case words of a snake_case, camelCase or PascalCase name."""
    return [w.lower() for w in _WORD.findall(name)]


def split_qualified(text: str) -> tuple[str, str]:
    """`schema.name` as PostgreSQL prints a regclass (parts quoted when needed) → the parts."""
    parts: list[str] = []
    buf: list[str] = []
    quoted = False
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == '"':
            if quoted and i + 1 < len(text) and text[i + 1] == '"':
                buf.append('"')
                i += 1
            else:
                quoted = not quoted
        elif ch == "." and not quoted:
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(ch if quoted else ch.lower())
        i += 1
    parts.append("".join(buf))
    return (parts[-2], parts[-1]) if len(parts) >= 2 else ("", parts[-1])


def nextval_sequence(default: str | None) -> tuple[str, str] | None:
    """The (schema, name) of the sequence a `nextval('…'::regclass)` default draws from."""
    m = _NEXTVAL.match(default or "")
    return split_qualified(m.group(1).replace("''", "'")) if m else None


# Words that name an amount of money, singular and plural; matched as whole words.
_MONEY_WORDS = words(
    """
    price prices amount amounts cost costs total totals subtotal subtotals balance balances
    fee fees salary salaries tax taxes payment payments wage wages revenue revenues charge
    charges refund refunds budget budgets income incomes profit profits fare fares payout
    payouts earnings paid
    """
)
# Words that make a money-sounding name a quantity of something else (tax_rate, total_weight).
_NOT_MONEY_WORDS = words(
    """
    rate rates ratio percent percentage pct count counts weight score distance time
    duration factor quantity qty size length height width volume speed hours minutes
    seconds days points votes rank rating calories bytes pages items
    """
)


def money_like(name: str) -> bool:
    """Whether a column name says it holds money (whole words, snake or camel case)."""
    words = set(name_words(name))
    return bool(words & _MONEY_WORDS) and not words & _NOT_MONEY_WORDS


def mysql_modify(ctx: ReviewContext, t: Table, new: Column) -> str:
    """ALTER TABLE … MODIFY with the column's full new definition: MODIFY drops whatever the
    definition leaves out (NOT NULL, default, comment), so it is rendered whole."""
    from dbarchitect.dialects.mysql.ddl import column_definition

    return f"ALTER TABLE {ctx.qname(t)} MODIFY COLUMN {column_definition(new)};"


@rule(
    id="float-for-money",
    title="Money is stored in a floating-point column",
    family="types",
    severity="warning",
    problem="""
Binary floating point cannot represent most decimal fractions: 0.1 + 0.2 is not 0.3, sums of
prices drift by cents, and equality tests on amounts fail. A column whose name says it holds
money (price, amount, cost, total, balance, fee, salary, tax, payment…) should not be
real, double or float.
""",
    solution="""
Use an exact decimal type: `numeric(p, s)` on PostgreSQL, `DECIMAL(p, s)` on MySQL. SQLite has
no exact decimal storage (its DECIMAL has NUMERIC affinity and still stores fractions as
floats), so store integer minor units (cents) in an INTEGER column there. Names with a
non-money word (tax_rate, total_weight, price_count) are not reported.
""",
    example="ALTER TABLE invoice_line ALTER COLUMN unit_price TYPE numeric(19,4);",
)
def float_for_money(ctx: ReviewContext) -> Iterator[Hit]:
    dialect = ctx.schema.dialect
    for t, c in ctx.columns():
        if c.logical not in ("real", "double") or c.inherited or not money_like(c.name):
            continue
        fix: str | None = None
        if dialect == "postgres":
            fix = f"ALTER TABLE {ctx.qname(t)} ALTER COLUMN {ctx.quote(c.name)} TYPE numeric(19,4);"
        elif dialect == "mysql":
            fix = mysql_modify(ctx, t, dataclasses.replace(c, type="decimal(19,4)"))
        yield Hit(
            kind="column",
            object=object_name(t.schema, t.name, c.name),
            message=f"column {object_name(t.qualified, c.name)} looks like money but is "
            f"{c.type}, a binary floating-point type",
            fix=fix,
        )


def _referencing(ctx: ReviewContext, t: Table, column: str) -> list[tuple[Table, str]]:
    """(table, column) pairs whose single-column foreign keys point at t.column."""
    out = []
    for other in ctx.tables:
        for fk in other.foreign_keys:
            if (
                not fk.inherited
                and (fk.ref_schema, fk.ref_table) == (t.schema, t.name)
                and fk.ref_columns == (column,)
            ):
                out.append((other, fk.columns[0]))
    return out


@rule(
    id="integer-primary-key",
    title="Primary key is a 32-bit integer",
    family="types",
    severity="info",
    problem="""
A 32-bit integer key runs out at 2,147,483,647 (MySQL's MEDIUMINT at 8,388,607). Tables that
grow by events, logs or edits reach it, and inserts then fail; widening the key later rewrites
the table and every table whose foreign keys refer to it, under heavy locks. This is advice
for growing tables, off unless enabled.
""",
    solution="""
Use `bigint` keys for tables that can grow without bound; small lookup tables are fine with
int. Widen the key and every referencing column together (and a serial's sequence with
`ALTER SEQUENCE … AS bigint`).
""",
    example="ALTER TABLE event ALTER COLUMN id TYPE bigint;",
    engines=("postgres", "mysql"),
    enabled=False,
)
def integer_primary_key(ctx: ReviewContext) -> Iterator[Hit]:
    dialect = ctx.schema.dialect
    for t in ctx.tables:
        pk = t.primary_key
        if pk is None or pk.inherited or len(pk.columns) != 1:
            continue
        c = t.column(pk.columns[0])
        if c is None or c.logical != "integer":
            continue
        if any(fk.columns == (c.name,) for fk in t.foreign_keys):
            continue  # a key borrowed from a parent: the parent's key is reported
        refs = _referencing(ctx, t, c.name)
        fix: str | None = None
        if dialect == "postgres":
            steps = [f"ALTER TABLE {ctx.qname(t)} ALTER COLUMN {ctx.quote(c.name)} TYPE bigint;"]
            seq = nextval_sequence(c.default)
            if seq:
                steps.append(f"ALTER SEQUENCE {ctx.quote(seq[0])}.{ctx.quote(seq[1])} AS bigint;")
            steps += [
                f"ALTER TABLE {ctx.qname(o)} ALTER COLUMN {ctx.quote(col)} TYPE bigint;"
                for o, col in refs
            ]
            fix = " ".join(steps)
        elif not refs:  # MySQL refuses to change a column that a foreign key uses
            unsigned = " unsigned" if "unsigned" in c.type else ""
            fix = mysql_modify(ctx, t, dataclasses.replace(c, type=f"bigint{unsigned}"))
        yield Hit(
            kind="column",
            object=object_name(t.schema, t.name, c.name),
            message=f"primary key {object_name(t.qualified, c.name)} is {c.type}: it runs "
            f"out at {_int_max(c.type):,}",
            fix=fix,
        )


def _int_max(type_: str) -> int:
    """The largest value of a 32-bit (or MySQL 24-bit) integer type."""
    bits = 24 if type_.lower().startswith("mediumint") else 32
    magnitude_bits = bits if "unsigned" in type_.lower() else bits - 1
    return int(2**magnitude_bits) - 1


_DISPLAY_WIDTH = re.compile(r"^(tinyint|smallint|mediumint|int|integer|bigint)\(\d+\)")


def comparable_type(dialect: str, c: Column) -> str:
    """The part of a column's type that must agree between tables: SQLite's affinity (its
    storage), MySQL's type without integer display width, PostgreSQL's type text."""
    if dialect == "sqlite":
        from dbarchitect.dialects.sqlite.types import affinity

        return affinity(c.type)
    if dialect == "mysql":
        return _DISPLAY_WIDTH.sub(r"\1", c.type.lower())
    return c.type


def key_like(name: str) -> bool:
    """customer_id, CustomerId, customerID: the name of a key; a bare `id` is each table's own."""
    return bool(re.search(r"(_id|[a-z0-9]Id|[a-z0-9]ID)$", name) or name.lower().endswith("_id"))


@rule(
    id="inconsistent-column-types",
    title="The same key column name has different types in different tables",
    family="types",
    severity="warning",
    problem="""
When `customer_id` is an integer in one table and a bigint or text in another, joins need
casts (which defeat indexes), foreign keys cannot be added or do not match, and values that
fit one column overflow or get truncated in the other. Only names that look like keys
(ending in _id or Id) or that take part in a foreign key are compared, to keep the rule quiet.
""",
    solution="""
Pick one type for the key, normally the type of the column it refers to, and alter the
others. On SQLite only the storage class (affinity) is compared, and on MySQL integer display
widths are ignored. A bare `id` is each table's own key and is not compared.
""",
    example="ALTER TABLE payment ALTER COLUMN customer_id TYPE bigint;",
)
def inconsistent_column_types(ctx: ReviewContext) -> Iterator[Hit]:
    fold = ctx.schema.dialect != "postgres"  # column names are case-insensitive there

    def norm(name: str) -> str:
        return name.lower() if fold else name

    # Columns that take part in a foreign key, on either side: (table, column).
    in_fks: set[tuple[str, str]] = set()
    for t in ctx.tables:
        for fk in t.foreign_keys:
            in_fks.update((t.qualified, norm(c)) for c in fk.columns)
            ref = object_name(fk.ref_schema, fk.ref_table)
            in_fks.update((ref, norm(c)) for c in fk.ref_columns)
    by_name: dict[str, dict[str, list[str]]] = {}
    for t, c in ctx.columns():
        if c.inherited or any(o[0] == "virtual" for o in t.options):
            continue
        key = norm(c.name)
        # Generic names (type, status, artist) are compared only where they are keys, so a
        # text `link` is not held against an integer `link` foreign key.
        if key.lower() == "id" or not (key_like(c.name) or (t.qualified, key) in in_fks):
            continue
        types = by_name.setdefault(key, {})
        types.setdefault(comparable_type(ctx.schema.dialect, c), []).append(t.qualified)
    for name, types in sorted(by_name.items()):
        if len(types) < 2:
            continue
        parts = []
        for type_, tables in sorted(types.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            more = f" and {len(tables) - 3} more" if len(tables) > 3 else ""
            parts.append(f"{type_} in {', '.join(tables[:3])}{more}")
        yield Hit(
            kind="column-name",
            object=name,
            message=f"column name {name} has {len(types)} different types: " + "; ".join(parts),
        )
