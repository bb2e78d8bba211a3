"""Review rules: types. PostgreSQL's "Don't Do This" types live here; the rules about types on
every engine are in types_common.py and the SQLite and MySQL ones in types_engines.py."""

from __future__ import annotations

import re
from collections.abc import Iterator

from dbarchitect.model import Column, Sequence, Table
from dbarchitect.review.context import ReviewContext, object_name
from dbarchitect.review.finding import Hit
from dbarchitect.review.registry import rule
from dbarchitect.review.rules.types_common import nextval_sequence

# format_type() text: an optional precision, then the zone words, then array brackets.
_TIMESTAMP = re.compile(r"^timestamp(\(\d+\))? without time zone(\[\])*$")
_TIMETZ = re.compile(r"^time(\(\d+\))? with time zone(\[\])*$")
_CHAR_N = re.compile(r"^(?:character|bpchar)(\((\d+)\))?(\[\])*$")
_MONEY = re.compile(r"^money(\[\])*$")
_JSON = re.compile(r"^json(\[\])*$")


def _column_hit(ctx: ReviewContext, t: Table, c: Column, message: str, fix: str | None) -> Hit:
    return Hit(
        kind="column",
        object=object_name(t.schema, t.name, c.name),
        message=f"column {object_name(t.qualified, c.name)} {message}",
        fix=fix,
    )


def _alter_type(ctx: ReviewContext, t: Table, c: Column, new_type: str, using: str = "") -> str:
    using_clause = f" USING {using}" if using else ""
    return (
        f"ALTER TABLE {ctx.qname(t)} ALTER COLUMN {ctx.quote(c.name)} TYPE {new_type}"
        f"{using_clause};"
    )


@rule(
    id="timestamp-without-time-zone",
    title="Column uses timestamp without time zone",
    family="types",
    severity="warning",
    problem="""
`timestamp without time zone` stores a wall-clock reading with no zone: the same value means
different instants to clients in different time zones, arithmetic across daylight-saving
changes is wrong, and comparing it with `now()` silently converts through the session's
TimeZone. It is the PostgreSQL wiki's "Don't Do This" item for points in time.

`timestamptz` stores an absolute instant (as UTC) and converts on input and output; it takes
the same 8 bytes.
""",
    solution="""
Convert the column to `timestamptz`, stating which zone the stored values were written in
(usually UTC). The conversion rewrites the table under an ACCESS EXCLUSIVE lock; on
PostgreSQL 12+ with the session TimeZone set to that zone, `ALTER … TYPE timestamptz` without
USING is a metadata-only change. Keep `timestamp` only for civil times that are deliberately
zone-less (a shop's opening hour); then mark the column with `dbarch:ignore` in its comment.
""",
    example="ALTER TABLE orders ALTER COLUMN placed_at TYPE timestamptz "
    "USING placed_at AT TIME ZONE 'UTC';",
    engines=("postgres",),
)
def timestamp_without_time_zone(ctx: ReviewContext) -> Iterator[Hit]:
    for t, c in ctx.columns():
        m = _TIMESTAMP.match(c.type)
        if not m or c.inherited:
            continue
        fix = None
        if not m.group(2):  # arrays need a per-element conversion: no one-line fix
            new = f"timestamptz{m.group(1) or ''}"
            fix = _alter_type(ctx, t, c, new, f"{ctx.quote(c.name)} AT TIME ZONE 'UTC'")
        yield _column_hit(
            ctx, t, c, f"is {c.type}: it records no time zone, so its instants are ambiguous", fix
        )


@rule(
    id="timetz-type",
    title="Column uses time with time zone",
    family="types",
    severity="warning",
    problem="""
`time with time zone` (timetz) pairs a time of day with a fixed UTC offset but no date, so it
cannot follow daylight-saving rules: the offset of 09:00 in Europe/Paris depends on the date
the type does not have. PostgreSQL keeps the type only for SQL-standard compliance and its
documentation advises against it.
""",
    solution="""
Store a `timestamptz` when the value is a point in time, or a plain `time` plus a time zone
name column (e.g. `text` holding 'Europe/Paris') when it is a recurring local time of day.
Which one depends on the meaning, so no automatic fix is offered.
""",
    example="ALTER TABLE shop ALTER COLUMN opens_at TYPE time; "
    "ALTER TABLE shop ADD COLUMN time_zone text NOT NULL DEFAULT 'UTC';",
    engines=("postgres",),
)
def timetz_type(ctx: ReviewContext) -> Iterator[Hit]:
    for t, c in ctx.columns():
        if _TIMETZ.match(c.type) and not c.inherited:
            yield _column_hit(
                ctx, t, c, f"is {c.type}: a fixed offset without a date cannot follow DST", None
            )


@rule(
    id="char-n-type",
    title="Column uses blank-padded character(n)",
    family="types",
    severity="warning",
    problem="""
`character(n)` pads values with spaces to n characters, and those spaces are ignored by some
operations and kept by others (`||`, `length()` vs. comparison, casts to text, LIKE), which
surprises applications. It does not save space and is not faster than `varchar(n)` or `text`;
even fixed-length codes are better served by `text` with a CHECK.
""",
    solution="""
Change the column to `varchar(n)` (keeps the length limit) or `text` with a CHECK on the
length. The cast strips the trailing padding, which is almost always what was meant.
The internal single-byte type `"char"` is a different type and is not reported.
""",
    example="ALTER TABLE country ALTER COLUMN iso_code TYPE varchar(2);",
    engines=("postgres",),
)
def char_n_type(ctx: ReviewContext) -> Iterator[Hit]:
    for t, c in ctx.columns():
        m = _CHAR_N.match(c.type)
        if not m or c.inherited:
            continue
        fix = None
        if not m.group(3):
            fix = _alter_type(ctx, t, c, f"varchar({m.group(2)})" if m.group(2) else "text")
        yield _column_hit(ctx, t, c, f"is {c.type}: values are blank-padded", fix)


@rule(
    id="money-type",
    title="Column uses the money type",
    family="types",
    severity="warning",
    problem="""
`money` has a fixed number of fractional digits taken from the server's `lc_monetary`
setting: a dump restored on a server with another locale reinterprets every amount, it holds
no currency, and it rounds on division. The PostgreSQL wiki lists it under "Don't Do This".
""",
    solution="""
Use `numeric` (with a precision and scale that fit the currency, e.g. numeric(19,4)), plus a
currency column when more than one currency can occur.
""",
    example="ALTER TABLE invoice ALTER COLUMN total TYPE numeric(19,4) USING total::numeric;",
    engines=("postgres",),
)
def money_type(ctx: ReviewContext) -> Iterator[Hit]:
    for t, c in ctx.columns():
        m = _MONEY.match(c.type)
        if not m or c.inherited:
            continue
        fix = None
        if not m.group(1):
            fix = _alter_type(ctx, t, c, "numeric(19,4)", f"{ctx.quote(c.name)}::numeric")
        yield _column_hit(ctx, t, c, "is money: its scale depends on the server's lc_monetary", fix)


@rule(
    id="json-instead-of-jsonb",
    title="Column uses json instead of jsonb",
    family="types",
    severity="info",
    problem="""
`json` stores the text as given and re-parses it on every access; it has no equality
operator (so no DISTINCT, GROUP BY or unique index) and no GIN index support. `jsonb` is
parsed once, compares, indexes and is what the JSON operators and functions are built for.
""",
    solution="""
Convert the column to `jsonb`. Keep `json` only when the exact text matters: key order,
duplicate keys and whitespace (jsonb keeps the last of duplicate keys and normalises the rest).
""",
    example="ALTER TABLE event ALTER COLUMN payload TYPE jsonb USING payload::jsonb;",
    engines=("postgres",),
)
def json_instead_of_jsonb(ctx: ReviewContext) -> Iterator[Hit]:
    for t, c in ctx.columns():
        m = _JSON.match(c.type)
        if not m or c.inherited:
            continue
        fix = None
        if not m.group(1):
            fix = _alter_type(ctx, t, c, "jsonb", f"{ctx.quote(c.name)}::jsonb")
        yield _column_hit(ctx, t, c, "is json: it cannot be compared or GIN-indexed", fix)


def _serial_fix(ctx: ReviewContext, t: Table, c: Column, seq: Sequence) -> str:
    """Replace the serial's sequence by an identity that continues where it stopped.

    OWNED BY NONE comes first so that the column owns only the new identity sequence when
    pg_get_serial_sequence() looks it up; the old sequence's last_value and is_called are
    copied before it is dropped, all in one transaction.
    """
    table = ctx.qname(t)
    col = ctx.quote(c.name)
    seqname = f"{ctx.quote(seq.schema)}.{ctx.quote(seq.name)}"
    table_literal = "'" + table.replace("'", "''") + "'"
    # pg_get_serial_sequence() parses its table argument as SQL but takes the column verbatim.
    col_literal = "'" + c.name.replace("'", "''") + "'"
    steps = [
        "BEGIN;",
        f"ALTER TABLE {table} ALTER COLUMN {col} DROP DEFAULT;",
        f"ALTER SEQUENCE {seqname} OWNED BY NONE;",
    ]
    if c.nullable:
        steps.append(f"ALTER TABLE {table} ALTER COLUMN {col} SET NOT NULL;")
    steps += [
        f"ALTER TABLE {table} ALTER COLUMN {col} ADD GENERATED BY DEFAULT AS IDENTITY;",
        f"SELECT setval(pg_get_serial_sequence({table_literal}, {col_literal}), last_value, "
        f"is_called) FROM {seqname};",
        f"DROP SEQUENCE {seqname};",
        "COMMIT;",
    ]
    return " ".join(steps)


@rule(
    id="serial-instead-of-identity",
    title="Column uses serial instead of an identity",
    family="types",
    severity="info",
    problem="""
`serial` is a shorthand for an integer column whose default is `nextval()` of a sequence the
column owns. The sequence is a separate object with its own permissions (inserting roles need
USAGE on it), copying the table with CREATE TABLE … LIKE shares the sequence, and schema
tools lose track of the link. SQL-standard identity columns (PostgreSQL 10+) keep the sequence
inside the column's definition.
""",
    solution="""
Turn the column into `GENERATED BY DEFAULT AS IDENTITY`, carrying the sequence's current value
over so new rows do not collide with existing ones: drop the default, detach the sequence,
add the identity, set it to the old sequence's value and drop the old sequence, in one
transaction. Use GENERATED ALWAYS instead once no code inserts explicit ids.
""",
    example="""
BEGIN;
ALTER TABLE t ALTER COLUMN id DROP DEFAULT;
ALTER SEQUENCE t_id_seq OWNED BY NONE;
ALTER TABLE t ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY;
SELECT setval(pg_get_serial_sequence('t', 'id'), last_value, is_called) FROM t_id_seq;
DROP SEQUENCE t_id_seq;
COMMIT;
""",
    engines=("postgres",),
)
def serial_instead_of_identity(ctx: ReviewContext) -> Iterator[Hit]:
    sequences = {(s.schema, s.name): s for s in ctx.schema.sequences}
    # A sequence several columns draw from is a shared counter, not a serial.
    users: dict[tuple[str, str], int] = {}
    for _, c in ctx.columns():
        ref = nextval_sequence(c.default)
        if ref:
            users[ref] = users.get(ref, 0) + 1
    for t, c in ctx.columns():
        ref = nextval_sequence(c.default)
        if ref is None or c.inherited or users[ref] > 1:
            continue
        if not ref[0]:  # unqualified: printed so because it is on the search path
            ref = next((k for k in ((t.schema, ref[1]), ("public", ref[1])) if k in sequences), ref)
        seq = sequences.get(ref)
        if seq is None or seq.owned_by != f"{t.schema}.{t.name}.{c.name}":
            continue
        yield _column_hit(
            ctx,
            t,
            c,
            f"takes its values from the owned sequence {seq.schema}.{seq.name} (serial): "
            "use an identity column",
            _serial_fix(ctx, t, c, seq),
        )


# The other type rules register on import.
from dbarchitect.review.rules import types_engines  # noqa: E402,F401
