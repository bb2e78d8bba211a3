"""The secured target schema for `dbarch secure rls`: the source Schema with row level security
forced on every tenant table, policies per command, the fail-closed `current_tenant()` helper,
composite foreign keys that keep children inside their tenant, tenant-leading indexes and
least-privilege grants. Pure data in, data out: rls.py diffs it against the source with the
migration engine.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from dbarchitect.dialects.postgres.quoting import literal
from dbarchitect.dialects.postgres.quoting import quote as _q
from dbarchitect.errors import InputError
from dbarchitect.model import Schema, Table
from dbarchitect.model.schema import (
    DefaultPrivilege,
    ForeignKey,
    Function,
    Grant,
    Index,
    IndexKey,
    Namespace,
    Policy,
    Sequence,
    UniqueConstraint,
)
from dbarchitect.security.rls_fix import (
    exposing_definers,
    exposing_matviews,
    function_object,
    lockdown,
    pin_search_path,
    referenced_keys,
    replaced_policies,
    scope_uniques,
    shared_sequences,
)
from dbarchitect.security.tenancy import Indirect, Tenancy

HELPER_NAME = "current_tenant"
WRITE = ("SELECT", "INSERT", "UPDATE", "DELETE")


@dataclass(frozen=True, slots=True, kw_only=True)
class RoleNames:
    """The four cluster roles the migration creates (when missing) and grants to."""

    owner: str = "app_owner"
    app: str = "app_user"
    readonly: str = "app_readonly"
    admin: str = "app_admin"

    def all(self) -> tuple[str, str, str, str]:
        return (self.owner, self.app, self.readonly, self.admin)


def helper_body(setting: str, type_: str) -> str:
    """The PL/pgSQL body of current_tenant(): an unset setting is NULL, and once a SET LOCAL
    has ended the same session reads it back as '' — both refuse, so no row can match."""
    lit = literal(setting)
    return (
        "\nDECLARE\n"
        f"    v text := pg_catalog.current_setting({lit}, true);\n"
        "BEGIN\n"
        "    IF v IS NULL OR v = '' THEN\n"
        f"        RAISE EXCEPTION 'tenant not set: SET LOCAL {setting} first' "
        "USING ERRCODE = 'insufficient_privilege';\n"
        "    END IF;\n"
        f"    RETURN v::{type_};\n"
        "END\n"
    )


def helper_function(schema: str, setting: str, type_: str) -> Function:
    """current_tenant(): STABLE (one read per statement, usable as an index key), search_path
    pinned so nobody can shadow what it calls, PARALLEL SAFE like current_setting itself."""
    return Function(
        schema=schema,
        name=HELPER_NAME,
        returns=type_,
        language="plpgsql",
        body=helper_body(setting, type_),
        volatility="stable",
        parallel="safe",
        cost=100.0,
        config=(("search_path", "pg_catalog"),),
    )


def _tenant_type(tenancy: Tenancy) -> str:
    types = {tenancy.column_type(t) for t in tenancy.tables}
    if len(types) != 1:
        listed = ", ".join(sorted(types))
        raise InputError(f"tenant column {tenancy.column} has several types ({listed})")
    return types.pop()


def _ref(fk: ForeignKey) -> str:
    return fk.ref_qualified


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """The secured schema with what the SQL around the diff needs to know."""

    schema: Schema
    helper: Function
    secured: tuple[str, ...]  # qualified tables whose owner becomes the owner role
    sequences: tuple[str, ...]  # free-standing sequences the owner role takes over
    views: tuple[str, ...]
    schemas: tuple[str, ...]  # namespaces granted to the roles
    notes: tuple[str, ...]


def build_target(
    schema: Schema, tenancy: Tenancy, roles: RoleNames, *, force: bool, helper_schema: str | None
) -> Target:
    """The secured version of `schema` (see the module docstring)."""
    if not tenancy.tables:
        raise InputError(f"no tenant table carries {tenancy.column}")
    type_ = _tenant_type(tenancy)
    home = helper_schema or tenancy.tables[0].schema
    helper = helper_function(home, tenancy.setting, type_)
    call = f"{_q(home)}.{HELPER_NAME}()"
    notes: list[str] = []
    tenant_names = {t.qualified for t in tenancy.tables}
    root = tenancy.root
    root_key = _root_key(tenancy)
    indirect = {i.table.qualified: i for i in tenancy.indirect}
    _refuse_rerun(schema, home)
    parents_needing_unique: dict[str, set[tuple[str, ...]]] = {}
    referenced = referenced_keys(schema)
    tables: list[Table] = []
    for t in schema.tables:
        if t.qualified in tenant_names:
            t2, parents = _composite_keys(t, tenancy.column, tenant_names, notes)
            for parent, keys in parents.items():
                parents_needing_unique.setdefault(parent, set()).update(keys)
            t2 = scope_uniques(t2, tenancy.column, referenced, notes)
            t2 = _tenant_indexes(t2, tenancy.column)
            pol = _tenant_policies(f"{_q(tenancy.column)} = {call}", roles)
            tables.append(_secure(t2, pol, force, notes))
        elif t.qualified in indirect:
            cond = _exists(indirect[t.qualified], tenancy.column, call)
            tables.append(_secure(t, _tenant_policies(cond, roles), force, notes))
        elif root is not None and t.qualified == root.qualified and root_key:
            cond = f"{_q(root_key)} = {call}"
            tables.append(_secure(t, _root_policies(cond, roles), force, notes))
        else:
            tables.append(t)
    tables = [_with_unique(t, parents_needing_unique.get(t.qualified, set())) for t in tables]
    secured = [t.qualified for t in tables if t.rls_enabled and t.qualified in _secured(tenancy)]
    # Materialized views hold rows, not a query run as the caller: locked down below instead.
    views = [
        v.qualified
        for v in schema.views
        if not v.materialized and any(d.removeprefix("rel:") in secured for d in v.depends_on)
    ]
    target_views = tuple(
        replace(v, options=_invoker(v.options)) if v.qualified in views else v for v in schema.views
    )
    for v in schema.views:
        if v.qualified in views and ("security_invoker", "true") not in v.options:
            notes.append(f"view {v.qualified} now runs with security_invoker (RLS applies)")
    matviews = exposing_matviews(schema.views, set(secured))
    definers = exposing_definers(schema.functions, set(secured))
    unsafe = {f.signature for f in definers}
    exposing = [
        f.signature
        for f in schema.functions
        if _returns_tenant_rows(f, secured) and f.signature not in unsafe
    ]
    seqs = _sequences(schema, secured)
    shared_sequences(schema, tenant_names, notes)
    spaces = sorted({q.rsplit(".", 1)[0] for q in secured} | {home})
    namespaces = schema.namespaces
    if all(n.name != home for n in namespaces):
        namespaces = (*namespaces, Namespace(name=home))
    grants = _grants(schema, roles, secured, root, views, seqs, exposing, spaces)
    described = {qname(v.qualified): f"materialized view {v.qualified}" for v in matviews}
    described |= {function_object(f): f"SECURITY DEFINER {f.signature}" for f in definers}
    grants = lockdown(grants, set(described), {roles.app, roles.readonly}, notes, described)
    grants.extend(
        Grant(
            object_type="function",
            object=f"{_q(home)}.{HELPER_NAME}()",
            grantee=r,
            privilege="EXECUTE",
        )
        for r in roles.all()
    )
    target = replace(
        schema,
        namespaces=namespaces,
        tables=tuple(tables),
        views=target_views,
        functions=(*pin_search_path(schema.functions, notes), helper),
        grants=tuple(grants),
        default_privileges=(*schema.default_privileges, *_defaults(roles, spaces)),
    )
    owned = [f"{s.schema}.{s.name}" for s in _free_sequences(schema, seqs)]
    return Target(
        schema=target,
        helper=helper,
        secured=tuple(secured),
        sequences=tuple(owned),
        views=tuple(views),
        schemas=tuple(spaces),
        notes=tuple(notes),
    )


def _secured(tenancy: Tenancy) -> set[str]:
    out = {t.qualified for t in tenancy.tables} | {i.table.qualified for i in tenancy.indirect}
    if tenancy.root is not None:
        out.add(tenancy.root.qualified)
    return out


def _root_key(tenancy: Tenancy) -> str | None:
    """The tenants table's column that tenant columns reference (usually id)."""
    root = tenancy.root
    if root is None:
        return None
    for t in tenancy.tables:
        for fk in t.foreign_keys:
            if fk.columns == (tenancy.column,) and _ref(fk) == root.qualified:
                return fk.ref_columns[0]
    return None


def _secure(t: Table, policies: list[Policy], force: bool, notes: list[str]) -> Table:
    """RLS on (and forced) with our policies only: existing ones are dropped, since one
    permissive policy that leaks is OR-ed into every other."""
    replaced_policies(t, notes)
    return replace(t, policies=tuple(policies), rls_enabled=True, rls_forced=force)


def _tenant_policies(cond: str, roles: RoleNames) -> list[Policy]:
    """One policy per command, each naming only the roles that may run it. The admin role gets
    a separate permissive policy over every row (no BYPASSRLS: it stays visible in the catalog
    and in the audit). Roles not named match no policy and see nothing."""
    users = (roles.owner, roles.app)
    readers = (*users, roles.readonly)
    expr = f"({cond})"
    return [
        Policy(name="tenant_select", command="SELECT", roles=readers, using=expr),
        Policy(name="tenant_insert", command="INSERT", roles=users, with_check=expr),
        Policy(name="tenant_update", command="UPDATE", roles=users, using=expr, with_check=expr),
        Policy(name="tenant_delete", command="DELETE", roles=users, using=expr),
        _admin_policy(roles),
    ]


def _root_policies(cond: str, roles: RoleNames) -> list[Policy]:
    """On the tenants table a tenant reads its own row; creating tenants is the admin's job."""
    readers = (roles.owner, roles.app, roles.readonly)
    return [
        Policy(name="tenant_select", command="SELECT", roles=readers, using=f"({cond})"),
        _admin_policy(roles),
    ]


def _admin_policy(roles: RoleNames) -> Policy:
    return Policy(
        name="tenant_admin_all",
        command="ALL",
        roles=(roles.admin,),
        using="true",
        with_check="true",
    )


def _exists(ind: Indirect, column: str, call: str) -> str:
    """Rows of an indirect table belong to the tenant of the parent row their key names."""
    p = ind.parent
    pairs = " AND ".join(
        f"p.{_q(rc)} = {_q(ind.table.name)}.{_q(c)}"
        for c, rc in zip(ind.via.columns, ind.via.ref_columns, strict=True)
    )
    return (
        f"EXISTS ( SELECT 1 FROM {_q(p.schema)}.{_q(p.name)} p "
        f"WHERE {pairs} AND p.{_q(column)} = {call})"
    )


def _composite_keys(
    t: Table, column: str, tenant_names: set[str], notes: list[str]
) -> tuple[Table, dict[str, set[tuple[str, ...]]]]:
    """Single-column keys from one tenant table to another become (tenant, key) → (tenant, id):
    a child can then only name a parent of its own tenant, whatever RLS hides."""
    out: list[ForeignKey] = []
    parents: dict[str, set[tuple[str, ...]]] = {}
    for fk in t.foreign_keys:
        if _ref(fk) not in tenant_names or column in fk.columns or len(fk.columns) != 1:
            out.append(fk)
            continue
        resets = fk.columns if fk.on_delete in ("SET NULL", "SET DEFAULT") else ()
        out.append(
            replace(
                fk,
                columns=(column, *fk.columns),
                ref_columns=(column, *fk.ref_columns),
                on_delete_columns=fk.on_delete_columns or resets,
            )
        )
        parents.setdefault(_ref(fk), set()).add((column, *fk.ref_columns))
        notes.append(
            f"foreign key {t.qualified}.{fk.name} now includes {column}: "
            f"({column}, {fk.columns[0]}) → {_ref(fk)} ({column}, {fk.ref_columns[0]})"
        )
    return replace(t, foreign_keys=tuple(out)), parents


def _leads(t: Table, cols: tuple[str, ...]) -> bool:
    """Whether some index or key of `t` starts with `cols`."""
    lists = [tuple(k.column for k in i.keys if not k.expression) for i in t.indexes if not i.where]
    lists += [u.columns for u in t.uniques]
    if t.primary_key is not None:
        lists.append(t.primary_key.columns)
    return any(c[: len(cols)] == cols for c in lists)


def _index(t: Table, cols: tuple[str, ...]) -> Index:
    return Index(
        name=f"{t.name}_{'_'.join(cols)}_idx", keys=tuple(IndexKey(column=c) for c in cols)
    )


def _tenant_indexes(t: Table, column: str) -> Table:
    """Policies filter on the tenant column and composite keys check (tenant, key): give both an
    index with the tenant column leading unless one exists."""
    wanted: list[tuple[str, ...]] = []
    for fk in t.foreign_keys:
        if fk.columns[:1] == (column,) and len(fk.columns) > 1:
            wanted.append(fk.columns)
    added = [_index(t, cols) for cols in wanted if not _leads(t, cols)]
    probe = replace(t, indexes=(*t.indexes, *added))
    if not _leads(probe, (column,)):
        added.append(_index(t, (column,)))
    return replace(t, indexes=(*t.indexes, *added))


def _with_unique(t: Table, wanted: set[tuple[str, ...]]) -> Table:
    """The (tenant, id) keys composite foreign keys need on their parent, unless a primary key
    or unique constraint already covers exactly those columns."""
    keys = [set(u.columns) for u in t.uniques]
    if t.primary_key is not None:
        keys.append(set(t.primary_key.columns))
    added = [
        UniqueConstraint(name=f"{t.name}_{'_'.join(cols)}_key", columns=cols)
        for cols in sorted(wanted)
        if set(cols) not in keys
    ]
    return replace(t, uniques=(*t.uniques, *added)) if added else t


def _refuse_rerun(schema: Schema, home: str) -> None:
    """A schema that already has our helper has been secured by this migration: generating
    again would produce one that fails half-way. Policies of the same names as ours are not
    a sign of it (hand-written ones are replaced like any other)."""
    if any(f.schema == home and f.name == HELPER_NAME and not f.identity for f in schema.functions):
        raise InputError(f"{home}.{HELPER_NAME}() already exists: the schema is already secured")


def _invoker(options: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    return (*(o for o in options if o[0] != "security_invoker"), ("security_invoker", "true"))


def _returns_tenant_rows(f: Function, secured: list[str]) -> bool:
    ret = (f.returns or "").removeprefix("SETOF ")
    return f.kind == "function" and (
        ret in secured or any(d.removeprefix("rel:") in secured for d in f.depends_on)
    )


def _sequences(schema: Schema, secured: list[str]) -> list[str]:
    """Sequences the secured tables draw from: owned by one, or named in a column default."""
    out: list[str] = []
    defaults = " ".join(
        c.default or "" for t in schema.tables if t.qualified in secured for c in t.columns
    )
    for s in schema.sequences:
        owner = (s.owned_by or "").rsplit(".", 1)[0]
        if owner in secured or f"'{s.schema}.{s.name}'" in defaults or f"'{s.name}'" in defaults:
            out.append(f"{s.schema}.{s.name}")
    return out


def _free_sequences(schema: Schema, seqs: list[str]) -> list[Sequence]:
    return [s for s in schema.sequences if f"{s.schema}.{s.name}" in seqs and not s.owned_by]


def qname(qualified: str) -> str:
    """schema.name as the catalog prints it in grants (each part quoted when needed)."""
    schema, _, name = qualified.rpartition(".")
    return f"{_q(schema)}.{_q(name)}" if schema else _q(name)


def _grants(
    schema: Schema,
    roles: RoleNames,
    secured: list[str],
    root: Table | None,
    views: list[str],
    seqs: list[str],
    exposing: list[str],
    spaces: list[str],
) -> list[Grant]:
    """Least privilege: the application role reads and writes tenant rows (the tenants table
    only read), the read-only role reads, the admin role reads and writes everything; PUBLIC
    loses what it had on the secured objects. The owner role owns, so needs no grant."""
    objects = {qname(q) for q in [*secured, *views, *seqs]}
    objects |= {f"{qname(f.rsplit('(', 1)[0])}({f.rsplit('(', 1)[1]}" for f in exposing}
    out = [
        g
        for g in schema.grants
        if not (g.grantee == "PUBLIC" and g.object in objects and g.object_type != "schema")
    ]

    def grant(kind: str, obj: str, role: str, *privs: str) -> None:
        out.extend(Grant(object_type=kind, object=obj, grantee=role, privilege=p) for p in privs)

    for q in secured:
        writes = WRITE if root is None or q != root.qualified else ("SELECT",)
        grant("table", qname(q), roles.app, *writes)
        grant("table", qname(q), roles.readonly, "SELECT")
        grant("table", qname(q), roles.admin, *WRITE)
    for q in views:
        for r in (roles.app, roles.readonly, roles.admin):
            grant("table", qname(q), r, "SELECT")
    for q in seqs:
        grant("sequence", qname(q), roles.app, "USAGE")
        grant("sequence", qname(q), roles.admin, "USAGE")
    for f in exposing:
        name, _, args = f.partition("(")
        for r in (roles.app, roles.readonly, roles.admin):
            grant("function", f"{qname(name)}({args}", r, "EXECUTE")
    for s in spaces:
        for r in (roles.app, roles.readonly, roles.admin):
            grant("schema", _q(s), r, "USAGE")
        grant("schema", _q(s), roles.owner, "USAGE", "CREATE")
    return out


def _defaults(roles: RoleNames, spaces: list[str]) -> list[DefaultPrivilege]:
    """What the owner role creates later in these schemas gets the same grants (the policies
    still have to be written: a new table without RLS is what the audit reports)."""
    out: list[DefaultPrivilege] = []
    for s in spaces:
        for p in WRITE:
            for r in (roles.app, roles.admin):
                out.append(
                    DefaultPrivilege(
                        role=roles.owner, object_type="tables", grantee=r, privilege=p, schema=s
                    )
                )
        out.append(
            DefaultPrivilege(
                role=roles.owner,
                object_type="tables",
                grantee=roles.readonly,
                privilege="SELECT",
                schema=s,
            )
        )
        for r in (roles.app, roles.admin):
            out.append(
                DefaultPrivilege(
                    role=roles.owner,
                    object_type="sequences",
                    grantee=r,
                    privilege="USAGE",
                    schema=s,
                )
            )
    return out
