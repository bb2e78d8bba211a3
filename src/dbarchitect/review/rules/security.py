"""Security, row level security (PostgreSQL): tenant tables, policies, views that bypass them.

What these rules know about PostgreSQL: permissive policies combine with OR, table owners bypass
RLS unless it is FORCEd, views run with their owner's rights unless `security_invoker`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from dbarchitect.model import Column, Policy, Table, View
from dbarchitect.review.context import ReviewContext, object_name
from dbarchitect.review.finding import Hit
from dbarchitect.review.registry import rule

# SECURITY DEFINER, grant and extension rules live in their own module; importing registers them.
from dbarchitect.review.rules import security_privileges as security_privileges

PG = ("postgres",)
DEFAULT_TENANT_COLUMNS = (
    "tenant_id",
    "org_id",
    "organization_id",
    "account_id",
    "workspace_id",
    "team_id",
)
# Roles that are expected to see everything: superusers and the platform's service roles.
_ADMIN_ROLE = re.compile(
    r"^(postgres|service_role|supabase_admin|rds_superuser|azure_superuser|cloudsqlsuperuser)$"
    r"|admin",
    re.IGNORECASE,
)
_TRUE_EXPRESSIONS = frozenset({"true", "1=1", "'t'::boolean", "'true'::boolean"})
_TRUTHY = frozenset({"true", "on", "1", "yes"})


def _names(ctx: ReviewContext, key: str, default: tuple[str, ...]) -> frozenset[str]:
    """A comma-separated list from `[review.naming]`, or the default."""
    raw = ctx.config.naming.get(key)
    if raw is None:
        return frozenset(default)
    return frozenset(x.strip().lower() for x in raw.split(",") if x.strip())


def _tenant_column(ctx: ReviewContext, table: Table) -> Column | None:
    names = _names(ctx, "tenant-column", DEFAULT_TENANT_COLUMNS)
    return next((c for c in table.columns if c.name.lower() in names), None)


def _is_admin(ctx: ReviewContext, role: str) -> bool:
    configured = ctx.config.naming.get("admin-roles")
    if configured is not None:
        return role.lower() in _names(ctx, "admin-roles", ())
    return bool(_ADMIN_ROLE.search(role))


def _isolation_policy(ctx: ReviewContext, table: Table, column: Column) -> str:
    """A tenant isolation policy keyed on a per-transaction setting (SET LOCAL app.tenant_id)."""
    expr = f"{ctx.quote(column.name)} = current_setting('app.tenant_id', true)::{column.type}"
    return (
        f"CREATE POLICY tenant_isolation ON {ctx.qname(table)} USING ({expr}) WITH CHECK ({expr});"
    )


def _policies(n: int) -> str:
    return f"{n} policy" if n == 1 else f"{n} policies"


def _table_obj(table: Table) -> str:
    return object_name(table.schema, table.name)


@rule(
    id="tenant-table-without-rls",
    title="Tenant table without row level security",
    family="security",
    severity="error",
    problem="""
The table has a tenant column (tenant_id, org_id, account_id…) but row level security is not
enabled, so isolation between tenants rests entirely on every query of every client remembering
its WHERE clause. One forgotten filter, one ad-hoc query through an API role, and a tenant reads
or changes another tenant's rows.
""",
    solution="""
Enable row level security and add a policy that restricts rows to the current tenant, with a
WITH CHECK so rows cannot be written into another tenant. Set the tenant per transaction
(`SET LOCAL`), never per session, when connections are pooled. The tenant column names are
configurable: `[review.naming] tenant-column = "tenant_id, org_id"`.
""",
    example="""
ALTER TABLE orders ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON orders
  USING (tenant_id = current_setting('app.tenant_id', true)::bigint)
  WITH CHECK (tenant_id = current_setting('app.tenant_id', true)::bigint);
""",
    engines=PG,
)
def tenant_table_without_rls(ctx: ReviewContext) -> Iterator[Hit]:
    for t in ctx.tables:
        col = _tenant_column(ctx, t)
        if col is None or t.rls_enabled:
            continue
        yield Hit(
            kind="table",
            object=_table_obj(t),
            message=f"table {t.qualified} has tenant column {col.name} but row level "
            "security is not enabled",
            fix=f"ALTER TABLE {ctx.qname(t)} ENABLE ROW LEVEL SECURITY;\n"
            + _isolation_policy(ctx, t, col),
        )


@rule(
    id="rls-enabled-without-policies",
    title="Row level security enabled without any policy",
    family="security",
    severity="error",
    problem="""
With row level security enabled and no policy, every role except the owner and roles with
BYPASSRLS sees no rows and can write none. The application either fails, or works only because
it connects as the owner, which bypasses RLS: in both cases the protection is not what was meant.
""",
    solution="Add the policies that say who may see and change which rows, or disable RLS.",
    example="""
CREATE POLICY own_rows ON notes USING (owner_id = current_setting('app.user_id')::int);
""",
    engines=PG,
)
def rls_enabled_without_policies(ctx: ReviewContext) -> Iterator[Hit]:
    for t in ctx.tables:
        if not t.rls_enabled or t.policies:
            continue
        col = _tenant_column(ctx, t)
        yield Hit(
            kind="table",
            object=_table_obj(t),
            message=f"table {t.qualified} has row level security enabled but no policy: only "
            "its owner and BYPASSRLS roles can read or write it",
            fix=_isolation_policy(ctx, t, col) if col else None,
        )


@rule(
    id="policy-without-rls-enabled",
    title="Policies on a table without row level security",
    family="security",
    severity="error",
    problem="""
Policies exist on the table but row level security is not enabled on it, so PostgreSQL ignores
them: every role with a table privilege sees and changes every row. The schema reads as
protected while it is not.
""",
    solution="Enable row level security on the table (or drop the policies if they are obsolete).",
    example="ALTER TABLE documents ENABLE ROW LEVEL SECURITY;",
    engines=PG,
)
def policy_without_rls_enabled(ctx: ReviewContext) -> Iterator[Hit]:
    for t in ctx.tables:
        if t.policies and not t.rls_enabled:
            names = ", ".join(p.name for p in t.policies)
            yield Hit(
                kind="table",
                object=_table_obj(t),
                message=f"table {t.qualified} has {_policies(len(t.policies))} ({names}) but row "
                "level security is not enabled, so none applies",
                fix=f"ALTER TABLE {ctx.qname(t)} ENABLE ROW LEVEL SECURITY;",
            )


def _always_true(expr: str | None) -> bool:
    if expr is None:
        return False
    text = re.sub(r"\s+", "", expr).lower()
    while text.startswith("(") and text.endswith(")"):
        text = text[1:-1]
    return text in _TRUE_EXPRESSIONS


def _true_clauses(p: Policy) -> list[str]:
    return [
        name
        for name, expr in (("USING", p.using), ("WITH CHECK", p.with_check))
        if _always_true(expr)
    ]


@rule(
    id="always-true-policy",
    title="Permissive policy that lets every row through",
    family="security",
    severity="warning",
    problem="""
Permissive policies are combined with OR: one whose USING or WITH CHECK is `true` opens the whole
table to the roles it names, whatever the other policies say. On a write command that lets any
such role insert, change or delete any row, including other tenants' rows; on reads of a tenant
table it undoes tenant isolation.
""",
    solution="""
Write the real condition (ownership, tenant) into the policy, or limit it to an administrative
role. Public read access to reference data (SELECT USING true on a table without a tenant column)
is not reported. Roles treated as administrative are configurable:
`[review.naming] admin-roles = "service_role, admin"`.
""",
    example="""
ALTER POLICY edit_all ON notes USING (owner_id = current_setting('app.user_id')::int);
""",
    engines=PG,
)
def always_true_policy(ctx: ReviewContext) -> Iterator[Hit]:
    for t in ctx.tables:
        tenant = _tenant_column(ctx, t)
        for p in t.policies:
            clauses = _true_clauses(p)
            if not p.permissive or not clauses:
                continue
            if all(_is_admin(ctx, r) for r in p.roles):
                continue
            # Public read access to reference data is a deliberate, common pattern.
            if p.command == "SELECT" and tenant is None:
                continue
            roles = ", ".join(p.roles)
            fix = None
            if tenant is not None:
                expr = f"{ctx.quote(tenant.name)} = current_setting('app.tenant_id', true)::"
                expr += tenant.type
                parts = []
                if p.command != "INSERT":
                    parts.append(f"USING ({expr})")
                if p.command != "SELECT" and p.command != "DELETE":
                    parts.append(f"WITH CHECK ({expr})")
                fix = f"ALTER POLICY {ctx.quote(p.name)} ON {ctx.qname(t)} {' '.join(parts)};"
            yield Hit(
                kind="policy",
                object=object_name(t.schema, t.name, p.name),
                message=f"policy {p.name} on {t.qualified} ({p.command}, to {roles}) has "
                f"{' and '.join(clauses)} true: it grants every row",
                fix=fix,
            )


@rule(
    id="rls-not-forced",
    title="Row level security not forced on the owner",
    family="security",
    severity="info",
    problem="""
Row level security does not apply to the table's owner unless it is FORCEd. Applications often
connect as the role that ran the migrations, which owns the tables: their queries then bypass
every policy, and tests run that way prove nothing about isolation.
""",
    solution="""
Force row level security, or make sure the application connects as a role that does not own
the tables (and is neither superuser nor BYPASSRLS).
""",
    example="ALTER TABLE orders FORCE ROW LEVEL SECURITY;",
    engines=PG,
)
def rls_not_forced(ctx: ReviewContext) -> Iterator[Hit]:
    for t in ctx.tables:
        if t.rls_enabled and t.policies and not t.rls_forced:
            yield Hit(
                kind="table",
                object=_table_obj(t),
                message=f"table {t.qualified} has row level security but does not force it: "
                "its owner bypasses every policy",
                fix=f"ALTER TABLE {ctx.qname(t)} FORCE ROW LEVEL SECURITY;",
            )


def _rls_reached(views: dict[str, View], view: View, rls: set[str]) -> list[str]:
    """The RLS tables `view` reads, directly or through other views: a view nested in one that
    runs as its owner is checked with that owner's rights too, whatever its own setting."""
    seen: set[str] = set()
    found: set[str] = set()
    todo = list(view.depends_on)
    while todo:
        key = todo.pop()
        if key in seen:
            continue
        seen.add(key)
        if key in rls:
            found.add(key.removeprefix("rel:"))
        elif key in views:
            todo.extend(views[key].depends_on)
    return sorted(found)


def _invoker(view: View) -> bool:
    return any(k == "security_invoker" and v.lower() in _TRUTHY for k, v in view.options)


@rule(
    id="view-bypasses-rls",
    title="View reads a row level security table with its owner's rights",
    family="security",
    severity="warning",
    problem="""
A view runs its query with the privileges of the view's owner, not of the user querying it,
unless it is created with `security_invoker` (PostgreSQL 15+). When the owner owns the table
below, or is a superuser or BYPASSRLS role, the table's row level security policies are skipped:
the view shows every tenant's rows to whoever may select from it. A materialized view stores
the rows it read and applies no policy at all.
""",
    solution="""
Make the view `security_invoker` so the caller's policies apply, or move the filtering into the
view and restrict who may select from it. Do not expose a materialized view of an RLS table
to the roles the policies restrict.
""",
    example="ALTER VIEW order_summary SET (security_invoker = true);",
    engines=PG,
)
def view_bypasses_rls(ctx: ReviewContext) -> Iterator[Hit]:
    rls = {f"rel:{t.schema}.{t.name}" for t in ctx.schema.tables if t.rls_enabled}
    if not rls:
        return
    views = {f"rel:{v.schema}.{v.name}": v for v in ctx.schema.views}
    for v in ctx.schema.views:
        if not v.materialized and _invoker(v):
            continue
        reached = _rls_reached(views, v, rls)
        if not reached:
            continue
        tables = ", ".join(reached)
        have = "has" if len(reached) == 1 else "have"
        name = f"{ctx.quote(v.schema)}.{ctx.quote(v.name)}"
        if v.materialized:
            message = (
                f"materialized view {v.qualified} stores rows of {tables}, which {have} row "
                "level security; no policy applies to the stored rows"
            )
            fix = None
        else:
            message = (
                f"view {v.qualified} reads {tables}, which {have} row level security, with its "
                "owner's rights (no security_invoker)"
            )
            fix = f"ALTER VIEW {name} SET (security_invoker = true);"
        yield Hit(kind="view", object=object_name(v.schema, v.name), message=message, fix=fix)
