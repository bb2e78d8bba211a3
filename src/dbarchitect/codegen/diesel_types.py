"""Diesel's view of a column: its SQL type in `table!`, its Rust type in a model, and names.

Diesel has one backend per engine we support, and each backend has a closed set of SQL types
(`diesel::sql_types`, `diesel::pg::sql_types`, `diesel::mysql::sql_types`). The mapping below
follows what `diesel print-schema` infers from the same catalog: PostgreSQL by the type's own
name (int4 → Int4, character varying → Varchar, a domain by its base type, an enum or any type
Diesel lacks by a `sql_types` struct of its own), SQLite by the substrings of the declared type,
MySQL by the type word with `unsigned` as `Unsigned<…>`. Where print-schema would stop with
"unsupported type" we pick the closest type and say so in a comment, never silently.

This is the one place that knows which Diesel backend serves which dialect.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from dbarchitect.model import Column, Schema

BackendKey = Literal["pg", "sqlite", "mysql"]


@dataclass(frozen=True, slots=True)
class Backend:
    """A Diesel backend: its type path, the Cargo feature that enables it, its default schema."""

    key: BackendKey
    path: str
    feature: str
    default_schema: str


BACKENDS: dict[str, Backend] = {
    "postgres": Backend(
        key="pg", path="diesel::pg::Pg", feature="postgres", default_schema="public"
    ),
    "sqlite": Backend(
        key="sqlite", path="diesel::sqlite::Sqlite", feature="sqlite", default_schema=""
    ),
    "mysql": Backend(key="mysql", path="diesel::mysql::Mysql", feature="mysql", default_schema=""),
}


@dataclass(frozen=True, slots=True)
class CustomType:
    """A SQL type Diesel does not ship, declared in `schema.rs`'s `sql_types` module.

    `pg_name`/`pg_schema` name a PostgreSQL type; `mysql_kind` is MySQL's wire kind ("Enum",
    "Set"). `values` are an enum's labels, for the Rust enum in models.rs."""

    rust: str
    pg_name: str = ""
    pg_schema: str = ""
    mysql_kind: str = ""
    values: tuple[str, ...] = ()
    is_enum: bool = False


@dataclass(frozen=True, slots=True)
class Mapped:
    """One column as Diesel sees it (without the outer Nullable / Option).

    `rust` is None when no Rust type maps without hand-written FromSql (the model leaves the
    field out and says so). `borrowed` is the Insertable form of `rust` when one borrows."""

    sql: str
    rust: str | None
    borrowed: str | None = None
    max_length: int | None = None
    note: str | None = None
    custom: CustomType | None = None
    features: tuple[str, ...] = ()


# Where the short Rust type names used above come from: models.rs imports what it uses.
IMPORTS: dict[str, str] = {
    "BigDecimal": "bigdecimal",
    "DateTime": "chrono",
    "NaiveDate": "chrono",
    "NaiveDateTime": "chrono",
    "NaiveTime": "chrono",
    "Utc": "chrono",
    "PgInterval": "diesel::pg::data_types",
    "PgMoney": "diesel::pg::data_types",
    "IpNetwork": "ipnetwork",
    "Bound": "std::ops",
    "Uuid": "uuid",
}
_CHRONO_TYPES = frozenset({"DateTime<Utc>", "NaiveDate", "NaiveDateTime", "NaiveTime"})


def backend_of(schema: Schema) -> Backend:
    """The Diesel backend for a schema's dialect."""
    from dbarchitect.dialects import get_dialect

    return BACKENDS[get_dialect(schema.dialect).name]


# --- names ---------------------------------------------------------------------------------

# Words Rust reserves (2021 edition, strict and reserved) plus the ones print-schema also
# avoids; a name that is one of these gets a trailing underscore and a #[sql_name].
RUST_RESERVED = frozenset(
    "abstract alignof as async await become box break const continue crate do dyn else enum "  # noqa: SIM905
    "extern false final fn for gen if impl in let loop macro match mod move mut offsetof "
    "override priv proc pub pure ref return Self self sizeof static struct super trait true "
    "try type typeof unsafe unsized use virtual where while yield".split()
)
# Names the std prelude and our own generated code rely on: a struct with one of these names
# would shadow them for every other field of the file.
SHADOWED = frozenset(
    "Option Some None Result Ok Err String Vec Box Clone Copy Debug Default PartialEq Eq Hash "  # noqa: SIM905
    "Send Sync Sized Drop Fn FnMut FnOnce Iterator ToString ToOwned Into From AsRef".split()
)


def _ascii(text: str) -> str:
    """Accents dropped (ü → u) so that names stay readable once reduced to ASCII."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def rust_ident(sql_name: str) -> str:
    """A Rust identifier for a SQL name, as print-schema makes one: reserved words get a
    trailing underscore, characters outside [A-Za-z0-9_] become one underscore each run
    (accents are dropped first, which print-schema does not do)."""
    if sql_name in RUST_RESERVED:
        return sql_name + "_"
    name = re.sub(r"[^A-Za-z0-9_]+", "_", _ascii(sql_name))
    name = re.sub(r"_{2,}", "_", name)
    if not name or name == "_":
        name = "x_"
    if name[0].isdigit():
        name = "_" + name
    return name + "_" if name in RUST_RESERVED else name


def camel(sql_name: str) -> str:
    """UpperCamelCase of a SQL name (`order_status` → `OrderStatus`, `PG-13` → `Pg13`)."""
    words = re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+|[A-Z]+", _ascii(sql_name))
    text = "".join(w[:1].upper() + w[1:].lower() for w in words)
    if not text:
        return "X"
    return "V" + text if text[0].isdigit() else text


def singular(word: str) -> str:
    """A singular for a plural table name, by the common English endings only."""
    lower = word.lower()
    for plural, single in (("ies", "y"), ("sses", "ss"), ("xes", "x"), ("ches", "ch")):
        if lower.endswith(plural) and len(word) > len(plural) + 1:
            return word[: -len(plural)] + single
    if lower.endswith("s") and not lower.endswith(("ss", "us", "is")) and len(word) > 3:
        return word[:-1]
    return word


def rust_string(text: str) -> str:
    """A Rust string literal: a raw string when the text has quotes, as print-schema does."""
    if '"' not in text and "\\" not in text and "\n" not in text:
        return f'"{text}"'
    hashes = "#" * (text.count("#") + 1)
    return f'r{hashes}"{text}"{hashes}'


# --- PostgreSQL ----------------------------------------------------------------------------

_CHRONO = ("chrono",)
# format_type() spelling → (Diesel SQL type, Rust type, Cargo features)
_PG_EXACT: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "smallint": ("Int2", "i16", ()),
    "integer": ("Int4", "i32", ()),
    "bigint": ("Int8", "i64", ()),
    "real": ("Float4", "f32", ()),
    "double precision": ("Float8", "f64", ()),
    "numeric": ("Numeric", "BigDecimal", ("numeric",)),
    "text": ("Text", "String", ()),
    "character varying": ("Varchar", "String", ()),
    "bpchar": ("Bpchar", "String", ()),
    "citext": ("Citext", "String", ()),
    '"char"': ("CChar", "u8", ()),
    "boolean": ("Bool", "bool", ()),
    "date": ("Date", "NaiveDate", _CHRONO),
    "time without time zone": ("Time", "NaiveTime", _CHRONO),
    "timestamp without time zone": ("Timestamp", "NaiveDateTime", _CHRONO),
    "timestamp with time zone": ("Timestamptz", "DateTime<Utc>", _CHRONO),
    "interval": ("Interval", "PgInterval", ()),
    "uuid": ("Uuid", "Uuid", ("uuid",)),
    "json": ("Json", "serde_json::Value", ("serde_json",)),
    "jsonb": ("Jsonb", "serde_json::Value", ("serde_json",)),
    "bytea": ("Bytea", "Vec<u8>", ()),
    "inet": ("Inet", "IpNetwork", ("network-address",)),
    "cidr": ("Cidr", "IpNetwork", ("network-address",)),
    "macaddr": ("MacAddr", "[u8; 6]", ()),
    "macaddr8": ("MacAddr8", "[u8; 8]", ()),
    "money": ("Money", "PgMoney", ()),
    "oid": ("Oid", "u32", ()),
}
_PG_RANGES: dict[str, tuple[str, tuple[str, ...]]] = {
    "int4": ("i32", ()),
    "int8": ("i64", ()),
    "num": ("BigDecimal", ("numeric",)),
    "ts": ("NaiveDateTime", _CHRONO),
    "tstz": ("DateTime<Utc>", _CHRONO),
    "date": ("NaiveDate", _CHRONO),
}
# format_type() spellings whose pg_type name differs (postgres_type(name) needs the latter).
_PG_CATALOG_NAMES = {
    "time with time zone": "timetz",
    "bit varying": "varbit",
    "character": "bpchar",
    '"char"': "char",
}
_TYPMOD = re.compile(r"^(?P<base>[a-z ]+?)\s*\((?P<mod>[^)]*)\)(?P<rest>.*)$")


def _pg_builtin(text: str) -> Mapped | None:
    """A built-in PostgreSQL type by its format_type() text, typmods included."""
    base, length = text, None
    m = _TYPMOD.match(text)
    if m:
        base = (m.group("base") + m.group("rest")).strip()
        first = m.group("mod").split(",")[0].strip()
        length = int(first) if first.isdigit() else None
    if base == "character":
        base = "bpchar"
    if base in _PG_EXACT:
        sql, rust, features = _PG_EXACT[base]
        keep = length if base in ("character varying", "bpchar") else None
        borrowed = _borrowed(rust)
        return Mapped(sql=sql, rust=rust, borrowed=borrowed, max_length=keep, features=features)
    for prefix, (element, features) in _PG_RANGES.items():
        for kind, sql_suffix in (("range", "range"), ("multirange", "multirange")):
            if base == prefix + kind:
                pair = f"(Bound<{element}>, Bound<{element}>)"
                rust = pair if kind == "range" else f"Vec<{pair}>"
                sql = camel(prefix) + sql_suffix
                return Mapped(sql=sql, rust=rust, features=features)
    return None


def _borrowed(rust: str) -> str | None:
    return {"String": "&'a str", "Vec<u8>": "&'a [u8]"}.get(rust)


def split_qualified(text: str) -> tuple[str, str]:
    """(schema, name) of a possibly qualified, possibly double-quoted type name."""
    parts: list[str] = []
    for m in re.finditer(r'"((?:[^"]|"")*)"|([^".]+)', text):
        parts.append(m.group(1).replace('""', '"') if m.group(1) is not None else m.group(2))
    if len(parts) >= 2:
        return parts[0], ".".join(parts[1:])
    return "", parts[0] if parts else text


class PgTypes:
    """Maps PostgreSQL column types, resolving domains and user types through the schema."""

    def __init__(self, schema: Schema, default_schema: str) -> None:
        self.default_schema = default_schema
        self.enums = {(e.schema, e.name): e.values for e in schema.enums}
        self.domains = {(d.schema, d.name): d.base_type for d in schema.domains}
        self.customs: dict[tuple[str, str], CustomType] = {}
        self._names: dict[str, tuple[str, str]] = {}

    def _custom(self, schema_name: str, name: str, values: tuple[str, ...] | None) -> CustomType:
        key = (schema_name, name)
        if key not in self.customs:
            rust = camel(name)
            if rust in self._names and self._names[rust] != key:
                rust = camel(schema_name) + rust
            self._names[rust] = key
            shown_schema = "" if schema_name == self.default_schema else schema_name
            self.customs[key] = CustomType(
                rust=rust,
                pg_name=name,
                pg_schema=shown_schema,
                values=values or (),
                is_enum=values is not None,
            )
        return self.customs[key]

    def map(self, type_text: str, depth: int = 0) -> Mapped:
        """The Diesel mapping of one format_type() text."""
        text = type_text.strip()
        if text.endswith("[]"):
            inner = self.map(text.removesuffix("[]").removesuffix("[]").rstrip("[]"), depth)
            rust = f"Vec<Option<{inner.rust}>>" if inner.rust else None
            return Mapped(
                sql=f"Array<Nullable<{inner.sql}>>",
                rust=rust,
                note=inner.note,
                custom=inner.custom,
                features=inner.features,
            )
        builtin = _pg_builtin(text)
        if builtin is not None:
            return builtin
        schema_name, name = split_qualified(text)
        candidates = [(schema_name, name)] if schema_name else [(self.default_schema, name)]
        for key in candidates:
            if key in self.enums:
                custom = self._custom(*key, values=self.enums[key])
                return Mapped(sql=custom.rust, rust=custom.rust, custom=custom)
            if key in self.domains and depth < 8:
                return self.map(self.domains[key], depth + 1)
        if name in _PG_EXACT and schema_name:  # an extension type such as public.citext
            return self.map(name, depth)
        if not schema_name:  # a built-in Diesel lacks: its catalog name, typmods dropped
            m = _TYPMOD.match(name)
            name = (m.group("base") + m.group("rest")).strip() if m else name
            name = _PG_CATALOG_NAMES.get(name, name)
        custom = self._custom(schema_name or "pg_catalog", name, None)
        note = f"unknown type {text}: declared in sql_types, no Rust type without a FromSql impl"
        return Mapped(sql=custom.rust, rust=None, note=note, custom=custom)


# --- SQLite --------------------------------------------------------------------------------

_SQLITE_CLOSEST: dict[str, tuple[str, str]] = {
    "json": ("Text", "String"),
    "jsonb": ("Binary", "Vec<u8>"),
    "uuid": ("Text", "String"),
    "money": ("Double", "f64"),
    "boolean": ("Bool", "bool"),
    "timestamptz": ("Timestamp", "NaiveDateTime"),
    "interval": ("Text", "String"),
}


def sqlite_type(column: Column) -> Mapped:
    """A SQLite column by print-schema's substring rules on the declared type."""
    t = column.type.lower()
    rules: tuple[tuple[bool, str, str], ...] = (
        (t in ("boolean", "bool") or ("tiny" in t and "int" in t), "Bool", "bool"),
        (t == "int2" or ("small" in t and "int" in t), "SmallInt", "i16"),
        (t == "int8" or ("big" in t and "int" in t), "BigInt", "i64"),
        ("int" in t, "Integer", "i32"),
        (any(w in t for w in ("char", "clob", "text")), "Text", "String"),
        (any(w in t for w in ("blob", "binary")) or not t.strip(), "Binary", "Vec<u8>"),
        (any(w in t for w in ("float", "real")), "Float", "f32"),
        (any(w in t for w in ("double", "num", "dec")), "Double", "f64"),
        (t in ("datetime", "timestamp"), "Timestamp", "NaiveDateTime"),
        (t == "date", "Date", "NaiveDate"),
        (t == "time", "Time", "NaiveTime"),
    )
    for hit, sql, rust in rules:
        if hit:
            features = _CHRONO if rust in _CHRONO_TYPES else ()
            return Mapped(sql=sql, rust=rust, borrowed=_borrowed(rust), features=features)
    sql, rust = _SQLITE_CLOSEST.get(column.logical, ("Text", "String"))
    note = f"unknown type {column.type}: Diesel has no SQLite type for it; read as {sql}"
    features = _CHRONO if rust in _CHRONO_TYPES else ()
    return Mapped(sql=sql, rust=rust, borrowed=_borrowed(rust), note=note, features=features)


# --- MySQL / MariaDB -----------------------------------------------------------------------

_MYSQL_WORDS: dict[str, tuple[str, str, str | None, tuple[str, ...]]] = {
    # type word → (Diesel SQL type, Rust type, unsigned Rust type, features)
    "tinyint": ("TinyInt", "i8", "u8", ()),
    "smallint": ("SmallInt", "i16", "u16", ()),
    "mediumint": ("Integer", "i32", "u32", ()),
    "int": ("Integer", "i32", "u32", ()),
    "integer": ("Integer", "i32", "u32", ()),
    "bigint": ("BigInt", "i64", "u64", ()),
    "decimal": ("Decimal", "BigDecimal", None, ("numeric",)),
    "numeric": ("Decimal", "BigDecimal", None, ("numeric",)),
    "float": ("Float", "f32", None, ()),
    "double": ("Double", "f64", None, ()),
    "real": ("Double", "f64", None, ()),
    "char": ("Char", "String", None, ()),
    "varchar": ("Varchar", "String", None, ()),
    "tinytext": ("Text", "String", None, ()),
    "text": ("Text", "String", None, ()),
    "mediumtext": ("Text", "String", None, ()),
    "longtext": ("Text", "String", None, ()),
    "binary": ("Binary", "Vec<u8>", None, ()),
    "varbinary": ("Binary", "Vec<u8>", None, ()),
    "tinyblob": ("Blob", "Vec<u8>", None, ()),
    "blob": ("Blob", "Vec<u8>", None, ()),
    "mediumblob": ("Blob", "Vec<u8>", None, ()),
    "longblob": ("Blob", "Vec<u8>", None, ()),
    "date": ("Date", "NaiveDate", None, _CHRONO),
    "time": ("Time", "NaiveTime", None, _CHRONO),
    "datetime": ("Datetime", "NaiveDateTime", None, _CHRONO),
    "timestamp": ("Timestamp", "NaiveDateTime", None, _CHRONO),
    "json": ("Json", "serde_json::Value", None, ("serde_json",)),
}
_MYSQL_CLOSEST: dict[str, tuple[str, str]] = {
    "year": ("SmallInt", "i16"),
    "bit": ("Binary", "Vec<u8>"),
    "uuid": ("Text", "String"),
    "inet4": ("Text", "String"),
    "inet6": ("Text", "String"),
}
_MYSQL_LENGTHS = ("char", "varchar", "binary", "varbinary")


def mysql_type(column: Column, table_rust: str, column_rust: str) -> Mapped:
    """A MySQL/MariaDB column by its type word; ENUM and SET get a per-column type."""
    text = column.type.strip().lower()
    word_match = re.match(r"^([a-z]+)", text)
    word = word_match.group(1) if word_match else text
    unsigned = "unsigned" in text
    length_match = re.match(r"^[a-z]+\((\d+)\)", text)
    length = int(length_match.group(1)) if length_match else None
    if re.match(r"^tinyint\(1\)(?!.*unsigned)", text) or word in ("bool", "boolean"):
        return Mapped(sql="Bool", rust="bool")
    if column.logical == "json":  # MariaDB's JSON is LONGTEXT with a json_valid check
        return Mapped(sql="Json", rust="serde_json::Value", features=("serde_json",))
    if word in ("enum", "set"):
        values = tuple(v.replace("''", "'") for v in re.findall(r"'((?:[^']|'')*)'", column.type))
        kind = "Enum" if word == "enum" else "Set"
        custom = CustomType(
            rust=camel(f"{table_rust}_{column_rust}_{word}"),
            mysql_kind=kind,
            values=values,
            is_enum=word == "enum",
        )
        if word == "enum":
            return Mapped(sql=custom.rust, rust=custom.rust, custom=custom)
        note = "SET column: declared in sql_types, no Rust type without a FromSql impl"
        return Mapped(sql=custom.rust, rust=None, note=note, custom=custom)
    if word in _MYSQL_WORDS:
        sql, rust, unsigned_rust, features = _MYSQL_WORDS[word]
        if unsigned and unsigned_rust:
            sql, rust = f"Unsigned<{sql}>", unsigned_rust
        keep = length if word in _MYSQL_LENGTHS else None
        return Mapped(
            sql=sql, rust=rust, borrowed=_borrowed(rust), max_length=keep, features=features
        )
    sql, rust = _MYSQL_CLOSEST.get(word, ("Text", "String"))
    note = f"unknown type {column.type}: Diesel has no MySQL type for it; read as {sql}"
    return Mapped(sql=sql, rust=rust, borrowed=_borrowed(rust), note=note)
