"""Review rules: types and storage particular to SQLite (affinity, STRICT) and MySQL/MariaDB
(3-byte utf8, MyISAM, zero dates)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator

from dbarchitect.dialects.sqlite.types import affinity
from dbarchitect.model import Column, Table
from dbarchitect.review.context import ReviewContext, object_name
from dbarchitect.review.finding import Hit
from dbarchitect.review.registry import rule
from dbarchitect.review.rules.types_common import mysql_modify


def _is_virtual(t: Table) -> bool:
    return any(k == "virtual" for k, _ in t.options)


@rule(
    id="sqlite-non-strict-table",
    title="SQLite table is not STRICT",
    family="types",
    severity="info",
    problem="""
An ordinary SQLite table accepts any value in any column: a column declared INTEGER stores the
text 'abc' without complaint, so type errors in the application surface later, elsewhere.
STRICT tables (SQLite 3.37+) refuse values that do not fit the declared type.
Non-STRICT is SQLite's default and nearly universal, so this advice is off unless enabled.
""",
    solution="""
Declare new tables with `STRICT` (types limited to INT, INTEGER, REAL, TEXT, BLOB, ANY). An
existing table becomes STRICT only by being rebuilt: create the new table, copy the rows,
drop the old one and rename. Virtual tables are not reported.
""",
    example="CREATE TABLE account (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL) STRICT;",
    engines=("sqlite",),
    enabled=False,
)
def sqlite_non_strict_table(ctx: ReviewContext) -> Iterator[Hit]:
    for t in ctx.tables:
        if ("strict", "true") in t.options or _is_virtual(t):
            continue
        yield Hit(
            kind="table",
            object=object_name(t.schema, t.name),
            message=f"table {t.qualified} is not STRICT: its columns accept values of any type",
        )


_INTEGER_WORD = re.compile(r"^(TINY|SMALL|MEDIUM|BIG)?INT(EGER|[1-8])?$")
# Names other engines use for strings that SQLite gives NUMERIC affinity (no CHAR/CLOB/TEXT).
_STRING_NAMES = frozenset({"STRING", "STR", "NSTRING", "WSTRING", "ENUM"})


def _base_words(declared: str) -> list[str]:
    return re.sub(r"\(.*", "", declared).upper().split()


def affinity_surprise(declared: str) -> str | None:
    """Why SQLite's affinity for a declared type differs from what its name suggests, or None.

    Two cases are surprises: an INTEGER affinity that comes from the letters INT inside a
    word that is no integer type (POINT, INTERVAL, FLOATING POINT), and the NUMERIC affinity of
    string type names from other engines (STRING), which turns '007' into 7. NUMERIC for
    DATETIME, BOOLEAN, DECIMAL or JSON is how SQLite is meant to be used and is not reported.
    """
    aff = affinity(declared)
    words = _base_words(declared)
    if aff == "INTEGER" and not any(_INTEGER_WORD.match(w) for w in words):
        return (
            "has INTEGER affinity because its name contains INT: fractional values that "
            "are whole (1.0) are stored as integers and text that looks like a number "
            "becomes one"
        )
    if aff == "NUMERIC" and words and words[0] in _STRING_NAMES:
        return (
            "has NUMERIC affinity (its name contains none of CHAR, CLOB or TEXT): strings "
            "that look like numbers are stored as numbers, '007' becomes 7"
        )
    return None


@rule(
    id="sqlite-affinity-surprise",
    title="SQLite declared type gets an unexpected affinity",
    family="types",
    severity="warning",
    problem="""
SQLite decides how a column stores values (its affinity) by looking for substrings in the
declared type: INT anywhere gives INTEGER, then CHAR, CLOB or TEXT give TEXT, then BLOB,
then REAL, FLOA or DOUB give REAL, and everything else NUMERIC. Some names land in the wrong
class: "FLOATING POINT" and "POINT" contain INT and get INTEGER affinity, "STRING" gets
NUMERIC, so leading zeros of codes are lost and values change type on the way in.
""",
    solution="""
Declare the type with a name SQLite maps as intended: TEXT for strings, REAL for floating
point, INTEGER for integers, BLOB for bytes. Changing a column's type needs a table rebuild in
SQLite (create the new table, copy, drop, rename). DATETIME, BOOLEAN, DECIMAL and JSON get
NUMERIC affinity by design and are not reported; nor are columns without a declared type.
""",
    example="CREATE TABLE product (code TEXT NOT NULL, weight REAL);  -- not STRING, FLOAT POINT",
    engines=("sqlite",),
)
def sqlite_affinity_surprise(ctx: ReviewContext) -> Iterator[Hit]:
    for t, c in ctx.columns():
        if ("strict", "true") in t.options or _is_virtual(t):
            continue  # STRICT tables accept only the five exact type names
        why = affinity_surprise(c.type)
        if why:
            yield Hit(
                kind="column",
                object=object_name(t.schema, t.name, c.name),
                message=f"column {t.name}.{c.name} declared {c.type} {why}",
            )


def schema_wide(ctx: ReviewContext, hits: list[Hit]) -> bool:
    """Whether table findings cover most of the schema: then they share one cause (a server
    or database default, a habit such as NVARCHAR) and are reported once, for the database."""
    return len(hits) > max(3, len(ctx.tables) / 2)


def database_hit(ctx: ReviewContext, hits: list[Hit], what: str, first_fix: str | None) -> Hit:
    """One database finding standing for many table findings, with all their fixes."""
    names = ", ".join(h.object for h in hits[:5]) + (", …" if len(hits) > 5 else "")
    fixes = [f for f in (first_fix, *(h.fix for h in hits)) if f]
    return Hit(
        kind="database",
        object="database",
        message=f"{len(hits)} of {len(ctx.tables)} tables {what}: {names}",
        fix=" ".join(fixes) or None,
    )


_UTF8MB3 = re.compile(r"^utf8(mb3)?_", re.IGNORECASE)


def _utf8mb4(collation: str) -> str:
    """The utf8mb4 twin of a utf8mb3 collation: utf8mb3_unicode_ci → utf8mb4_unicode_ci."""
    return "utf8mb4_" + collation.split("_", 1)[1]


@rule(
    id="mysql-utf8mb3-charset",
    title="Table uses the 3-byte utf8 character set",
    family="types",
    severity="warning",
    problem="""
MySQL's `utf8` is `utf8mb3`: at most 3 bytes per character, so it cannot store characters
outside the Basic Multilingual Plane (emoji, many CJK and historic scripts). Inserting them
fails in strict mode or silently truncates the string otherwise. `utf8mb3` is deprecated.
""",
    solution="""
Convert to `utf8mb4` with the matching collation: the whole table with CONVERT TO when its
default is utf8mb3 (this also resets columns with their own collation), else the columns
one by one. MySQL's NATIONAL CHAR and NVARCHAR types are utf8mb3 too. Both rewrite the
table; indexed VARCHAR columns take up to 4 bytes per character, which can exceed the index
key limit (767 bytes on COMPACT/REDUNDANT row formats, 3072 on DYNAMIC). Change the database
default too so new tables get utf8mb4. When most tables are affected the cause is
schema-wide (a database default, the NVARCHAR habit) and one finding for the database
stands for them all.
""",
    example="ALTER TABLE customer CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;",
    engines=("mysql",),
)
def mysql_utf8mb3_charset(ctx: ReviewContext) -> Iterator[Hit]:
    db = dict(ctx.schema.options).get("collation", "")
    hits: list[Hit] = []
    for t in ctx.tables:
        collation = dict(t.options).get("collation", "")
        if _UTF8MB3.match(collation):
            hits.append(
                Hit(
                    kind="table",
                    object=object_name(t.schema, t.name),
                    message=f"table {t.qualified} uses collation {collation}, a 3-byte utf8 "
                    "that cannot store characters outside the BMP",
                    fix=f"ALTER TABLE {ctx.qname(t)} CONVERT TO CHARACTER SET utf8mb4 COLLATE "
                    f"{_utf8mb4(collation)};",
                )
            )
            continue
        # Columns (NATIONAL/NVARCHAR ones are utf8mb3 in MySQL) on a table of another charset:
        # one finding per table, fixed column by column so other columns keep their collation.
        bad = [c for c in t.columns if c.collation and _UTF8MB3.match(c.collation)]
        if not bad:
            continue
        modify = ", ".join(
            mysql_modify(ctx, t, dataclasses.replace(c, collation=_utf8mb4(c.collation or "")))
            .removeprefix(f"ALTER TABLE {ctx.qname(t)} ")
            .removesuffix(";")
            for c in bad
        )
        names = ", ".join(c.name for c in bad)
        hits.append(
            Hit(
                kind="table",
                object=object_name(t.schema, t.name),
                message=f"table {t.qualified} has {len(bad)} column(s) in 3-byte utf8 "
                f"(collation {bad[0].collation}): {names}",
                fix=f"ALTER TABLE {ctx.qname(t)} {modify};",
            )
        )
    db_fix = f"ALTER DATABASE CHARACTER SET utf8mb4 COLLATE {_utf8mb4(db)};"
    if schema_wide(ctx, hits):
        yield database_hit(ctx, hits, "use 3-byte utf8", db_fix if _UTF8MB3.match(db) else None)
        return
    if _UTF8MB3.match(db):
        yield Hit(
            kind="database",
            object="database",
            message=f"the database's default collation {db} is 3-byte utf8: new tables get it",
            fix=db_fix,
        )
    yield from hits


# Engines without transactions or crash recovery; MEMORY, ARCHIVE and CSV are deliberate
# special-purpose choices and are left alone.
_UNSAFE_ENGINES = frozenset({"myisam", "mrg_myisam", "isam"})


@rule(
    id="mysql-myisam-engine",
    title="Table uses the non-transactional MyISAM engine",
    family="types",
    severity="warning",
    problem="""
MyISAM has no transactions, no foreign keys and no crash recovery: a crash can leave tables
corrupt, a failed multi-statement change is half applied, and every write locks the whole
table. InnoDB, the default since MySQL 5.5, has none of these problems and supports FULLTEXT
and spatial indexes too.
""",
    solution="""
Convert the table to InnoDB (the ALTER rebuilds it). When most tables use MyISAM, the server's
default engine is the cause: one finding for the database stands for them all, and
default_storage_engine should be set to InnoDB.
""",
    example="ALTER TABLE film_text ENGINE=InnoDB;",
    engines=("mysql",),
)
def mysql_myisam_engine(ctx: ReviewContext) -> Iterator[Hit]:
    hits = []
    for t in ctx.tables:
        engine = dict(t.options).get("engine", "")
        if engine.lower() in _UNSAFE_ENGINES:
            hits.append(
                Hit(
                    kind="table",
                    object=object_name(t.schema, t.name),
                    message=f"table {t.qualified} uses the {engine} engine: no transactions, "
                    "foreign keys or crash recovery",
                    fix=f"ALTER TABLE {ctx.qname(t)} ENGINE=InnoDB;",
                )
            )
    if schema_wide(ctx, hits):
        yield database_hit(ctx, hits, "use a non-transactional engine (MyISAM)", None)
    else:
        yield from hits


_ZERO_DATE = re.compile(r"^'?0000-00-00")
_DATE_TYPES = re.compile(r"^(date|datetime|timestamp)\b", re.IGNORECASE)


def _zero_literal(c: Column) -> str:
    return "'0000-00-00'" if c.type.lower() == "date" else "'0000-00-00 00:00:00'"


@rule(
    id="mysql-zero-date",
    title="Date column defaults to a zero date",
    family="types",
    severity="warning",
    problem="""
'0000-00-00' is not a date: MySQL's default SQL mode (NO_ZERO_DATE with strict mode) rejects
it, so such defaults break dumps and ALTERs on current servers, and drivers turn it into
errors or nulls (JDBC throws, PHP sees a negative year). It is usually a stand-in for "no
value", which is what NULL means.
""",
    solution="""
Make the column nullable with no zero default, and turn existing zero dates into NULL. Run
the change in a session whose sql_mode lacks NO_ZERO_DATE if the table already holds zero
dates; or use a real default (CURRENT_TIMESTAMP) when the column must stay NOT NULL.
""",
    example="ALTER TABLE customer MODIFY COLUMN last_seen datetime NULL DEFAULT NULL; "
    "UPDATE customer SET last_seen = NULL WHERE last_seen = '0000-00-00 00:00:00';",
    engines=("mysql",),
)
def mysql_zero_date(ctx: ReviewContext) -> Iterator[Hit]:
    for t, c in ctx.columns():
        if not (_DATE_TYPES.match(c.type) and _ZERO_DATE.match(c.default or "")):
            continue
        col = ctx.quote(c.name)
        fix = (
            mysql_modify(ctx, t, dataclasses.replace(c, nullable=True, default="NULL"))
            + f" UPDATE {ctx.qname(t)} SET {col} = NULL WHERE {col} = {_zero_literal(c)};"
        )
        yield Hit(
            kind="column",
            object=object_name(t.schema, t.name, c.name),
            message=f"column {t.qualified}.{c.name} ({c.type}) defaults to the zero date "
            f"{c.default}",
            fix=fix,
        )
