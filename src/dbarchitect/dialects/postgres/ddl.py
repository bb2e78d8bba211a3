"""Schema → PostgreSQL DDL that loads into an empty database, in dependency order.

Creatable objects (schemas, extensions, types, sequences, functions, tables, views) are ordered
with graphlib over the dependencies the catalog recorded (`depends_on`) plus the structural
ones (namespace, partition parent, inheritance). Everything that attaches to tables — keys,
indexes, foreign keys, triggers, row level security, comments, grants — follows, the way
pg_dump orders a restore, so foreign-key cycles and partition trees load without help.
"""

from __future__ import annotations

import graphlib
from collections.abc import Callable, Iterable

from dbarchitect.dialects.postgres import ddl_objects as obj
from dbarchitect.dialects.postgres.normalize import stable
from dbarchitect.dialects.postgres.quoting import literal, qname, quote
from dbarchitect.model import (
    CheckConstraint,
    CompositeType,
    EnumType,
    ExclusionConstraint,
    ForeignKey,
    Function,
    Policy,
    PrimaryKey,
    RangeType,
    Schema,
    Table,
    Trigger,
    UniqueConstraint,
    View,
)

PRELUDE = "SET check_function_bodies = false;\nSET client_min_messages = warning;\n"
PSEUDO_ROLES = {"PUBLIC", "public", "current_user", "session_user", "current_role"}


def render(schema: Schema) -> str:
    """The whole schema as one SQL script."""
    parts = [PRELUDE.rstrip("\n")]
    roles = _roles(schema)
    if roles:
        parts.append(create_roles(roles))
    parts.extend(_creatables(schema))
    parts.extend(_attachments(schema))
    parts.extend(_comments(schema))
    parts.extend(_grants(schema))
    return "\n\n".join(p for p in parts if p) + "\n"


def table_key(schema: str, name: str) -> str:
    return f"rel:{schema}.{name}"


def function_key(fn: Function) -> str:
    return f"func:{fn.schema}.{fn.name}({fn.identity})"


def _creatables(schema: Schema) -> list[str]:
    """CREATE statements for every object other things depend on, topologically sorted."""
    nodes: dict[str, list[str]] = {}
    edges: dict[str, set[str]] = {}
    by_qname = {qname(t.schema, t.name): t for t in schema.tables}

    def add(
        key: str, sql: str | list[str], namespace: str | None, deps: Iterable[str] = ()
    ) -> None:
        nodes[key] = [sql] if isinstance(sql, str) else sql
        edges[key] = set(deps) | ({f"ns:{namespace}"} if namespace else set())

    for ns in schema.namespaces:
        if ns.name != "public":
            add(f"ns:{ns.name}", f"CREATE SCHEMA {quote(ns.name)};", None)
    ext_keys = [f"ext:{e.name}" for e in schema.extensions]
    for e in schema.extensions:
        sql = f"CREATE EXTENSION IF NOT EXISTS {quote(e.name)}"
        sql += f" WITH SCHEMA {quote(e.schema)};" if e.schema else ";"
        add(f"ext:{e.name}", sql, e.schema, [f"ext:{r}" for r in e.requires])
    for c in schema.collations:
        add(f"coll:{c.schema}.{c.name}", obj.create_collation(c), c.schema)
    for cfg in schema.text_search_configs:
        add(f"tscfg:{cfg.schema}.{cfg.name}", obj.create_ts_config(cfg), cfg.schema, ext_keys)
    for en in schema.enums:
        add(f"type:{en.schema}.{en.name}", obj.create_enum(en), en.schema)
    for d in schema.domains:
        deps = _type_refs(schema, d.base_type)
        add(f"type:{d.schema}.{d.name}", obj.create_domain(d)[0], d.schema, deps)
    for ct in schema.composite_types:
        deps = [k for a in ct.attributes for k in _type_refs(schema, a.type)]
        add(f"type:{ct.schema}.{ct.name}", obj.create_composite(ct), ct.schema, deps)
    for rg in schema.ranges:
        add(
            f"type:{rg.schema}.{rg.name}",
            obj.create_range(rg),
            rg.schema,
            _type_refs(schema, rg.subtype),
        )
    for seq in schema.sequences:
        add(table_key(seq.schema, seq.name), obj.create_sequence(seq), seq.schema)
    for fn in schema.functions:
        add(function_key(fn), obj.create_function(fn), fn.schema, fn.depends_on)
    for t in schema.tables:
        parent = by_qname.get(t.partition_of) if t.partition_of else None
        table_deps = set(t.depends_on) | {
            table_key(p.schema, p.name) for p in _parents(t, by_qname)
        }
        stmts = [obj.create_table(t, parent)]
        for col in t.columns:
            if not (col.inherited or parent is not None):
                stmts.extend(obj.column_alters(t, col))
        add(table_key(t.schema, t.name), stmts, t.schema, table_deps)
    for v in schema.views:
        add(table_key(v.schema, v.name), obj.create_view(v), v.schema, v.depends_on)
    for key in edges:  # extensions first: they provide types and functions others use
        if not key.startswith(("ext:", "ns:")):
            edges[key] |= set(ext_keys)
    graph = {k: {d for d in deps if d in nodes} for k, deps in edges.items()}
    rank = {k: i for i, k in enumerate(nodes)}  # construction order: by kind, then name
    try:
        sorter = graphlib.TopologicalSorter(graph)
        sorter.prepare()
        order: list[str] = []
        while sorter.is_active():
            ready = sorted(sorter.get_ready(), key=rank.__getitem__)
            order.extend(ready)
            sorter.done(*ready)
    except graphlib.CycleError:
        order = list(nodes)  # kind order is a safe fallback for the rare cycle
    return ["\n".join(nodes[k]) for k in order]


def _parents(t: Table, by_qname: dict[str, Table]) -> list[Table]:
    names = [t.partition_of] if t.partition_of else list(t.inherits)
    return [by_qname[n] for n in names if n in by_qname]


def _type_refs(schema: Schema, type_text: str) -> list[str]:
    base = type_text.removesuffix("[]")
    keys = []
    for group in (schema.enums, schema.domains, schema.composite_types, schema.ranges):
        for t in group:
            if qname(t.schema, t.name) == base:
                keys.append(f"type:{t.schema}.{t.name}")
    return keys


def _depth(t: Table, by_qname: dict[str, Table]) -> int:
    depth = 0
    while t.partition_of and t.partition_of in by_qname and depth < 100:
        t = by_qname[t.partition_of]
        depth += 1
    return depth


def _attachments(schema: Schema) -> list[str]:
    by_qname = {qname(t.schema, t.name): t for t in schema.tables}
    tables = sorted(schema.tables, key=lambda t: (_depth(t, by_qname), t.schema, t.name))
    owned, keys, indexes, attach, fks, triggers, rls = [], [], [], [], [], [], []
    for seq in schema.sequences:
        if seq.owned_by:
            tschema, tname, col = seq.owned_by.rsplit(".", 2)
            owned.append(
                f"ALTER SEQUENCE {qname(seq.schema, seq.name)} OWNED BY "
                f"{qname(tschema, tname)}.{quote(col)};"
            )
    for d in schema.domains:
        keys.extend(obj.create_domain(d)[1:])
    for t in tables:
        name = qname(t.schema, t.name)
        parent = by_qname.get(t.partition_of) if t.partition_of else None
        keys.extend(_key_constraints(t, parent))
        for chk in t.checks:
            if chk.not_valid and not chk.inherited:
                keys.append(
                    f"ALTER TABLE {name} ADD CONSTRAINT {quote(chk.name)} "
                    f"CHECK ({stable(chk.expression)}) NOT VALID;"
                )
        only = t.partitioning is not None
        for ix in t.indexes:
            indexes.append(obj.create_index(t, ix, only=only))
            if ix.parent:
                attach.append(
                    f"ALTER INDEX {ix.parent} ATTACH PARTITION {qname(t.schema, ix.name)};"
                )
        for fk in t.foreign_keys:
            if fk.inherited:
                continue
            target = name if t.partitioning else f"ONLY {name}"
            fks.append(f"ALTER TABLE {target} ADD CONSTRAINT {quote(fk.name)} {fk_clause(fk)};")
        triggers.extend(trigger_statements(name, t.triggers))
        if t.rls_enabled:
            rls.append(f"ALTER TABLE {name} ENABLE ROW LEVEL SECURITY;")
        if t.rls_forced:
            rls.append(f"ALTER TABLE {name} FORCE ROW LEVEL SECURITY;")
        for p in t.policies:
            rls.append(policy_sql(name, p))
    for v in schema.views:
        for ix in v.indexes:
            indexes.append(obj.create_index(v, ix, only=False))
        triggers.extend(trigger_statements(qname(v.schema, v.name), v.triggers))
    return ["\n".join(group) for group in (owned, keys, indexes, attach, fks, triggers, rls)]


def _key_constraints(t: Table, parent: Table | None) -> list[str]:
    """PRIMARY KEY / UNIQUE / EXCLUDE as ALTER TABLE ONLY, attached to the parent's."""
    name = qname(t.schema, t.name)
    out: list[str] = []
    items: list[tuple[str, str, bool, tuple[str, ...]]] = []
    if t.primary_key:
        pk = t.primary_key
        items.append((pk.name, primary_key_clause(pk), pk.inherited, pk.columns))
    for u in t.uniques:
        items.append((u.name, unique_clause(u), u.inherited, u.columns))
    for x in t.exclusions:
        items.append((x.name, x.definition, x.inherited, ()))
    for cname, clause, inherited, columns in items:
        out.append(f"ALTER TABLE ONLY {name} ADD CONSTRAINT {quote(cname)} {clause};")
        if inherited and parent is not None:
            pname = _parent_constraint(parent, columns, cname)
            if pname:
                out.append(
                    f"ALTER INDEX {qname(parent.schema, pname)} ATTACH PARTITION "
                    f"{qname(t.schema, cname)};"
                )
    return out


def primary_key_clause(pk: PrimaryKey) -> str:
    """`PRIMARY KEY (cols) [INCLUDE …] [DEFERRABLE …]`, as ADD CONSTRAINT takes it."""
    return (
        "PRIMARY KEY "
        + key_columns(pk.columns, pk.include)
        + index_with(pk.index_options)
        + deferrable_clause(pk.deferrable, pk.initially_deferred)
    )


def unique_clause(u: UniqueConstraint) -> str:
    """`UNIQUE [NULLS NOT DISTINCT] (cols) [INCLUDE …] [DEFERRABLE …]`."""
    nnd = " NULLS NOT DISTINCT" if u.nulls_not_distinct else ""
    return (
        f"UNIQUE{nnd} "
        + key_columns(u.columns, u.include)
        + index_with(u.index_options)
        + deferrable_clause(u.deferrable, u.initially_deferred)
    )


def _parent_constraint(parent: Table, columns: tuple[str, ...], child_name: str) -> str | None:
    if parent.primary_key and parent.primary_key.columns == columns and columns:
        return parent.primary_key.name
    for u in parent.uniques:
        if u.columns == columns and columns:
            return u.name
    return None


def key_columns(columns: tuple[str, ...], include: tuple[str, ...]) -> str:
    """`(a, b)` plus ` INCLUDE (c)` when there are included columns."""
    sql = "(" + ", ".join(quote(c) for c in columns) + ")"
    if include:
        sql += " INCLUDE (" + ", ".join(quote(c) for c in include) + ")"
    return sql


def index_with(options: tuple[tuple[str, str], ...]) -> str:
    """` WITH (…)` for a key's backing index, or nothing."""
    return f" WITH {obj.with_options(options)}" if options else ""


def deferrable_clause(deferrable: bool, deferred: bool) -> str:
    """` DEFERRABLE [INITIALLY DEFERRED]`, or nothing."""
    if not deferrable:
        return ""
    return " DEFERRABLE INITIALLY DEFERRED" if deferred else " DEFERRABLE"


def fk_clause(fk: ForeignKey) -> str:
    """`FOREIGN KEY (…) REFERENCES …` with its actions, deferrability and NOT VALID."""
    sql = (
        f"FOREIGN KEY ({', '.join(quote(c) for c in fk.columns)}) REFERENCES "
        f"{qname(fk.ref_schema, fk.ref_table)}({', '.join(quote(c) for c in fk.ref_columns)})"
    )
    if fk.match_full:
        sql += " MATCH FULL"
    if fk.on_update != "NO ACTION":
        sql += f" ON UPDATE {fk.on_update}"
    if fk.on_delete != "NO ACTION":
        sql += f" ON DELETE {fk.on_delete}"
        if fk.on_delete_columns:
            sql += f" ({', '.join(quote(c) for c in fk.on_delete_columns)})"
    sql += deferrable_clause(fk.deferrable, fk.initially_deferred)
    if fk.not_valid:
        sql += " NOT VALID"
    return sql


def trigger_statements(owner: str, triggers: Iterable[Trigger]) -> list[str]:
    """CREATE TRIGGER (and DISABLE) for the triggers a table defines itself."""
    out = []
    for tg in triggers:
        if tg.inherited:
            continue
        out.append(tg.definition.rstrip(";") + ";")
        if not tg.enabled:
            out.append(f"ALTER TABLE {owner} DISABLE TRIGGER {quote(tg.name)};")
    return out


def policy_sql(table: str, p: Policy) -> str:
    """CREATE POLICY for `p` on the quoted `table`."""
    kind = "PERMISSIVE" if p.permissive else "RESTRICTIVE"
    roles = ", ".join("PUBLIC" if r == "public" else quote(r) for r in p.roles)
    sql = f"CREATE POLICY {quote(p.name)} ON {table} AS {kind} FOR {p.command} TO {roles}"
    if p.using is not None:
        sql += f"\n    USING ({p.using})"
    if p.with_check is not None:
        sql += f"\n    WITH CHECK ({p.with_check})"
    return sql + ";"


def _comments(schema: Schema) -> list[str]:
    out: list[str] = []

    def add(target: str, comment: str | None) -> None:
        if comment is not None:
            out.append(f"COMMENT ON {target} IS {literal(comment)};")

    for ns in schema.namespaces:
        add(f"SCHEMA {quote(ns.name)}", ns.comment)
    for c in schema.collations:
        add(f"COLLATION {qname(c.schema, c.name)}", c.comment)
    for cfg in schema.text_search_configs:
        add(f"TEXT SEARCH CONFIGURATION {qname(cfg.schema, cfg.name)}", cfg.comment)
    for en in schema.enums:
        add(f"TYPE {qname(en.schema, en.name)}", en.comment)
    for rg in schema.ranges:
        add(f"TYPE {qname(rg.schema, rg.name)}", rg.comment)
    for ct in schema.composite_types:
        add(f"TYPE {qname(ct.schema, ct.name)}", ct.comment)
        for a in ct.attributes:
            add(f"COLUMN {qname(ct.schema, ct.name)}.{quote(a.name)}", a.comment)
    for d in schema.domains:
        dname = qname(d.schema, d.name)
        add(f"DOMAIN {dname}", d.comment)
        for chk in d.checks:
            add(f"CONSTRAINT {quote(chk.name)} ON DOMAIN {dname}", chk.comment)
    for seq in schema.sequences:
        add(f"SEQUENCE {qname(seq.schema, seq.name)}", seq.comment)
    for fn in schema.functions:
        kind = fn.kind.upper()
        args = fn.identity or ("*" if fn.kind == "aggregate" else "")
        add(f"{kind} {qname(fn.schema, fn.name)}({args})", fn.comment)
    for t in schema.tables:
        _relation_comments(add, t, "TABLE")
    for v in schema.views:
        _relation_comments(add, v, "MATERIALIZED VIEW" if v.materialized else "VIEW")
    return ["\n".join(out)]


def _relation_comments(
    add: Callable[[str, str | None], None], rel: Table | View, kind: str
) -> None:
    name = qname(rel.schema, rel.name)
    add(f"{kind} {name}", rel.comment)
    for col in rel.columns:
        add(f"COLUMN {name}.{quote(col.name)}", col.comment)
    for ix in rel.indexes:
        add(f"INDEX {qname(rel.schema, ix.name)}", ix.comment)
    for tg in rel.triggers:
        if not tg.inherited:
            add(f"TRIGGER {quote(tg.name)} ON {name}", tg.comment)
    if isinstance(rel, Table):
        constraints: list[
            ForeignKey | UniqueConstraint | CheckConstraint | ExclusionConstraint | PrimaryKey
        ] = [*rel.foreign_keys, *rel.uniques, *rel.checks, *rel.exclusions]
        if rel.primary_key:
            constraints.append(rel.primary_key)
        for c in constraints:
            if not c.inherited:
                add(f"CONSTRAINT {quote(c.name)} ON {name}", c.comment)
        for p in rel.policies:
            add(f"POLICY {quote(p.name)} ON {name}", p.comment)


GRANT_TARGET = {
    "table": "TABLE",
    "column": "TABLE",
    "sequence": "SEQUENCE",
    "function": "FUNCTION",
    "procedure": "PROCEDURE",
    "schema": "SCHEMA",
    "type": "TYPE",
    "domain": "DOMAIN",
}
PUBLIC_DEFAULT = {
    "function": "EXECUTE",
    "procedure": "EXECUTE",
    "type": "USAGE",
    "domain": "USAGE",
}


def _grants(schema: Schema) -> list[str]:
    out = []
    public = {
        (g.object_type, g.object)
        for g in schema.grants
        if g.grantee == "PUBLIC" and g.privilege == PUBLIC_DEFAULT.get(g.object_type)
    }
    # Objects whose default includes PUBLIC but whose recorded grants do not: revoke it.
    for kind, objects in (
        ("function", _function_objects(schema, "function")),
        ("procedure", _function_objects(schema, "procedure")),
        (
            "type",
            [qname(t.schema, t.name) for t in _types_with_public_usage(schema)],
        ),
        ("domain", [qname(d.schema, d.name) for d in schema.domains]),
    ):
        for o in objects:
            if (kind, o) not in public:
                out.append(f"REVOKE ALL ON {GRANT_TARGET[kind]} {o} FROM PUBLIC;")
    for g in schema.grants:
        if (
            (g.object_type, g.object) in public
            and g.grantee == "PUBLIC"
            and g.privilege == PUBLIC_DEFAULT.get(g.object_type)
        ):
            continue
        cols = f" ({', '.join(quote(c) for c in g.columns)})" if g.columns else ""
        grantee = "PUBLIC" if g.grantee == "PUBLIC" else quote(g.grantee)
        option = " WITH GRANT OPTION" if g.grantable else ""
        out.append(
            f"GRANT {g.privilege}{cols} ON {GRANT_TARGET[g.object_type]} {g.object} "
            f"TO {grantee}{option};"
        )
    out.extend(_default_privileges(schema))
    return ["\n".join(out)]


def _default_privileges(schema: Schema) -> list[str]:
    out = []
    # A global entry replaces the built-in default: where it lists no PUBLIC row for
    # functions or types, PUBLIC was revoked; the role's own row is implied.
    globals_with_public = {
        (d.role, d.object_type)
        for d in schema.default_privileges
        if d.schema is None and d.grantee == "PUBLIC"
    }
    for role, kind in sorted(
        {(d.role, d.object_type) for d in schema.default_privileges if d.schema is None}
    ):
        if kind in ("functions", "types") and (role, kind) not in globals_with_public:
            out.append(
                f"ALTER DEFAULT PRIVILEGES FOR ROLE {quote(role)} REVOKE ALL ON "
                f"{kind.upper()} FROM PUBLIC;"
            )
    for d in schema.default_privileges:
        # What a global entry lists that the built-in default already gives needs no GRANT.
        implied = d.grantee == d.role or (
            d.grantee == "PUBLIC" and d.object_type in ("functions", "types")
        )
        if d.schema is None and implied:
            continue
        scope = f" IN SCHEMA {quote(d.schema)}" if d.schema else ""
        grantee = "PUBLIC" if d.grantee == "PUBLIC" else quote(d.grantee)
        option = " WITH GRANT OPTION" if d.grantable else ""
        out.append(
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {quote(d.role)}{scope} GRANT "
            f"{d.privilege} ON {d.object_type.upper()} TO {grantee}{option};"
        )
    return out


def _types_with_public_usage(schema: Schema) -> list[EnumType | CompositeType | RangeType]:
    return [*schema.enums, *schema.composite_types, *schema.ranges]


def _function_objects(schema: Schema, kind: str) -> list[str]:
    return [
        f"{qname(f.schema, f.name)}({f.identity})"
        for f in schema.functions
        if (f.kind == kind) or (kind == "function" and f.kind == "aggregate")
    ]


def _roles(schema: Schema) -> list[str]:
    names = {g.grantee for g in schema.grants}
    names |= {d.grantee for d in schema.default_privileges}
    names |= {d.role for d in schema.default_privileges}
    for t in schema.tables:
        for p in t.policies:
            names.update(p.roles)
    return sorted(n for n in names if n not in PSEUDO_ROLES and not n.startswith("pg_"))


def create_roles(roles: list[str]) -> str:
    """Roles are cluster-wide, so a schema can only name them; create any that are missing."""
    body = "\n".join(
        f"  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = {literal(r)}) THEN\n"
        f"    CREATE ROLE {quote(r)} NOLOGIN;\n  END IF;"
        for r in roles
    )
    return f"DO $roles$\nBEGIN\n{body}\nEND\n$roles$;"
