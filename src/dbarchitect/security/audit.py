"""`dbarch secure audit`: every way tenant data leaks or moves, per object, with the fix.

The review's security rules run first, unchanged, where they already cover a hole (a tenant
table without RLS, always-true policies, views over RLS tables, SECURITY DEFINER search_path,
grants to PUBLIC…). The audit adds what needs the tenancy or the catalog: who the application
role is and what it owns or may become, how policies combine per command, materialized views,
sequences, unique and foreign keys. Without catalog facts (SQL files) only the checks that
read the schema alone run.
"""

from __future__ import annotations

from dataclasses import replace

from dbarchitect.dialects import get_dialect
from dbarchitect.dialects.postgres.security import SecurityFacts, collect_facts
from dbarchitect.engines.url import DatabaseURL, parse_url
from dbarchitect.errors import InputError
from dbarchitect.model import Schema
from dbarchitect.review import ReviewConfig, review
from dbarchitect.review.finding import Finding
from dbarchitect.security.audit_context import AuditContext
from dbarchitect.security.audit_objects import (
    definer_checks,
    key_checks,
    matview_checks,
    role_checks,
    sequence_checks,
)
from dbarchitect.security.audit_policies import indirect_checks, policy_checks
from dbarchitect.security.audit_rules import SECURE_RULES, report_rules
from dbarchitect.security.tenancy import DEFAULT_SETTING, Tenancy, find_tenancy

# The review rules the audit reuses as they are.
REUSED_RULES = frozenset(
    {
        "tenant-table-without-rls",
        "rls-enabled-without-policies",
        "policy-without-rls-enabled",
        "always-true-policy",
        "rls-not-forced",
        "view-bypasses-rls",
        "security-definer-without-search-path",
        "security-definer-executable-by-public",
        "grant-to-public",
    }
)


def _postgres_only(dialect: str) -> None:
    if dialect != "postgres":
        raise InputError(f"secure audit is available for PostgreSQL only, not {dialect}")


def audit(
    schema: Schema, facts: SecurityFacts | None, tenancy: Tenancy, *, app_role: str | None
) -> list[Finding]:
    """Every finding on `schema` for the tenancy, most severe first.

    `facts` are the catalog facts of a live database (None for SQL files: then only the
    schema-level checks run). `app_role` is the role the application connects as; with facts
    it defaults to the connected user."""
    _postgres_only(schema.dialect)
    app = app_role if app_role is not None else (facts.current_user if facts else None)
    if facts is not None and app is not None and app not in facts.roles:
        raise InputError(f"application role {app!r} does not exist in the database")
    ctx = AuditContext(schema=schema, facts=facts, tenancy=tenancy, app=app if facts else None)
    config = ReviewConfig(only=REUSED_RULES, naming={"tenant-column": tenancy.column})
    found: list[Finding] = []
    for f in review(schema, config):
        adjusted = _adjust(ctx, f)
        if adjusted is not None:
            found.append(adjusted)
    for check in (
        role_checks,
        policy_checks,
        indirect_checks,
        definer_checks,
        matview_checks,
        sequence_checks,
        key_checks,
    ):
        found.extend(check(ctx))
    unique = {(f.rule, f.kind, f.object): f for f in found}
    return sorted(unique.values(), key=Finding.sort_key)


def _adjust(ctx: AuditContext, f: Finding) -> Finding | None:
    """A reused finding in the light of the facts: rls-not-forced is an error when the
    application role owns the table; a materialized view is judged by matview_checks, which
    knows who may read it."""
    if f.rule == "view-bypasses-rls" and ctx.facts is not None:
        view = ctx.schema.view(f.object)
        if view is not None and view.materialized:
            return None
    if f.rule == "rls-not-forced" and ctx.facts is not None and ctx.app is not None:
        rel = ctx.relation(f.object)
        if rel is not None and ctx.facts.acts_as_owner(ctx.app, rel):
            who = "owns it" if rel.owner == ctx.app else f"has the rights of its owner {rel.owner}"
            return replace(
                f,
                severity="error",
                message=f"{f.message}; the application role {ctx.app} {who}, so no policy "
                "applies to it",
            )
    return f


def audit_schema(
    schema: Schema, *, tenant_column: str | None = None, setting: str = DEFAULT_SETTING
) -> list[Finding]:
    """The schema-level audit (SQL files, JSON): no roles, owners or privileges known."""
    _postgres_only(schema.dialect)
    return audit(schema, None, find_tenancy(schema, tenant_column, setting=setting), app_role=None)


def audit_url(
    url: DatabaseURL | str,
    *,
    tenant_column: str | None = None,
    app_role: str | None = None,
    setting: str = DEFAULT_SETTING,
) -> list[Finding]:
    """The full audit of a live database, read through one read-only session. `app_role`
    defaults to the connected user."""
    parsed = parse_url(url) if isinstance(url, str) else url
    _postgres_only(parsed.dialect)
    d = get_dialect(parsed.dialect)
    with d.engine().connect(parsed, read_only=True) as session:
        schema = d.introspect(session, None)
        facts = collect_facts(session)
    tenancy = find_tenancy(schema, tenant_column, setting=setting)
    return audit(schema, facts, tenancy, app_role=app_role)


__all__ = [
    "REUSED_RULES",
    "SECURE_RULES",
    "audit",
    "audit_schema",
    "audit_url",
    "collect_facts",
    "report_rules",
]
