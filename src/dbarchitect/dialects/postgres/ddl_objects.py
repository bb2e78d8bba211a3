"""CREATE statements for single PostgreSQL objects (no ordering here; see ddl.py)."""

from __future__ import annotations

import json

from dbarchitect.dialects.postgres.normalize import stable
from dbarchitect.dialects.postgres.quoting import literal, qname, quote
from dbarchitect.dialects.postgres.types import sequence_bounds
from dbarchitect.model import (
    Collation,
    Column,
    CompositeType,
    DomainType,
    EnumType,
    Function,
    Index,
    RangeType,
    Sequence,
    Table,
    TextSearchConfig,
    View,
)

_STORAGE = {"p": "PLAIN", "e": "EXTERNAL", "m": "MAIN", "x": "EXTENDED"}
# pg_attribute.attcompression codes, as the model's ("compression", code) column option.
COMPRESSION = {"p": "pglz", "l": "lz4"}


def dollar_quote(body: str) -> str:
    """Wrap `body` in a dollar-quote whose tag does not occur inside it."""
    tag = ""
    while f"${tag}$" in body:
        tag += "_"
    return f"${tag}${body}${tag}$"


def with_options(options: tuple[tuple[str, str], ...]) -> str:
    return "(" + ", ".join(f"{k}={v}" for k, v in options) + ")"


def column_sql(col: Column) -> str:
    parts = [quote(col.name), col.type]
    if col.collation:
        parts.append(f"COLLATE {col.collation}")
    if col.generated is not None:
        kind = "STORED" if col.generated_stored else "VIRTUAL"
        parts.append(f"GENERATED ALWAYS AS ({col.generated}) {kind}")
    if col.identity is not None:
        i = col.identity
        opts = sequence_options(
            col.type, i.start, i.increment, i.min_value, i.max_value, i.cache, i.cycle
        )
        when = "ALWAYS" if i.always else "BY DEFAULT"
        parts.append(f"GENERATED {when} AS IDENTITY" + (f" ({' '.join(opts)})" if opts else ""))
    if col.default is not None:
        parts.append(f"DEFAULT {col.default}")
    if not col.nullable:
        parts.append("NOT NULL")
    return " ".join(parts)


def column_alters(table: Table, col: Column) -> list[str]:
    """Per-column settings that CREATE TABLE cannot carry: storage, statistics, options."""
    out = []
    target = f"ALTER TABLE ONLY {qname(table.schema, table.name)} ALTER COLUMN {quote(col.name)}"
    plain = []
    for key, value in col.options:
        if key == "storage":
            out.append(f"{target} SET STORAGE {_STORAGE.get(value, value)};")
        elif key == "statistics":
            out.append(f"{target} SET STATISTICS {value};")
        elif key == "compression":
            out.append(f"{target} SET COMPRESSION {COMPRESSION.get(value, value)};")
        else:
            plain.append((key, value))
    if plain:
        out.append(f"{target} SET {with_options(tuple(plain))};")
    return out


def create_table(table: Table, parent: Table | None) -> str:
    name = qname(table.schema, table.name)
    unlogged = "UNLOGGED " if table.unlogged else ""
    items: list[str] = []
    if parent is not None:
        for col in table.columns:
            pcol = parent.column(col.name)
            opts = []
            if col.default is not None and (pcol is None or pcol.default != col.default):
                opts.append(f"DEFAULT {col.default}")
            if not col.nullable and (pcol is None or pcol.nullable):
                opts.append("NOT NULL")
            if opts:
                items.append(f"{quote(col.name)} WITH OPTIONS {' '.join(opts)}")
    else:
        items.extend(column_sql(c) for c in table.columns if not c.inherited)
    for chk in table.checks:
        if not chk.inherited and not chk.not_valid:
            no_inherit = " NO INHERIT" if chk.no_inherit else ""
            items.append(
                f"CONSTRAINT {quote(chk.name)} CHECK ({stable(chk.expression)}){no_inherit}"
            )
    body = "(\n    " + ",\n    ".join(items) + "\n)" if items else "()"
    if parent is not None:
        sql = f"CREATE {unlogged}TABLE {name} PARTITION OF {table.partition_of}"
        if items:
            sql += " " + body
        sql += f"\n{table.partition_bound}"
    else:
        sql = f"CREATE {unlogged}TABLE {name} {body}"
        if table.inherits:
            sql += f"\nINHERITS ({', '.join(table.inherits)})"
    if table.partitioning:
        sql += f"\nPARTITION BY {table.partitioning.strategy} ({table.partitioning.key})"
    if table.options:
        sql += f"\nWITH {with_options(table.options)}"
    return sql + ";"


def create_index(
    owner: Table | View, index: Index, *, only: bool, concurrently: bool = False
) -> str:
    """CREATE INDEX for `index` on `owner` (ON ONLY for a partitioned parent when `only`)."""
    keys = []
    for k in index.keys:
        # Expressions are always parenthesised: valid for calls and operators alike.
        text = f"({k.column})" if k.expression else quote(k.column)
        if k.collation:
            text += f" COLLATE {k.collation}"
        if k.opclass:
            text += f" {k.opclass}"
        if k.descending:
            text += " DESC"
        if k.nulls_first is not None:
            text += " NULLS FIRST" if k.nulls_first else " NULLS LAST"
        keys.append(text)
    unique = "UNIQUE " if index.unique else ""
    target = ("ONLY " if only else "") + qname(owner.schema, owner.name)
    conc = "CONCURRENTLY " if concurrently else ""
    sql = f"CREATE {unique}INDEX {conc}{quote(index.name)} ON {target} USING {index.method} ("
    sql += ", ".join(keys) + ")"
    if index.include:
        sql += f" INCLUDE ({', '.join(quote(c) for c in index.include)})"
    if index.nulls_not_distinct:
        sql += " NULLS NOT DISTINCT"
    options = tuple((k, v) for k, v in index.options if k != "invalid")
    if options:
        sql += f" WITH {with_options(options)}"
    if index.where:
        sql += f" WHERE {index.where}"
    return sql + ";"


def create_view(view: View) -> str:
    definition = stable(view.definition, query=True).rstrip().rstrip(";")
    kind = "MATERIALIZED VIEW" if view.materialized else "VIEW"
    sql = f"CREATE {kind} {qname(view.schema, view.name)}"
    if view.options:
        sql += f" WITH {with_options(view.options)}"
    sql += f" AS\n{definition}"
    if view.check_option:
        sql += f"\n  WITH {view.check_option.upper()} CHECK OPTION"
    return sql + ";"


def create_enum(enum: EnumType) -> str:
    values = ", ".join(literal(v) for v in enum.values)
    return f"CREATE TYPE {qname(enum.schema, enum.name)} AS ENUM ({values});"


def create_domain(domain: DomainType) -> list[str]:
    name = qname(domain.schema, domain.name)
    sql = f"CREATE DOMAIN {name} AS {domain.base_type}"
    if domain.collation:
        sql += f" COLLATE {domain.collation}"
    if domain.default is not None:
        sql += f" DEFAULT {domain.default}"
    if not domain.nullable:
        sql += " NOT NULL"
    later = []
    for chk in domain.checks:
        clause = f"CONSTRAINT {quote(chk.name)} CHECK ({stable(chk.expression)})"
        if chk.not_valid:
            later.append(f"ALTER DOMAIN {name} ADD {clause} NOT VALID;")
        else:
            sql += f"\n    {clause}"
    return [sql + ";", *later]


def create_composite(ct: CompositeType) -> str:
    attrs = []
    for a in ct.attributes:
        text = f"{quote(a.name)} {a.type}"
        if a.collation:
            text += f" COLLATE {a.collation}"
        attrs.append(text)
    return f"CREATE TYPE {qname(ct.schema, ct.name)} AS (\n    " + ",\n    ".join(attrs) + "\n);"


def sequence_options(
    type_: str,
    start: int,
    increment: int,
    min_value: int | None,
    max_value: int | None,
    cache: int,
    cycle: bool,
) -> list[str]:
    """Sequence options that differ from PostgreSQL's defaults for `type_`."""
    lo, hi = sequence_bounds(type_, increment)
    opts = []
    if start != (lo if increment > 0 else hi):
        opts.append(f"START WITH {start}")
    if increment != 1:
        opts.append(f"INCREMENT BY {increment}")
    if min_value is not None and min_value != lo:
        opts.append(f"MINVALUE {min_value}")
    if max_value is not None and max_value != hi:
        opts.append(f"MAXVALUE {max_value}")
    if cache != 1:
        opts.append(f"CACHE {cache}")
    if cycle:
        opts.append("CYCLE")
    return opts


def create_range(r: RangeType) -> str:
    opts = [f"subtype = {r.subtype}"]
    for key, value in (
        ("subtype_opclass", r.subtype_opclass),
        ("collation", r.collation),
        ("canonical", r.canonical),
        ("subtype_diff", r.subtype_diff),
    ):
        if value:
            opts.append(f"{key} = {value}")
    if r.multirange and r.multirange != _default_multirange(r.name):
        opts.append(f"multirange_type_name = {qname(r.schema, r.multirange)}")
    return f"CREATE TYPE {qname(r.schema, r.name)} AS RANGE ({', '.join(opts)});"


def _default_multirange(name: str) -> str:
    return name.replace("range", "multirange", 1) if "range" in name else name + "_multirange"


def create_sequence(seq: Sequence) -> str:
    opts = sequence_options(
        seq.type, seq.start, seq.increment, seq.min_value, seq.max_value, seq.cache, seq.cycle
    )
    as_type = "" if seq.type == "bigint" else f" AS {seq.type}"
    return (
        f"CREATE SEQUENCE {qname(seq.schema, seq.name)}{as_type}"
        + "".join(f"\n    {o}" for o in opts)
        + ";"
    )


def create_collation(c: Collation) -> str:
    opts = []
    if c.provider == "icu":
        opts.append("provider = icu")
        opts.append(f"locale = {literal(c.locale or '')}")
    else:
        opts.append(f"lc_collate = {literal(c.lc_collate or '')}")
        opts.append(f"lc_ctype = {literal(c.lc_ctype or '')}")
    if not c.deterministic:
        opts.append("deterministic = false")
    return f"CREATE COLLATION {qname(c.schema, c.name)} ({', '.join(opts)});"


def create_ts_config(cfg: TextSearchConfig) -> list[str]:
    name = qname(cfg.schema, cfg.name)
    out = [f"CREATE TEXT SEARCH CONFIGURATION {name} (PARSER = {cfg.parser});"]
    groups: dict[tuple[str, ...], list[str]] = {}
    for token, dicts in cfg.mappings:
        groups.setdefault(dicts, []).append(token)
    for dicts, tokens in groups.items():
        out.append(
            f"ALTER TEXT SEARCH CONFIGURATION {name}\n    ADD MAPPING FOR "
            f"{', '.join(tokens)} WITH {', '.join(dicts)};"
        )
    return out


def is_sql_body(fn: Function) -> bool:
    """A SQL-standard body (RETURN … / BEGIN ATOMIC … END), parsed at creation time."""
    return fn.language == "sql" and fn.body.startswith(("RETURN ", "BEGIN ATOMIC"))


def create_function(fn: Function) -> str:
    name = qname(fn.schema, fn.name)
    if fn.kind == "aggregate":
        return f"CREATE AGGREGATE {name}({fn.identity or '*'}) (\n    {fn.body}\n);"
    keyword = "PROCEDURE" if fn.kind == "procedure" else "FUNCTION"
    sql = f"CREATE {keyword} {name}({fn.arguments})"
    if fn.kind == "function":
        sql += f"\n    RETURNS {fn.returns}"
    attrs = [f"LANGUAGE {quote(fn.language)}"]
    if fn.kind == "function":
        attrs.append(fn.volatility.upper())
        if fn.strict:
            attrs.append("STRICT")
        if fn.leakproof:
            attrs.append("LEAKPROOF")
        if fn.parallel != "unsafe":
            attrs.append(f"PARALLEL {fn.parallel.upper()}")
        if fn.cost is not None:
            attrs.append(f"COST {_number(fn.cost)}")
        if fn.rows is not None:
            attrs.append(f"ROWS {_number(fn.rows)}")
    if fn.security_definer:
        attrs.append("SECURITY DEFINER")
    for key, value in fn.config:
        attrs.append(f"SET {key} TO {_config_value(key, value)}")
    sql += "\n    " + " ".join(attrs)
    if fn.language == "c":
        probin, prosrc = json.loads(fn.body)
        return sql + f"\n    AS {literal(probin)}, {literal(prosrc)};"
    if is_sql_body(fn):
        return sql + f"\n{fn.body};"
    return sql + f"\n    AS {dollar_quote(fn.body)};"


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else repr(value)


def _config_value(key: str, value: str) -> str:
    # proconfig stores "search_path=a, b" already in list syntax; quote each element.
    if key == "search_path":
        items = [v.strip() for v in value.split(",") if v.strip()]
        return (
            ", ".join(literal(v.strip('"')) if v.startswith('"') or v == "" else v for v in items)
            or "''"
        )
    return literal(value)
