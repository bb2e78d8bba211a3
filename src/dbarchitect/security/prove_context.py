"""Who the attacker is in `dbarch secure test`: the test role's privileges and the way a
session becomes tenant A.

The policies say how they read the tenant: `current_setting('app.tenant_id')` → we set that
setting; Supabase/Basejump `auth.uid()` / `request.jwt.claims` → we set the JWT claims to a
user who belongs to A (a row of the membership table, found by its user column). An explicit
template (`{tenant}`, `{user}`) overrides both.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import psycopg

from dbarchitect.dialects.postgres.quoting import literal, qname, quote
from dbarchitect.model import Schema
from dbarchitect.security.prove_seed import Seeding

_SETTING = re.compile(r"current_setting\(\s*'([^']+)'", re.IGNORECASE)


@dataclass(frozen=True)
class Context:
    """How the test session becomes tenant A."""

    how: str  # one line for the report
    statements: tuple[str, ...]  # run in the attacker's transaction, after SET ROLE


def raw(literal_text: str) -> str:
    """The bare value of a `'v'::type` literal."""
    m = re.match(r"^'((?:[^']|'')*)'::", literal_text)
    return m.group(1).replace("''", "'") if m else literal_text


def _texts(schema: Schema, seeding: Seeding) -> tuple[list[str], list[str]]:
    policies = [p.using or "" for t in seeding.tables.values() for p in t.policies] + [
        p.with_check or "" for t in seeding.tables.values() for p in t.policies
    ]
    bodies = [f.body or f.definition or "" for f in schema.functions]
    return policies, bodies


def member_user(seeding: Seeding) -> str | None:
    """A user id that belongs to tenant A: the user column of a membership row (a tenant
    table with a key to a users table), else the first A row of a users table."""
    col = seeding.tenancy.column
    for t in seeding.tenancy.tables:
        if t.column(col) is None:
            continue
        for fk in t.foreign_keys:
            if len(fk.columns) == 1 and "user" in fk.columns[0]:
                rows = seeding.bucket(t.qualified, "A")
                if rows and fk.columns[0] in rows[0]:
                    return rows[0][fk.columns[0]]
    for name, table in seeding.tables.items():
        if table.name.endswith("users") and table.primary_key is not None:
            rows = seeding.bucket(name, "A")
            pk = table.primary_key.columns[0]
            if rows and pk in rows[0]:
                return rows[0][pk]
    return None


def tenant_context(schema: Schema, seeding: Seeding, template: str | None) -> Context:
    """The statements that make the session tenant A (see the module docstring)."""
    tenant = raw(seeding.tenant_value["A"])
    user = member_user(seeding)
    if template:
        sql = template.replace("{tenant}", tenant).replace("{user}", raw(user or ""))
        return Context(how=f"--as-tenant-sql: {sql}", statements=(sql,))
    policies, bodies = _texts(schema, seeding)
    everything = " ".join(policies + bodies)
    in_policies = Counter(m for text in policies for m in _SETTING.findall(text))
    in_bodies = Counter(m for text in bodies for m in _SETTING.findall(text))
    jwt = "auth.uid()" in everything or "auth.jwt()" in everything
    jwt = jwt or any(s.startswith("request.jwt") for s in in_policies | in_bodies)
    if jwt:
        if user is None:
            return Context(how="JWT claims, but no user of tenant A was found", statements=())
        uid = raw(user)
        claims = '{"sub": "' + uid + '", "role": "authenticated"}'
        return Context(
            how=f"JWT claims: user {uid}, a member of tenant A",
            statements=(
                f"SELECT set_config('request.jwt.claims', {literal(claims)}, true)",
                f"SELECT set_config('request.jwt.claim.sub', {literal(uid)}, true)",
            ),
        )
    found = in_policies or in_bodies
    setting = found.most_common(1)[0][0] if found else seeding.tenancy.setting
    return Context(
        how=f"SET LOCAL {setting} = {tenant}",
        statements=(f"SELECT set_config({literal(setting)}, {literal(tenant)}, true)",),
    )


def find_app_role(conn: psycopg.Connection[tuple[object, ...]], tables: list[str]) -> str | None:
    """The role (no superuser, no BYPASSRLS, not the owner) with the most DML grants on
    `tables`."""
    row = conn.execute(
        "SELECT r.rolname FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a"
        " JOIN pg_roles r ON r.oid = a.grantee"
        " WHERE c.oid = ANY(%s::regclass[])"
        " AND a.privilege_type IN ('SELECT','INSERT','UPDATE','DELETE')"
        " AND NOT r.rolsuper AND NOT r.rolbypassrls AND r.rolname NOT LIKE 'pg\\_%%'"
        " AND r.oid <> c.relowner"
        " GROUP BY r.rolname ORDER BY count(*) DESC,"
        # On a tie the administrative roles (which policies often let see everything) lose.
        " (r.rolname ~* '(admin|service|owner|super)') , r.rolname LIMIT 1",
        [tables],
    ).fetchone()
    return str(row[0]) if row else None


def grant_statements(
    role: str, app_role: str | None, seeding: Seeding, schema: Schema, *, as_owner: bool
) -> tuple[list[str], list[str]]:
    """The statements giving the test role its rights, and notes for the report."""
    out: list[str] = []
    notes: list[str] = []
    tables = [qname(t.schema, t.name) for t in seeding.tables.values()]
    if app_role:
        out.append(f"GRANT {quote(app_role)} TO {quote(role)}")
    else:
        notes.append("no application role has DML grants on the tenant tables: granted DML")
        schemas = sorted(
            {t.schema for t in seeding.tables.values()} | {v.schema for v in schema.views}
        )
        out.extend(f"GRANT USAGE ON SCHEMA {quote(s)} TO {quote(role)}" for s in schemas)
        out.extend(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {t} TO {quote(role)}" for t in tables)
        out.extend(
            f"GRANT SELECT ON {qname(v.schema, v.name)} TO {quote(role)}" for v in schema.views
        )
    if as_owner:
        notes.append("running as the owner of the tenant tables")
        owned = [seeding.tenancy.root] if seeding.tenancy.root is not None else []
        owned += list(seeding.tenancy.tables) + [i.table for i in seeding.tenancy.indirect]
        out.extend(f"ALTER TABLE {qname(t.schema, t.name)} OWNER TO {quote(role)}" for t in owned)
    return out, notes


__all__ = [
    "Context",
    "find_app_role",
    "grant_statements",
    "member_user",
    "raw",
    "tenant_context",
]
