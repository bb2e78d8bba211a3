"""Normalization smells read from a sample of the data (live databases only).

Sampling stays cheap: only text columns that are not keys, a bounded number of columns per
review, a bounded number of values per column (the sampler reads the first non-null values).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from dbarchitect.model import Column, Table
from dbarchitect.review.context import ReviewContext, object_name
from dbarchitect.review.finding import Hit
from dbarchitect.review.registry import rule

_TEXT = frozenset({"char", "varchar", "text"})
# Free text (prose, addresses) has commas in most values without being a list.
_PROSE_NAME = re.compile(
    r"desc|comment|note|body|content|message|summary|text|address|bio|remark|html|markdown"
    r"|sql|query|definition|json|xml|yaml|url|uri|path|agent",
    re.IGNORECASE,
)
_DELIMITERS = (",", ";", "|")
_THOUSANDS = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$|^-?\d+,\d+$")
_SAMPLE = 200


def is_textual(c: Column) -> bool:
    """A character column (char, varchar, text) in any engine."""
    return c.logical in _TEXT


def is_virtual(t: Table) -> bool:
    """SQLite virtual tables (FTS and the like) are indexes in disguise, not designs."""
    return any(k == "virtual" for k, _ in t.options)


def key_columns(t: Table) -> set[str]:
    """Columns of the primary key, unique constraints and foreign keys."""
    out = set(t.primary_key.columns if t.primary_key else ())
    for u in t.uniques:
        out.update(u.columns)
    for fk in t.foreign_keys:
        out.update(fk.columns)
    return out


def _candidates(
    ctx: ReviewContext, limit_name: str, *, prose: bool
) -> Iterator[tuple[Table, Column]]:
    """Text columns worth sampling, in schema order, at most `limit_name` (threshold) of them."""
    limit = int(ctx.threshold(limit_name, 200))
    seen = 0
    for t in ctx.tables:
        if is_virtual(t):
            continue
        keys = key_columns(t)
        for c in t.columns:
            if not is_textual(c) or c.name in keys or c.generated:
                continue
            if not prose and _PROSE_NAME.search(c.name):
                continue
            if seen >= limit:
                return
            seen += 1
            yield t, c


def _strings(ctx: ReviewContext, t: Table, c: Column, n: int) -> list[str]:
    assert ctx.sampler is not None  # the engine runs `data` rules only with a sampler
    values: list[Any] = ctx.sampler(t, c, n)
    return [v for v in values if isinstance(v, str)]


def _list_parts(value: str, delimiter: str) -> int:
    """How many items `value` holds when it is a list joined by `delimiter`, else 0."""
    text = value.strip()
    if delimiter not in text or "\n" in text or text[:1] in ("[", "{"):
        return 0
    if delimiter == "," and _THOUSANDS.match(text):
        return 0
    parts = [p.strip() for p in text.split(delimiter)]
    if len(parts) < 2:
        return 0
    for p in parts:
        # Items of a list are short tokens: ids, codes, tags, names; not clauses of a sentence.
        if not p or len(p) > 40 or len(p.split()) > 3 or p.endswith("."):
            return 0
    return len(parts)


@rule(
    id="delimited-list-values",
    title="Text column holds delimited lists",
    family="normalization",
    severity="warning",
    problem="""
Most sampled values of this text column are lists joined by the same delimiter (`3,17,42`,
`red;green`): several values in one field. The database cannot check the items, cannot reference
them with foreign keys, cannot index one of them, and every query that looks for an item must
split or pattern-match the string.
""",
    solution="""
Store one item per row in a child table (with a foreign key when the items are ids), or on
PostgreSQL an array column with a GIN index. The rule samples up to 200 values of at most
`[review.thresholds] delimited-list-values-columns` (200) text columns, and reports a column
when at least 60% of at least 5 values split into short items and some value has three or more.
""",
    example="""
CREATE TABLE track_composer (
  track_id bigint NOT NULL REFERENCES track,
  position smallint NOT NULL,
  composer text NOT NULL,
  PRIMARY KEY (track_id, position)
);
""",
    needs="data",
)
def delimited_list_values(ctx: ReviewContext) -> Iterator[Hit]:
    min_values = int(ctx.threshold("delimited-list-values-min", 5))
    share = ctx.threshold("delimited-list-values-share", 0.6)
    for t, c in _candidates(ctx, "delimited-list-values-columns", prose=False):
        values = _strings(ctx, t, c, _SAMPLE)
        if len(values) < min_values:
            continue
        best: tuple[int, str, list[int]] | None = None
        for d in _DELIMITERS:
            counts = [n for n in (_list_parts(v, d) for v in values) if n]
            if counts and (best is None or len(counts) > len(best[2])):
                best = (len(counts), d, counts)
        if best is None:
            continue
        hits, delimiter, counts = best
        if hits < share * len(values) or max(counts) < 3:
            continue
        yield Hit(
            kind="column",
            object=object_name(t.schema, t.name, c.name),
            message=f"column {t.qualified}.{c.name} holds delimited lists: {hits} of "
            f"{len(values)} sampled values split on '{delimiter}' into {min(counts)} to "
            f"{max(counts)} items",
        )


def _constrained(t: Table, c: Column) -> bool:
    """A CHECK on the table mentions the column (an IN list or similar already limits it)."""
    word = re.compile(rf"(^|[^\w]){re.escape(c.name)}([^\w]|$)", re.IGNORECASE)
    return any(word.search(ck.expression) for ck in t.checks)


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@rule(
    id="enum-like-text-column",
    title="Text column with a handful of distinct values",
    family="normalization",
    severity="info",
    problem="""
The sampled values of this text column come from a handful of distinct strings, with no CHECK,
enum or foreign key saying which ones are allowed. Typos and case variants (`active`, `Active`,
`actv`) go in unnoticed, and the set of valid values lives only in application code.
""",
    solution="""
Constrain the column: a CHECK (… IN (…)), an enum type, or a small lookup table referenced by a
foreign key when the values carry attributes or change over time. The fix lists the sampled
values only; check that they are all the allowed ones. Thresholds:
`enum-like-text-column-min-rows` (50 sampled values), `enum-like-text-column-max-values` (5).
""",
    example="ALTER TABLE orders ADD CONSTRAINT orders_status_check "
    "CHECK (status IN ('new', 'paid', 'shipped'));",
    needs="data",
    enabled=False,
)
def enum_like_text_column(ctx: ReviewContext) -> Iterator[Hit]:
    min_rows = int(ctx.threshold("enum-like-text-column-min-rows", 50))
    max_values = int(ctx.threshold("enum-like-text-column-max-values", 5))
    for t, c in _candidates(ctx, "enum-like-text-column-columns", prose=True):
        if _constrained(t, c):
            continue
        values = _strings(ctx, t, c, _SAMPLE)
        distinct = sorted(set(values))
        if len(values) < min_rows or not 2 <= len(distinct) <= max_values:
            continue
        if any(len(v) > 30 for v in distinct):
            continue
        shown = ", ".join(_literal(v) for v in distinct)
        fix = None
        if ctx.schema.dialect != "sqlite":  # SQLite cannot add a CHECK to an existing table
            name = ctx.quote(f"{t.name}_{c.name}_check"[:63])
            fix = (
                f"ALTER TABLE {ctx.qname(t)} ADD CONSTRAINT {name} "
                f"CHECK ({ctx.quote(c.name)} IN ({shown}));"
            )
        yield Hit(
            kind="column",
            object=object_name(t.schema, t.name, c.name),
            message=f"column {t.qualified}.{c.name} has only {len(distinct)} distinct values "
            f"in {len(values)} sampled rows ({shown}) and no constraint on them",
            fix=fix,
        )
