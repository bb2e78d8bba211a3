"""SQLite declared types → logical types, by SQLite's own affinity rules.

SQLite gives a column an affinity from its declared type text (https://sqlite.org/datatype3.html,
section 3.1), in this order: contains INT → INTEGER; CHAR, CLOB or TEXT → TEXT; BLOB or no type
→ BLOB; REAL, FLOA or DOUB → REAL; otherwise NUMERIC. The affinity decides how values are
stored, so it decides the family; within a family the type's name refines it (VARCHAR is still
TEXT affinity, but says "bounded string"). The famous consequences are kept on purpose:
"FLOATING POINT" and "INTERVAL" have INTEGER affinity, and "JSON", "DATETIME" and "BOOLEAN" have
NUMERIC affinity, refined here by name.
"""

from __future__ import annotations

import re
from typing import Literal

from dbarchitect.model import LogicalType

Affinity = Literal["INTEGER", "TEXT", "BLOB", "REAL", "NUMERIC"]


def affinity(declared: str) -> Affinity:
    """The column affinity SQLite derives from a declared type (rules of datatype3 §3.1)."""
    t = declared.upper()
    if "INT" in t:
        return "INTEGER"
    if "CHAR" in t or "CLOB" in t or "TEXT" in t:
        return "TEXT"
    if "BLOB" in t or not t.strip():
        return "BLOB"
    if "REAL" in t or "FLOA" in t or "DOUB" in t:
        return "REAL"
    return "NUMERIC"


# First word(s) of the type name, size and modifiers removed, within NUMERIC affinity.
_NUMERIC_NAMES: dict[str, LogicalType] = {
    "BOOLEAN": "boolean",
    "BOOL": "boolean",
    "DATE": "date",
    "DATETIME": "timestamp",
    "TIMESTAMP": "timestamp",
    "TIME": "time",
    "JSON": "json",
    "JSONB": "jsonb",
    "UUID": "uuid",
    "BYTEA": "binary",
    "BINARY": "binary",
    "VARBINARY": "binary",
    "DECIMAL": "decimal",
    "NUMERIC": "decimal",
    "NUMBER": "decimal",
    "MONEY": "money",
}
_SMALL_INTS = ("TINYINT", "SMALLINT", "INT2")
_BIG_INTS = ("BIGINT", "INT8", "UNSIGNED BIG INT")


def _base_name(declared: str) -> str:
    """The type's name without its (size) and extra spaces: 'NUMERIC (10, 2)' → 'NUMERIC'."""
    name = re.sub(r"\(.*", "", declared).strip().upper()
    return re.sub(r"\s+", " ", name)


def logical_type(declared: str) -> LogicalType:
    """The logical family of a declared column type."""
    base = _base_name(declared)
    match affinity(declared):
        case "INTEGER":
            if base in _SMALL_INTS:
                return "smallint"
            if base in _BIG_INTS:
                return "bigint"
            return "integer"
        case "TEXT":
            if "VAR" in base:  # VARCHAR, NVARCHAR, VARYING CHARACTER, CHARACTER VARYING
                return "varchar"
            if "CHAR" in base:
                return "char"
            return "text"
        case "BLOB":
            return "binary" if base else "other"
        case "REAL":
            return "double"  # SQLite stores every REAL as an 8-byte float
        case "NUMERIC":
            return _NUMERIC_NAMES.get(base, _NUMERIC_NAMES.get(base.split(" ")[0], "other"))
