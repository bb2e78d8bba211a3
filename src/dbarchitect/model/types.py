"""Logical column types: the few families every engine maps its own types onto.

Analyses reason about `LogicalType`; the exact engine type stays on the column. Each dialect
owns the mapping from its type names to these families (dialects/<engine>/types.py).
"""

from typing import Literal, get_args

LogicalType = Literal[
    "boolean",
    "smallint",
    "integer",
    "bigint",
    "decimal",
    "real",
    "double",
    "money",
    "char",
    "varchar",
    "text",
    "binary",
    "date",
    "time",
    "timetz",
    "timestamp",
    "timestamptz",
    "interval",
    "year",
    "uuid",
    "json",
    "jsonb",
    "xml",
    "array",
    "enum",
    "set",
    "network",
    "geometric",
    "fulltext",
    "range",
    "bit",
    "other",
]

LOGICAL_TYPES: frozenset[str] = frozenset(get_args(LogicalType))
