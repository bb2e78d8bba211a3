"""Engine type texts → SQLAlchemy type expressions that render the same type on that engine.

A generic SQLAlchemy type is used where it renders a text the engine reads back as the very
same type (PostgreSQL's `VARCHAR(20)` is `character varying(20)`); a dialect type where only
that one does (`postgresql.JSONB()`); otherwise `RawType('…')`, a small UserDefinedType in the
generated module that renders the engine's own text. SQLite keeps a declared type as written,
so there a type is used only when SQLAlchemy prints exactly the declared text.

The Python annotation follows the column's logical family, or for RawType on SQLite, what the
driver returns for that affinity.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from dbarchitect.model import Column, LogicalType

PG = "from sqlalchemy.dialects import postgresql"
MYSQL = "from sqlalchemy.dialects import mysql"


@dataclass(frozen=True, slots=True, kw_only=True)
class MappedType:
    """How one column type is written in the models."""

    code: str
    annotation: str
    imports: frozenset[str] = frozenset()  # what `code` needs
    annotation_imports: frozenset[str] = frozenset()  # what `annotation` needs
    raw: bool = False


_ANNOTATIONS: dict[LogicalType, tuple[str, str | None]] = {
    "boolean": ("bool", None),
    "smallint": ("int", None),
    "integer": ("int", None),
    "bigint": ("int", None),
    "decimal": ("decimal.Decimal", "import decimal"),
    "real": ("float", None),
    "double": ("float", None),
    "money": ("str", None),
    "char": ("str", None),
    "varchar": ("str", None),
    "text": ("str", None),
    "binary": ("bytes", None),
    "date": ("datetime.date", "import datetime"),
    "time": ("datetime.time", "import datetime"),
    "timetz": ("datetime.time", "import datetime"),
    "timestamp": ("datetime.datetime", "import datetime"),
    "timestamptz": ("datetime.datetime", "import datetime"),
    "interval": ("datetime.timedelta", "import datetime"),
    "year": ("int", None),
    "uuid": ("uuid.UUID", "import uuid"),
    "json": ("Any", "from typing import Any"),
    "jsonb": ("Any", "from typing import Any"),
    "xml": ("str", None),
    "array": ("list[Any]", "from typing import Any"),
    "set": ("str", None),
    "network": ("str", None),
    "fulltext": ("str", None),
    "bit": ("str", None),
}


def annotation(logical: LogicalType) -> tuple[str, frozenset[str]]:
    """The Python type a driver returns for a logical family, and the import it needs."""
    name, imp = _ANNOTATIONS.get(logical, ("Any", "from typing import Any"))
    return name, frozenset({imp} if imp else ())


def raw(text: str, logical: LogicalType) -> MappedType:
    """RawType for an engine type text SQLAlchemy has no exact class for."""
    name, imports = annotation(logical)
    return MappedType(
        code=f"RawType({_quoted(text)})", annotation=name, annotation_imports=imports, raw=True
    )


def _quoted(text: str) -> str:
    from dbarchitect.codegen.sqlalchemy_code import string

    return string(text)


def _typed(code: str, logical: LogicalType, *extra: str) -> MappedType:
    name, imports = annotation(logical)
    return MappedType(
        code=code, annotation=name, imports=frozenset(extra), annotation_imports=imports
    )


# PostgreSQL format_type() texts that need no arguments.
_PG_PLAIN: dict[str, tuple[str, tuple[str, ...]]] = {
    "boolean": ("sa.Boolean()", ()),
    "smallint": ("sa.SmallInteger()", ()),
    "integer": ("sa.Integer()", ()),
    "bigint": ("sa.BigInteger()", ()),
    "real": ("sa.REAL()", ()),
    "double precision": ("sa.Double()", ()),
    "numeric": ("sa.Numeric()", ()),
    "money": ("postgresql.MONEY()", (PG,)),
    "text": ("sa.Text()", ()),
    "character varying": ("sa.String()", ()),
    "bytea": ("sa.LargeBinary()", ()),
    "date": ("sa.Date()", ()),
    "time without time zone": ("sa.Time()", ()),
    "time with time zone": ("sa.Time(timezone=True)", ()),
    "timestamp without time zone": ("sa.DateTime()", ()),
    "timestamp with time zone": ("sa.DateTime(timezone=True)", ()),
    "interval": ("postgresql.INTERVAL()", (PG,)),
    "uuid": ("sa.Uuid()", ()),
    "json": ("postgresql.JSON()", (PG,)),
    "jsonb": ("postgresql.JSONB()", (PG,)),
    "inet": ("postgresql.INET()", (PG,)),
    "cidr": ("postgresql.CIDR()", (PG,)),
    "macaddr": ("postgresql.MACADDR()", (PG,)),
    "macaddr8": ("postgresql.MACADDR8()", (PG,)),
    "tsvector": ("postgresql.TSVECTOR()", (PG,)),
    "tsquery": ("postgresql.TSQUERY()", (PG,)),
    "oid": ("postgresql.OID()", (PG,)),
    "regclass": ("postgresql.REGCLASS()", (PG,)),
    "int4range": ("postgresql.INT4RANGE()", (PG,)),
    "int8range": ("postgresql.INT8RANGE()", (PG,)),
    "numrange": ("postgresql.NUMRANGE()", (PG,)),
    "daterange": ("postgresql.DATERANGE()", (PG,)),
    "tsrange": ("postgresql.TSRANGE()", (PG,)),
    "tstzrange": ("postgresql.TSTZRANGE()", (PG,)),
    "int4multirange": ("postgresql.INT4MULTIRANGE()", (PG,)),
    "int8multirange": ("postgresql.INT8MULTIRANGE()", (PG,)),
    "nummultirange": ("postgresql.NUMMULTIRANGE()", (PG,)),
    "datemultirange": ("postgresql.DATEMULTIRANGE()", (PG,)),
    "tsmultirange": ("postgresql.TSMULTIRANGE()", (PG,)),
    "tstzmultirange": ("postgresql.TSTZMULTIRANGE()", (PG,)),
}
_PG_SIZED = re.compile(
    r"^(?P<name>numeric|character varying|character|bit varying|bit)"
    r"\((?P<args>\d+(?:,\d+)?)\)$"
)
_PG_TIME = re.compile(r"^(?P<kind>timestamp|time)\((?P<p>\d+)\) with(?P<no>out)? time zone$")
_PG_INTERVAL = re.compile(r"^interval(?: (?P<fields>[a-z]+(?: to [a-z]+)?))?(?:\((?P<p>\d+)\))?$")


Enums = dict[str, tuple[str, str]]


def pg_type(text: str, logical: LogicalType, enums: Enums) -> MappedType:
    """A PostgreSQL type text as printed by format_type(). `enums` maps enum type texts to
    (the module-level SQLAlchemy Enum variable, the Python enum class) standing for them."""
    if text.endswith("[]"):
        inner = pg_type(text.removesuffix("[]").removesuffix("[]"), "other", enums)
        if inner.raw:
            return raw(text, logical)
        return MappedType(
            code=f"postgresql.ARRAY({inner.code})",
            annotation=f"list[{inner.annotation}]",
            imports=inner.imports | {PG},
            annotation_imports=inner.annotation_imports,
        )
    if text in enums:
        variable, cls = enums[text]
        return MappedType(code=variable, annotation=cls)
    if text in _PG_PLAIN:
        code, imports = _PG_PLAIN[text]
        return _typed(code, logical, *imports)
    m = _PG_SIZED.match(text)
    if m:
        args = m.group("args").replace(",", ", ")
        code = {
            "numeric": f"sa.Numeric({args})",
            "character varying": f"sa.String({args})",
            "character": f"sa.CHAR({args})",
            "bit": f"postgresql.BIT({args})",
            "bit varying": f"postgresql.BIT({args}, varying=True)",
        }[m.group("name")]
        return _typed(code, logical, *((PG,) if code.startswith("postgresql.") else ()))
    m = _PG_TIME.match(text)
    if m:
        cls = "TIMESTAMP" if m.group("kind") == "timestamp" else "TIME"
        zone = "" if m.group("no") else ", timezone=True"
        return _typed(f"postgresql.{cls}(precision={m.group('p')}{zone})", logical, PG)
    m = _PG_INTERVAL.match(text)
    if m:
        args = []
        if m.group("fields"):
            args.append(f"fields={_quoted(m.group('fields'))}")
        if m.group("p"):
            args.append(f"precision={m.group('p')}")
        return _typed(f"postgresql.INTERVAL({', '.join(args)})", logical, PG)
    return raw(text, logical)


# What SQLAlchemy prints on SQLite for each type, keyed by that exact text.
_SQLITE_EXACT: dict[str, str] = {
    "INTEGER": "sa.Integer()",
    "BIGINT": "sa.BigInteger()",
    "SMALLINT": "sa.SmallInteger()",
    "TEXT": "sa.Text()",
    "VARCHAR": "sa.String()",
    "BLOB": "sa.LargeBinary()",
    "REAL": "sa.REAL()",
    "FLOAT": "sa.Float()",
    "DOUBLE": "sa.Double()",
    "NUMERIC": "sa.Numeric()",
    "BOOLEAN": "sa.Boolean()",
    "DATE": "sa.Date()",
    "DATETIME": "sa.DateTime()",
    "TIME": "sa.Time()",
    "TIMESTAMP": "sa.TIMESTAMP()",
    "JSON": "sa.JSON()",
}
_SQLITE_SIZED = re.compile(
    r"^(VARCHAR|NVARCHAR|CHAR|NCHAR)\((\d+)\)$|^(NUMERIC|DECIMAL)\((\d+), (\d+)\)$"
)
_SQLITE_SIZED_CODE = {
    "VARCHAR": "sa.String",
    "NVARCHAR": "sa.NVARCHAR",
    "CHAR": "sa.CHAR",
    "NCHAR": "sa.NCHAR",
    "NUMERIC": "sa.Numeric",
    "DECIMAL": "sa.DECIMAL",
}
# A RawType column on SQLite returns what the affinity stores.
_SQLITE_AFFINITY_ANNOTATION = {"INTEGER": "int", "TEXT": "str", "REAL": "float", "BLOB": "bytes"}


def sqlite_type(text: str, logical: LogicalType) -> MappedType:
    """A declared SQLite type: a SQLAlchemy type only when it prints exactly `text`."""
    if text in _SQLITE_EXACT:
        return _typed(_SQLITE_EXACT[text], logical)
    m = _SQLITE_SIZED.match(text)
    if m:
        if m.group(1):
            return _typed(f"{_SQLITE_SIZED_CODE[m.group(1)]}({m.group(2)})", logical)
        return _typed(f"{_SQLITE_SIZED_CODE[m.group(3)]}({m.group(4)}, {m.group(5)})", logical)
    from dbarchitect.dialects.sqlite.types import affinity

    name = _SQLITE_AFFINITY_ANNOTATION.get(affinity(text), "Any")
    imports = frozenset({"from typing import Any"}) if name == "Any" else frozenset()
    return MappedType(
        code=f"RawType({_quoted(text)})", annotation=name, annotation_imports=imports, raw=True
    )


_MYSQL_PLAIN: dict[str, str] = {
    "int(11)": "sa.Integer()",
    "bigint(20)": "sa.BigInteger()",
    "smallint(6)": "sa.SmallInteger()",
    "tinyint(1)": "sa.Boolean()",
    "text": "sa.Text()",
    "date": "sa.Date()",
    "datetime": "sa.DateTime()",
    "time": "sa.Time()",
    "double": "sa.Double()",
    "float": "sa.Float()",
    "blob": "sa.LargeBinary()",
}
_MYSQL_SIZED = re.compile(r"^(varchar|char)\((\d+)\)$|^decimal\((\d+),(\d+)\)$")
_MYSQL_INT = re.compile(
    r"^(?P<name>tinyint|smallint|mediumint|int|bigint)\((?P<width>\d+)\)"
    r"(?P<unsigned> unsigned)?(?P<zerofill> zerofill)?$"
)
_MYSQL_INT_CLASS = {
    "tinyint": "TINYINT",
    "smallint": "SMALLINT",
    "mediumint": "MEDIUMINT",
    "int": "INTEGER",
    "bigint": "BIGINT",
}


def mysql_type(text: str, logical: LogicalType) -> MappedType:
    """A MySQL/MariaDB COLUMN_TYPE: a generic type where the server prints it back as `text`."""
    if text in _MYSQL_PLAIN:
        return _typed(_MYSQL_PLAIN[text], logical)
    m = _MYSQL_INT.match(text)
    if m:
        # The display width is written out: the server prints back exactly this text.
        args = [f"display_width={m.group('width')}"]
        args += ["unsigned=True"] if m.group("unsigned") else []
        args += ["zerofill=True"] if m.group("zerofill") else []
        cls = _MYSQL_INT_CLASS[m.group("name")]
        return _typed(f"mysql.{cls}({', '.join(args)})", logical, MYSQL)
    m = _MYSQL_SIZED.match(text)
    if m:
        if m.group(1):
            cls = "sa.String" if m.group(1) == "varchar" else "sa.CHAR"
            return _typed(f"{cls}({m.group(2)})", logical)
        return _typed(f"sa.Numeric({m.group(3)}, {m.group(4)})", logical)
    return raw(text, logical)


_PLAIN_COLLATION = re.compile(r'^(?:"(?P<q>[^"]+)"|(?P<b>[A-Za-z_][A-Za-z0-9_]*))$')
_STRING_TYPES = ("sa.String(", "sa.Text(", "sa.CHAR(", "sa.NVARCHAR(", "sa.NCHAR(")


def column_type(col: Column, dialect: str, enums: Enums) -> MappedType:
    """The SQLAlchemy type of `col` in a schema of `dialect`, its collation included."""
    if dialect == "postgres":
        mapped = pg_type(col.type, col.logical, enums)
    elif dialect == "sqlite":
        mapped = sqlite_type(col.type, col.logical)
    else:
        mapped = mysql_type(col.type, col.logical)
    if col.collation is None:
        return mapped
    plain = _PLAIN_COLLATION.match(col.collation)
    # SQLAlchemy double-quotes a collation on PostgreSQL and SQLite: fine for one identifier,
    # not for a schema-qualified name. MySQL prints it bare.
    if plain and mapped.code.startswith(_STRING_TYPES):
        name = plain.group("q") or plain.group("b")
        code = mapped.code[:-1] + (", " if not mapped.code.endswith("()") else "")
        return replace(mapped, code=f"{code}collation={_quoted(name)})")
    return replace(
        mapped,
        code=f"RawType({_quoted(col.type + ' COLLATE ' + col.collation)})",
        imports=frozenset(),
        raw=True,
    )


__all__ = [
    "Enums",
    "MappedType",
    "annotation",
    "column_type",
    "mysql_type",
    "pg_type",
    "sqlite_type",
]
