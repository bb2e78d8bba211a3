"""One-line descriptions of schema objects, shared by the text and Markdown renderers.

Each function answers "how do we say this in one line": the same words appear in
`dbarch inspect` text output and in the Markdown data dictionary. SQL fragments (defaults,
expressions, bounds) are shown exactly as the model stores them, i.e. as the engine prints them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from dbarchitect.model.schema import (
    CheckConstraint,
    Column,
    DomainType,
    ExclusionConstraint,
    ForeignKey,
    Function,
    Index,
    IndexKey,
    Policy,
    PrimaryKey,
    RangeType,
    Schema,
    Table,
    Trigger,
    UniqueConstraint,
)
from dbarchitect.model.schema import Sequence as SequenceDef
from dbarchitect.report.counts import count_objects


def header_line(schema: Schema) -> str:
    """One line: the dialect and how many objects of each kind the schema holds."""
    c = count_objects(schema)
    tables = plural(c["tables"], "table")
    parts = []
    if c["partitioned_tables"]:
        parts.append(f"{c['partitioned_tables']} partitioned")
    if c["partitions"]:
        parts.append(plural(c["partitions"], "partition"))
    if parts:
        tables += f" ({', '.join(parts)})"
    # Engines without schemas (SQLite, MySQL's single database) list no namespaces.
    items = [plural(c["schemas"], "schema")] if c["schemas"] else []
    items += [
        tables,
        plural(c["views"], "view"),
        plural(c["materialized_views"], "materialized view"),
        plural(c["indexes"], "index", "indexes"),
        plural(c["foreign_keys"], "foreign key"),
        plural(c["sequences"], "sequence"),
        plural(c["functions"], "function"),
        plural(c["triggers"], "trigger"),
        plural(c["policies"], "policy", "policies"),
        f"{c['enums_and_domains']} enums/domains",
    ]
    return f"{schema.dialect} schema: " + ", ".join(items)


def column_flags(col: Column) -> list[str]:
    """Default, identity, generated, collation and inheritance markers of a column."""
    out = column_value_source(col)
    if col.collation:
        out.append(f"collate {col.collation}")
    if col.inherited:
        out.append("inherited")
    out.extend(f"{k}={v}" for k, v in col.options)
    return out


def column_value_source(col: Column) -> list[str]:
    """Where a column's value comes from when none is given: default, identity, generated."""
    out = []
    if col.default is not None:
        out.append(f"default {col.default}")
    if col.identity is not None:
        ident = col.identity
        how = "always" if ident.always else "by default"
        extra = []
        if ident.start != 1:
            extra.append(f"start {ident.start}")
        if ident.increment != 1:
            extra.append(f"increment {ident.increment}")
        if ident.min_value is not None:
            extra.append(f"min {ident.min_value}")
        if ident.max_value is not None:
            extra.append(f"max {ident.max_value}")
        if ident.cache != 1:
            extra.append(f"cache {ident.cache}")
        if ident.cycle:
            extra.append("cycle")
        out.append(f"identity {how}" + (f" ({', '.join(extra)})" if extra else ""))
    if col.generated is not None:
        kind = "stored" if col.generated_stored else "virtual"
        out.append(f"generated ({col.generated}) {kind}")
    return out


def columns_list(names: Iterable[str]) -> str:
    """`(a, b, c)`."""
    return "(" + ", ".join(names) + ")"


def _deferral(deferrable: bool, initially_deferred: bool) -> str:
    if not deferrable:
        return ""
    return " DEFERRABLE" + (" INITIALLY DEFERRED" if initially_deferred else "")


def _inherited(flag: bool) -> str:
    return " (inherited)" if flag else ""


def pk_text(pk: PrimaryKey) -> str:
    """`name (cols) INCLUDE (…) DEFERRABLE …`."""
    include = f" INCLUDE {columns_list(pk.include)}" if pk.include else ""
    return (
        f"{pk.name} {columns_list(pk.columns)}{include}"
        f"{_deferral(pk.deferrable, pk.initially_deferred)}{_inherited(pk.inherited)}"
    )


def fk_target(fk: ForeignKey) -> str:
    """The referenced table, qualified when the engine has schemas."""
    return fk.ref_qualified


def fk_text(fk: ForeignKey, target: str | None = None) -> str:
    """`name (cols) → schema.table (cols)` and the non-default actions; `target` replaces
    the referenced table's name (the Markdown renderer passes a link)."""
    parts = [f"{fk.name} {columns_list(fk.columns)} → {target or fk_target(fk)}"]
    parts.append(columns_list(fk.ref_columns))
    if fk.match_full:
        parts.append("MATCH FULL")
    if fk.on_delete != "NO ACTION":
        parts.append(f"ON DELETE {fk.on_delete}")
    if fk.on_update != "NO ACTION":
        parts.append(f"ON UPDATE {fk.on_update}")
    text = " ".join(parts) + _deferral(fk.deferrable, fk.initially_deferred)
    if fk.not_valid:
        text += " NOT VALID"
    return text + _inherited(fk.inherited)


def unique_text(u: UniqueConstraint) -> str:
    """`name (cols)` with INCLUDE, NULLS NOT DISTINCT and deferral when set."""
    text = f"{u.name} {columns_list(u.columns)}"
    if u.include:
        text += f" INCLUDE {columns_list(u.include)}"
    if u.nulls_not_distinct:
        text += " NULLS NOT DISTINCT"
    return text + _deferral(u.deferrable, u.initially_deferred) + _inherited(u.inherited)


def check_text(c: CheckConstraint) -> str:
    """`name: expression`, NOT VALID / NO INHERIT when set."""
    text = f"{c.name}: {c.expression}"
    if c.not_valid:
        text += " NOT VALID"
    if c.no_inherit:
        text += " NO INHERIT"
    return text + _inherited(c.inherited)


def exclusion_text(x: ExclusionConstraint) -> str:
    """`name: EXCLUDE USING …` as the engine defines it."""
    return (
        f"{x.name}: {x.definition}"
        f"{_deferral(x.deferrable, x.initially_deferred)}{_inherited(x.inherited)}"
    )


def index_key_text(key: IndexKey) -> str:
    """One index key: column or expression, prefix length, collation, opclass, order."""
    text = key.column
    if key.length is not None:
        text += f"({key.length})"
    if key.collation:
        text += f" COLLATE {key.collation}"
    if key.opclass:
        text += f" {key.opclass}"
    if key.descending:
        text += " DESC"
    if key.nulls_first is not None:
        text += " NULLS FIRST" if key.nulls_first else " NULLS LAST"
    return text


def index_text(ix: Index) -> str:
    """`name [UNIQUE] method (keys) INCLUDE (…) WHERE …`, plus the attached parent index."""
    text = ix.name + (" UNIQUE" if ix.unique else "") + f" {ix.method} "
    text += "(" + ", ".join(index_key_text(k) for k in ix.keys) + ")"
    if ix.include:
        text += f" INCLUDE {columns_list(ix.include)}"
    if ix.nulls_not_distinct:
        text += " NULLS NOT DISTINCT"
    if ix.where:
        text += f" WHERE {ix.where}"
    if ix.options:
        text += " WITH (" + ", ".join(f"{k}={v}" for k, v in ix.options) + ")"
    if ix.parent:
        text += f" (partition of {ix.parent})"
    return text


def trigger_text(tr: Trigger) -> str:
    """`name TIMING EVENTS FOR EACH ROW|STATEMENT WHEN (…) → function`."""
    each = "ROW" if tr.for_each_row else "STATEMENT"
    text = f"{tr.name} {tr.timing} {' OR '.join(tr.events)} FOR EACH {each}"
    if tr.when:
        text += f" WHEN ({tr.when})"
    if tr.function:
        text += f" → {tr.function}"
    if not tr.enabled:
        text += " (disabled)"
    return text + _inherited(tr.inherited)


def policy_text(p: Policy) -> str:
    """`name FOR command TO roles [RESTRICTIVE] USING (…) WITH CHECK (…)`."""
    text = f"{p.name} FOR {p.command} TO {', '.join(p.roles)}"
    if not p.permissive:
        text += " RESTRICTIVE"
    if p.using is not None:
        text += f" USING ({p.using})"
    if p.with_check is not None:
        text += f" WITH CHECK ({p.with_check})"
    return text


def rls_text(t: Table) -> str | None:
    """Row level security state (`enabled, forced`), or None when neither is set."""
    if not (t.rls_enabled or t.rls_forced):
        return None
    return ("enabled" if t.rls_enabled else "disabled") + (", forced" if t.rls_forced else "")


def function_text(f: Function) -> str:
    """`schema.name(args) → returns`, language, volatility and the security-relevant flags."""
    text = f"{qualify(f.schema, f.name)}({f.arguments})"
    if f.returns:
        text += f" → {f.returns}"
    attrs: list[str] = [f.kind] if f.kind != "function" else []
    attrs += [f.language, f.volatility]
    if f.strict:
        attrs.append("strict")
    if f.leakproof:
        attrs.append("leakproof")
    if f.security_definer:
        attrs.append("SECURITY DEFINER")
    attrs.extend(f"SET {k}={v}" for k, v in f.config)
    return f"{text}  [{', '.join(attrs)}]"


def sequence_text(s: SequenceDef) -> str:
    """`schema.name type` and the options that differ from the defaults."""
    parts = [qualify(s.schema, s.name), s.type]
    if s.start != 1:
        parts.append(f"start {s.start}")
    if s.increment != 1:
        parts.append(f"increment {s.increment}")
    if s.min_value is not None:
        parts.append(f"min {s.min_value}")
    if s.max_value is not None:
        parts.append(f"max {s.max_value}")
    if s.cache != 1:
        parts.append(f"cache {s.cache}")
    if s.cycle:
        parts.append("cycle")
    if s.owned_by:
        parts.append(f"owned by {s.owned_by}")
    return " ".join(parts)


def domain_text(d: DomainType) -> str:
    """The base type with COLLATE, NOT NULL, DEFAULT and CHECKs."""
    text = d.base_type
    if d.collation:
        text += f" COLLATE {d.collation}"
    if not d.nullable:
        text += " NOT NULL"
    if d.default is not None:
        text += f" DEFAULT {d.default}"
    for c in d.checks:
        text += f" CHECK {c.name}: {c.expression}"
    return text


def range_text(r: RangeType) -> str:
    """The subtype and the options given to CREATE TYPE … AS RANGE."""
    parts = [f"subtype {r.subtype}"]
    for label, value in (
        ("opclass", r.subtype_opclass),
        ("collation", r.collation),
        ("canonical", r.canonical),
        ("subtype_diff", r.subtype_diff),
        ("multirange", r.multirange),
    ):
        if value:
            parts.append(f"{label} {value}")
    return ", ".join(parts)


DEPENDENCY_KINDS = {"rel": "relation", "func": "function", "type": "type"}


def dependency(entry: str) -> tuple[str, str]:
    """Split a `depends_on` entry into (kind, name): dialects may prefix entries with `rel:`,
    `func:` or `type:` (PostgreSQL does); an entry without a prefix names a relation."""
    prefix, sep, rest = entry.partition(":")
    if sep and prefix in DEPENDENCY_KINDS:
        return DEPENDENCY_KINDS[prefix], rest
    return "relation", entry


def partitions_of(schema: Schema) -> dict[str, list[str]]:
    """Partitioned table (qualified name) → its partitions' qualified names, in order."""
    children: dict[str, list[str]] = defaultdict(list)
    for t in schema.tables:
        if t.partition_of:
            children[t.partition_of].append(t.qualified)
    return children


def qualify(schema: str, name: str) -> str:
    """`schema.name`, or just `name` where the engine has no schemas."""
    return f"{schema}.{name}" if schema else name


def plural(count: int, singular: str, many: str | None = None) -> str:
    """`1 table`, `2 tables`; `many` for irregular plurals (indexes, policies)."""
    return f"{count} {singular if count == 1 else (many or singular + 's')}"
