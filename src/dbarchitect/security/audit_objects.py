"""Audit checks on objects around the policies: the application role itself, SECURITY
DEFINER functions, materialized views, sequences, unique keys and foreign keys."""

from __future__ import annotations

import re
from collections.abc import Iterator

from dbarchitect.dialects.postgres.quoting import qname, quote
from dbarchitect.model import Column, Function, Table
from dbarchitect.review.context import object_name
from dbarchitect.review.finding import Finding, Severity
from dbarchitect.security.audit_context import AuditContext, table_sql

_NEXTVAL = re.compile(r"nextval\('(?:\"?([^.'\"]+)\"?\.)?\"?([^'\"]+)\"?'")
# A body that looks at who is calling filters by it, by design (Supabase's auth.uid()).
_CALLER = re.compile(r"auth\.uid\(|current_user|session_user|current_setting\(", re.I)
_GENERATED_KEY = re.compile(r"nextval\(|gen_random_uuid\(|uuid_generate_v|uuidv7\(", re.I)


def role_checks(ctx: AuditContext) -> Iterator[Finding]:
    """The application role, or a role it may SET ROLE to, is superuser or BYPASSRLS."""
    if ctx.facts is None or ctx.app is None:
        return
    app = ctx.facts.role(ctx.app)
    # A superuser may become any role: the roles it could SET ROLE to add nothing.
    reachable = {app.name} if app.superuser else app.can_become
    for name in sorted(reachable):
        r = ctx.facts.role(name)
        attrs = [a for a, on in (("SUPERUSER", r.superuser), ("BYPASSRLS", r.bypassrls)) if on]
        if not attrs:
            continue
        if name == ctx.app:
            message = f"the application role {name} has {' and '.join(attrs)}: no policy applies"
            fix = f"ALTER ROLE {quote(name)} NO{' NO'.join(attrs)};"
        else:
            message = (
                f"the application role {ctx.app} may SET ROLE {name}, which has "
                f"{' and '.join(attrs)}: one statement turns every policy off"
            )
            fix = f"REVOKE {quote(name)} FROM {quote(ctx.app)};"
        yield ctx.finding("secure-app-role-bypasses-rls", "role", name, message, fix)


def _reads_tenant_tables(ctx: AuditContext, f: Function) -> list[str]:
    found = {d.removeprefix("rel:") for d in f.depends_on} & ctx.tenant_names
    for qualified in ctx.tenant_names:
        name = qualified.rsplit(".", 1)[-1]
        if re.search(rf"(?<![\w.]){re.escape(name)}\b|\b{re.escape(qualified)}\b", f.body):
            found.add(qualified)
    return sorted(found)


def _returns_rows(ctx: AuditContext, f: Function) -> bool:
    text = (f.returns or "").lower()
    if text.startswith(("setof", "table")):
        return True
    return any(text == q or text.endswith(f".{q.rsplit('.', 1)[-1]}") for q in ctx.tenant_names)


def definer_checks(ctx: AuditContext) -> Iterator[Finding]:
    """SECURITY DEFINER functions returning rows of tenant tables the caller may run."""
    for f in ctx.schema_functions:
        if not f.security_definer or f.kind != "function" or not _returns_rows(ctx, f):
            continue
        tables = _reads_tenant_tables(ctx, f)
        if not tables:
            continue
        key = f"{f.schema}.{f.name}({f.identity})"
        facts = ctx.facts.functions.get(key) if ctx.facts else None
        severity: Severity = "warning"
        owner_note = ""
        if facts is not None and ctx.facts is not None:
            if ctx.app is not None and not ctx.facts.may(ctx.app, facts, "EXECUTE"):
                continue
            if ctx.facts.bypasses_rls(facts.owner) or any(
                _owner_bypasses(ctx, facts.owner, q) for q in tables
            ):
                severity = "error"
                owner_note = f"; its owner {facts.owner} bypasses their row level security"
        if _CALLER.search(f.body):
            severity = "warning"
            owner_note += "; it filters by the caller inside (check that it keeps tenants apart)"
        sig = f"{qname(f.schema, f.name)}({f.identity})"
        yield ctx.finding(
            "secure-definer-returns-tenant-rows",
            "function",
            object_name(f.schema, f"{f.name}({f.identity})"),
            f"SECURITY DEFINER function {f.signature} returns {f.returns} read from "
            f"{', '.join(tables)} with its owner's rights{owner_note}",
            f"ALTER FUNCTION {sig} SECURITY INVOKER;",
            severity=severity,
        )


def _owner_bypasses(ctx: AuditContext, owner: str, qualified: str) -> bool:
    t = next((x for x in ctx.schema_tables if x.qualified == qualified), None)
    rel = ctx.relation(qualified)
    if t is None or rel is None or ctx.facts is None:
        return False
    return not t.rls_enabled or (not t.rls_forced and ctx.facts.acts_as_owner(owner, rel))


def matview_checks(ctx: AuditContext) -> Iterator[Finding]:
    """Materialized views over tenant tables that the application role may read (without
    facts, view-bypasses-rls reports them)."""
    if ctx.facts is None:
        return
    views = {f"rel:{v.schema}.{v.name}": v for v in ctx.schema_views}
    for v in ctx.schema_views:
        if not v.materialized:
            continue
        seen: set[str] = set()
        todo = list(v.depends_on)
        reached: set[str] = set()
        while todo:
            key = todo.pop()
            if key in seen:
                continue
            seen.add(key)
            if key.removeprefix("rel:") in ctx.tenant_names:
                reached.add(key.removeprefix("rel:"))
            elif key in views:
                todo.extend(views[key].depends_on)
        if not reached or not ctx.granted(f"{v.schema}.{v.name}", "SELECT"):
            continue
        who = quote(ctx.app) if ctx.app else "<application role>"
        yield ctx.finding(
            "secure-matview-exposes-tenants",
            "view",
            object_name(v.schema, v.name),
            f"materialized view {v.qualified} stores rows of {', '.join(sorted(reached))} "
            f"for every tenant and {ctx.app or 'the application'} may select from it",
            f"REVOKE ALL ON {qname(v.schema, v.name)} FROM {who};",
        )


def sequence_checks(ctx: AuditContext) -> Iterator[Finding]:
    """Sequences feeding tenant tables that the application role may read or advance."""
    if ctx.facts is None or ctx.app is None:
        return
    users: dict[str, set[str]] = {}
    for t in ctx.tenancy.tables:
        for c in t.columns:
            m = _NEXTVAL.search(c.default or "")
            if m:
                seq = f"{m.group(1) or t.schema}.{m.group(2)}"
                users.setdefault(seq, set()).add(t.qualified)
    for s in ctx.schema_sequences:
        owner_table = (s.owned_by or "").rsplit(".", 1)[0]
        if owner_table in ctx.tenant_names:
            users.setdefault(f"{s.schema}.{s.name}", set()).add(owner_table)
    for seq, tables in sorted(users.items()):
        rel = ctx.relation(seq)
        if rel is None:
            continue
        privs = [p for p in ("USAGE", "SELECT", "UPDATE") if ctx.facts.may(ctx.app, rel, p)]
        if not privs:
            continue
        schema, _, name = seq.partition(".")
        yield ctx.finding(
            "secure-sequence-shared",
            "sequence",
            seq,
            f"sequence {seq} numbers rows of {', '.join(sorted(tables))} for every tenant and "
            f"{ctx.app} has {', '.join(privs)} on it: its values tell how many rows other "
            "tenants insert",
            f"REVOKE ALL ON SEQUENCE {qname(schema, name)} FROM {quote(ctx.app)};\n"
            "-- then number the column with an identity (no sequence privilege needed) "
            "or a uuid default",
        )


def _surrogate(t: Table, names: tuple[str, ...]) -> bool:
    cols = [t.column(n) for n in names]
    return all(c is not None and _generated(c) for c in cols)


def _generated(c: Column) -> bool:
    return c.identity is not None or bool(_GENERATED_KEY.search(c.default or ""))


def _writable(ctx: AuditContext, t: Table) -> bool:
    """Whether the application may insert or update rows of `t` at all."""
    exempt = ctx.exempt(t)
    for cmd in ("INSERT", "UPDATE"):
        if not ctx.granted(t.qualified, cmd):
            continue
        if (
            exempt
            or not t.rls_enabled
            or any(
                p.permissive and p.command in (cmd, "ALL") and ctx.applies(p) for p in t.policies
            )
        ):
            return True
    return False


def key_checks(ctx: AuditContext) -> Iterator[Finding]:
    """Unique keys not scoped by tenant; foreign keys to tenant tables without the tenant."""
    col = ctx.tenancy.column
    tenant_tables = {t.qualified: t for t in ctx.tenancy.tables}
    for t in ctx.tenancy.tables:
        if not _writable(ctx, t):
            continue  # the constraint never runs for the application: RLS refuses first
        sql = table_sql(t)
        keys: list[tuple[str, tuple[str, ...], bool]] = [
            (u.name, u.columns, True) for u in t.uniques
        ]
        names = {k[0] for k in keys} | ({t.primary_key.name} if t.primary_key else set())
        keys += [
            (i.name, tuple(k.column for k in i.keys), False)
            for i in t.indexes
            if i.unique and i.name not in names and not any(k.expression for k in i.keys)
        ]
        if t.primary_key is not None:
            keys.append((t.primary_key.name, t.primary_key.columns, True))
        # An oracle tells nothing to a role that reads every row anyway.
        oracle = not ctx.exempt(t)
        for name, columns, constraint in keys:
            if not oracle or col in columns or _surrogate(t, columns):
                continue
            new = ", ".join(quote(c) for c in (col, *columns))
            if constraint:
                fix = (
                    f"ALTER TABLE {sql} DROP CONSTRAINT {quote(name)}, "
                    f"ADD CONSTRAINT {quote(name)} UNIQUE ({new});"
                )
            else:
                fix = (
                    f"DROP INDEX {qname(t.schema, name)};\n"
                    f"CREATE UNIQUE INDEX {quote(name)} ON {sql} ({new});"
                )
            yield ctx.finding(
                "secure-unique-not-tenant-scoped",
                "constraint" if constraint else "index",
                object_name(t.schema, t.name, name),
                f"{name} makes ({', '.join(columns)}) unique across all tenants of "
                f"{t.qualified}: a duplicate-key error reveals another tenant's value",
                fix,
            )
        for fk in t.foreign_keys:
            ref = fk.ref_qualified
            parent = tenant_tables.get(ref)
            if parent is None or col in fk.columns:
                continue
            cols = ", ".join(quote(c) for c in (col, *fk.columns))
            refs = ", ".join(quote(c) for c in (col, *fk.ref_columns))
            psql = table_sql(parent)
            yield ctx.finding(
                "secure-fk-missing-tenant-key",
                "constraint",
                object_name(t.schema, t.name, fk.name),
                f"foreign key {fk.name} of {t.qualified} → {parent.qualified} "
                f"({', '.join(fk.columns)}) does not carry {col}: a row can point at another "
                "tenant's parent, and the key's errors reveal which ids other tenants have",
                f"ALTER TABLE {psql} ADD UNIQUE ({refs});  -- unless such a key exists\n"
                f"ALTER TABLE {sql} DROP CONSTRAINT {quote(fk.name)}, ADD CONSTRAINT "
                f"{quote(fk.name)} FOREIGN KEY ({cols}) REFERENCES {psql} ({refs});",
            )


__all__ = ["definer_checks", "key_checks", "matview_checks", "role_checks", "sequence_checks"]
