"""PostgreSQL type names → logical types."""

from __future__ import annotations

import re
from functools import cache

from dbarchitect.model import LogicalType

_EXACT: dict[str, LogicalType] = {
    "boolean": "boolean",
    "smallint": "smallint",
    "integer": "integer",
    "bigint": "bigint",
    "real": "real",
    "double precision": "double",
    "money": "money",
    "text": "text",
    "bytea": "binary",
    "date": "date",
    "interval": "interval",
    "uuid": "uuid",
    "json": "json",
    "jsonb": "jsonb",
    "xml": "xml",
    "inet": "network",
    "cidr": "network",
    "macaddr": "network",
    "macaddr8": "network",
    "tsvector": "fulltext",
    "tsquery": "fulltext",
    "name": "varchar",
    '"char"': "char",
    "point": "geometric",
    "line": "geometric",
    "lseg": "geometric",
    "box": "geometric",
    "path": "geometric",
    "polygon": "geometric",
    "circle": "geometric",
}
_PREFIX: tuple[tuple[str, LogicalType], ...] = (
    ("character varying", "varchar"),
    ("character", "char"),
    ("numeric", "decimal"),
    ("timestamp with time zone", "timestamptz"),
    ("timestamp without time zone", "timestamp"),
    ("time with time zone", "timetz"),
    ("time without time zone", "time"),
    ("bit", "bit"),
    ("interval", "interval"),
)
_TYPE_MAX = {"smallint": 2**15 - 1, "integer": 2**31 - 1, "bigint": 2**63 - 1}


def sequence_bounds(type_: str, increment: int) -> tuple[int, int]:
    """PostgreSQL's default MINVALUE and MAXVALUE for a sequence (or identity) of `type_`."""
    top = _TYPE_MAX.get(type_, 2**63 - 1)
    return (1, top) if increment > 0 else (-top - 1, -1)


def explicit_bound(value: int | None, default: int) -> int | None:
    """A bound as the model keeps it: None when it is the engine's default."""
    return None if value == default else value


_TIMESTAMP = re.compile(r"^(timestamp|time)(\(\d+\))? with(out)? time zone$")


@cache
def logical_type(
    type_text: str, typtype: str | None, category: str | None, base_type: str | None = None
) -> LogicalType:
    """The logical family of a format_type() string (typtype/category from pg_type help).

    A domain is judged by its base type.
    """
    if base_type:
        return logical_type(base_type, None, None)
    if type_text.endswith("]") or category == "A":
        return "array"
    if typtype == "e":
        return "enum"
    if typtype == "r" or typtype == "m":
        return "range"
    if type_text in _EXACT:
        return _EXACT[type_text]
    for prefix, logical in _PREFIX:
        if type_text.startswith(prefix):
            return logical
    m = _TIMESTAMP.match(type_text)
    if m:
        zoned = m.group(3) is None
        if m.group(1) == "time":
            return "timetz" if zoned else "time"
        return "timestamptz" if zoned else "timestamp"
    return "other"
