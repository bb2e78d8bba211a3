"""MySQL/MariaDB column types → logical families.

The engine's exact type text (information_schema.COLUMNS.COLUMN_TYPE, e.g. `smallint(5)
unsigned`, `enum('G','PG')`) stays on the column; this table only names its family.
"""

from __future__ import annotations

import re

from dbarchitect.model import LogicalType

TYPE_FAMILIES: dict[str, LogicalType] = {
    "bool": "boolean",
    "boolean": "boolean",
    "tinyint": "smallint",
    "smallint": "smallint",
    "mediumint": "integer",
    "int": "integer",
    "integer": "integer",
    "bigint": "bigint",
    "decimal": "decimal",
    "numeric": "decimal",
    "dec": "decimal",
    "fixed": "decimal",
    "float": "real",
    "double": "double",
    "real": "double",
    "double precision": "double",
    "char": "char",
    "nchar": "char",
    "varchar": "varchar",
    "nvarchar": "varchar",
    "tinytext": "text",
    "text": "text",
    "mediumtext": "text",
    "longtext": "text",
    "binary": "binary",
    "varbinary": "binary",
    "tinyblob": "binary",
    "blob": "binary",
    "mediumblob": "binary",
    "longblob": "binary",
    "date": "date",
    "time": "time",
    "datetime": "timestamp",
    # TIMESTAMP values are stored in UTC and shown in the session time zone.
    "timestamp": "timestamptz",
    "year": "year",
    "json": "json",
    "enum": "enum",
    "set": "set",
    "bit": "bit",
    "uuid": "uuid",
    "inet4": "network",
    "inet6": "network",
    "geometry": "geometric",
    "point": "geometric",
    "linestring": "geometric",
    "polygon": "geometric",
    "multipoint": "geometric",
    "multilinestring": "geometric",
    "multipolygon": "geometric",
    "geometrycollection": "geometric",
}

_BASE = re.compile(r"^\s*([a-z][a-z0-9_]*(?: precision)?)", re.IGNORECASE)


def base_type(engine_type: str) -> str:
    """The type's name without length, values or attributes: `int(11) unsigned` → `int`."""
    m = _BASE.match(engine_type)
    return m.group(1).lower() if m else engine_type.strip().lower()


def logical_type(engine_type: str) -> LogicalType:
    """The family of a MySQL type; tinyint(1) is MySQL's BOOLEAN."""
    text = engine_type.strip().lower()
    if re.match(r"^tinyint\(1\)(?!\s*unsigned)", text):
        return "boolean"
    return TYPE_FAMILIES.get(base_type(text), "other")
