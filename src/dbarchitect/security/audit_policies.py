"""Audit checks on row level security policies, per command, as PostgreSQL combines them:
permissive policies OR-ed, restrictive ones AND-ed, and USING standing in for a missing
WITH CHECK on ALL and UPDATE policies."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from dbarchitect.dialects.postgres.quoting import quote
from dbarchitect.model import Policy, Table
from dbarchitect.review.context import object_name
from dbarchitect.review.finding import Finding
from dbarchitect.security.audit_context import AuditContext, table_sql
from dbarchitect.security.audit_policy import Verdict, judge

Side = Literal["USING", "WITH CHECK"]
COMMANDS = ("SELECT", "INSERT", "UPDATE", "DELETE")
_SIDES: dict[str, tuple[Side, ...]] = {
    "SELECT": ("USING",),
    "INSERT": ("WITH CHECK",),
    "UPDATE": ("USING", "WITH CHECK"),
    "DELETE": ("USING",),
}


def _clause(p: Policy, side: Side) -> str | None:
    if side == "USING":
        return p.using
    if p.with_check is None and p.command in ("ALL", "UPDATE"):
        return p.using  # what PostgreSQL checks new rows against
    return p.with_check


def _policy_obj(t: Table, p: Policy) -> str:
    return object_name(t.schema, t.name, p.name)


def policy_checks(ctx: AuditContext) -> Iterator[Finding]:
    """Permissive holes, checks that ignore the tenant, wildcards, uncovered commands."""
    tables = [t for t in ctx.tenancy.tables if t.rls_enabled]
    tables += [i.table for i in ctx.tenancy.indirect if i.table.rls_enabled]
    for t in tables:
        yield from _table(ctx, t)


def _table(ctx: AuditContext, t: Table) -> Iterator[Finding]:
    if not t.policies:
        return  # rls-enabled-without-policies reports it
    hits: dict[tuple[str, str], list[tuple[str, Side, Verdict]]] = {}
    policies = {p.name: p for p in t.policies}
    uncovered: list[str] = []
    for cmd in COMMANDS:
        applying = [p for p in t.policies if p.command in (cmd, "ALL") and ctx.applies(p)]
        permissive = [p for p in applying if p.permissive]
        if not permissive:
            if ctx.granted(t.qualified, cmd) and not ctx.exempt(t):
                uncovered.append(cmd)
            continue
        for side in _SIDES[cmd]:
            closed = any(
                judge(_clause(p, side), ctx.tenancy.column, ctx.secured_tenant_names) == "yes"
                for p in applying
                if not p.permissive
            )
            if closed:
                continue
            for p in permissive:
                v = judge(_clause(p, side), ctx.tenancy.column, ctx.secured_tenant_names)
                if v in ("yes", "true"):  # always-true-policy reports literal true
                    continue
                if v == "wildcard":
                    rule = "secure-policy-wildcard"
                elif side == "USING":
                    rule = "secure-permissive-policy-hole"
                else:
                    rule = "secure-with-check-not-tenant"
                hits.setdefault((rule, p.name), []).append((cmd, side, v))
    for (rule, name), where in sorted(hits.items()):
        yield _policy_finding(ctx, t, policies[name], rule, where)
    if uncovered:
        cmds = ", ".join(uncovered)
        who = f"role {ctx.app}" if ctx.app else "the application"
        yield ctx.finding(
            "secure-command-uncovered",
            "table",
            object_name(t.schema, t.name),
            f"table {t.qualified}: {cmds} allowed to {who} by grants but covered by no "
            "policy, so denied",
            _uncovered_fix(ctx, t, uncovered),
        )


def _condition(ctx: AuditContext, t: Table) -> str:
    """The tenant condition for a tenant table, or the join to the parent for an indirect
    one."""
    if t.column(ctx.tenancy.column) is not None:
        return ctx.tenant_check(t)
    via = next(i for i in ctx.tenancy.indirect if i.table.qualified == t.qualified)
    pairs = " AND ".join(
        f"p.{quote(r)} = {quote(t.name)}.{quote(c)}"
        for c, r in zip(via.via.columns, via.via.ref_columns, strict=True)
    )
    return f"EXISTS (SELECT 1 FROM {table_sql(via.parent)} p WHERE {pairs})"


def _policy_finding(
    ctx: AuditContext, t: Table, p: Policy, rule: str, where: list[tuple[str, Side, Verdict]]
) -> Finding:
    cmds = ", ".join(sorted({c for c, _, _ in where}, key=COMMANDS.index))
    sides = sorted({s for _, s, _ in where})
    cond = _condition(ctx, t)
    if rule == "secure-policy-wildcard":
        why = "matches every row when the tenant setting is missing, NULL or a pattern"
    elif rule == "secure-permissive-policy-hole":
        why = "lets rows through without constraining the tenant, OR-ed with the other policies"
    else:
        why = "lets rows be written for another tenant (its check ignores the tenant)"
    clauses = []
    if "USING" in sides and p.command != "INSERT":
        clauses.append(f"USING ({cond})")
    if p.command not in ("SELECT", "DELETE"):
        clauses.append(f"WITH CHECK ({cond})")
    fix = f"ALTER POLICY {quote(p.name)} ON {table_sql(t)} {' '.join(clauses)};"
    if rule == "secure-permissive-policy-hole":
        fix += "\n-- or keep it and add the tenant with a restrictive policy:\n" + (
            f"CREATE POLICY tenant_only ON {table_sql(t)} AS RESTRICTIVE USING ({cond});"
        )
    return ctx.finding(
        rule,
        "policy",
        _policy_obj(t, p),
        f"policy {p.name} on {t.qualified} ({p.command}; {' and '.join(sides)} for {cmds}) {why}",
        fix,
    )


def _uncovered_fix(ctx: AuditContext, t: Table, cmds: list[str]) -> str:
    cond = _condition(ctx, t)
    lines = []
    for cmd in cmds:
        clause = {
            "INSERT": f"WITH CHECK ({cond})",
            "UPDATE": f"USING ({cond}) WITH CHECK ({cond})",
        }.get(cmd, f"USING ({cond})")
        name = quote(f"tenant_{cmd.lower()}")
        lines.append(f"CREATE POLICY {name} ON {table_sql(t)} FOR {cmd} {clause};")
    who = quote(ctx.app) if ctx.app else "<application role>"
    lines.append(f"-- or: REVOKE {', '.join(cmds)} ON {table_sql(t)} FROM {who};")
    return "\n".join(lines)


def indirect_checks(ctx: AuditContext) -> Iterator[Finding]:
    """Indirect tenant tables (no tenant column) with no row level security at all."""
    for i in ctx.tenancy.indirect:
        t = i.table
        if t.rls_enabled:
            continue  # their policies are judged like a tenant table's
        sql = table_sql(t)
        cond = _condition(ctx, t)
        yield ctx.finding(
            "secure-indirect-without-policy",
            "table",
            object_name(t.schema, t.name),
            f"table {t.qualified} belongs to tenants through {i.via.name} → "
            f"{i.parent.qualified} but has no row level security: every tenant reads it",
            f"ALTER TABLE {sql} ENABLE ROW LEVEL SECURITY;\n"
            f"ALTER TABLE {sql} FORCE ROW LEVEL SECURITY;\n"
            f"CREATE POLICY via_parent ON {sql} USING ({cond}) WITH CHECK ({cond});",
        )


__all__ = ["indirect_checks", "policy_checks"]
