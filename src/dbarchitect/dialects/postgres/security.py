"""Catalog facts the Schema model does not carry, for `dbarch secure audit`: roles and their
attributes and memberships, object owners and privileges (defaults included), and what
functions return and read.

Privileges are kept as raw ACL entries (aclexplode, with acldefault where the ACL is NULL) so
the audit can answer "may role R do P on X" for any role, not only the connected one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dbarchitect.engines.base import Session

_SKIP = "('pg_catalog', 'information_schema', 'pg_toast')"


@dataclass(frozen=True, slots=True, kw_only=True)
class RoleFacts:
    """One role. `privileges_of`: roles whose rights it uses without SET ROLE (itself
    included); `can_become`: roles it may SET ROLE to (itself included)."""

    name: str
    superuser: bool = False
    bypassrls: bool = False
    login: bool = False
    privileges_of: frozenset[str] = frozenset()
    can_become: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectFacts:
    """A relation or function: its kind, owner and (grantee, privilege) entries; PUBLIC is
    spelled `PUBLIC`. Functions also carry what they return, whether they are SECURITY
    DEFINER, and their body (to see which tables they read)."""

    # table, partitioned table, view, materialized view, sequence, foreign table, function
    kind: str
    owner: str
    acl: frozenset[tuple[str, str]] = frozenset()
    security_definer: bool = False
    returns: str | None = None
    body: str = ""
    reads: frozenset[str] = frozenset()  # schema.name of relations it depends on (pg_depend)


@dataclass(frozen=True, slots=True, kw_only=True)
class SecurityFacts:
    """Everything `collect_facts` read. Relations are keyed `schema.name`; functions
    `schema.name(identity arguments)`, as the Schema model names them."""

    current_user: str
    roles: dict[str, RoleFacts] = field(default_factory=dict)
    relations: dict[str, ObjectFacts] = field(default_factory=dict)
    functions: dict[str, ObjectFacts] = field(default_factory=dict)

    def role(self, name: str) -> RoleFacts:
        """The role named `name`; an unknown role has no rights beyond PUBLIC's."""
        return self.roles.get(name) or RoleFacts(
            name=name, privileges_of=frozenset({name}), can_become=frozenset({name})
        )

    def acts_as_owner(self, role: str, obj: ObjectFacts) -> bool:
        """Whether `role` has its owner's rights on `obj` (is it, or inherits from it)."""
        return obj.owner in self.role(role).privileges_of

    def may(self, role: str, obj: ObjectFacts, privilege: str) -> bool:
        """Whether `role` holds `privilege` on `obj` (owner, superuser, grant, PUBLIC)."""
        r = self.role(role)
        if r.superuser or self.acts_as_owner(role, obj):
            return True
        holders = r.privileges_of | {"PUBLIC"}
        return any(g in holders and p == privilege for g, p in obj.acl)

    def bypasses_rls(self, role: str) -> bool:
        """Whether `role` is superuser or BYPASSRLS (its own attributes; SET ROLE aside)."""
        r = self.role(role)
        return r.superuser or r.bypassrls


_ROLES = """
SELECT r.rolname AS name, r.rolsuper AS superuser, r.rolbypassrls AS bypassrls,
       r.rolcanlogin AS login,
       array(SELECT m.rolname FROM pg_roles m WHERE pg_has_role(r.oid, m.oid, 'USAGE')
             ORDER BY 1) AS privileges_of,
       array(SELECT m.rolname FROM pg_roles m WHERE pg_has_role(r.oid, m.oid, 'MEMBER')
             ORDER BY 1) AS can_become
FROM pg_roles r
WHERE r.rolname !~ '^pg_'
ORDER BY 1
"""

_RELATIONS = f"""
SELECT n.nspname AS schema, c.relname AS name, c.relkind::text AS relkind,
       pg_get_userbyid(c.relowner) AS owner,
       array(SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END
                    || ':' || a.privilege_type
             FROM aclexplode(coalesce(c.relacl,
                  acldefault(CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::"char",
                             c.relowner))) a) AS acl
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND n.nspname NOT IN {_SKIP}
ORDER BY 1, 2
"""

_FUNCTIONS = f"""
SELECT n.nspname AS schema, p.proname AS name,
       pg_get_function_identity_arguments(p.oid) AS identity,
       pg_get_userbyid(p.proowner) AS owner, p.prosecdef AS security_definer,
       pg_get_function_result(p.oid) AS returns, coalesce(p.prosrc, '') AS body,
       array(SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END
                    || ':' || a.privilege_type
             FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a) AS acl,
       array(SELECT DISTINCT rn.nspname || '.' || rc.relname
             FROM pg_depend d
             LEFT JOIN pg_type rt ON d.refclassid = 'pg_type'::regclass AND rt.oid = d.refobjid
             JOIN pg_class rc ON rc.oid = CASE WHEN d.refclassid = 'pg_class'::regclass
                                               THEN d.refobjid ELSE rt.typrelid END
             JOIN pg_namespace rn ON rn.oid = rc.relnamespace
             WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
               AND rc.relkind IN ('r', 'p', 'v', 'm', 'f')) AS reads
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname NOT IN {_SKIP} AND p.prokind IN ('f', 'p')
  AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_proc'::regclass
                  AND e.objid = p.oid AND e.deptype = 'e')
ORDER BY 1, 2, 3
"""

_KINDS = {
    "r": "table",
    "p": "partitioned table",
    "v": "view",
    "m": "materialized view",
    "S": "sequence",
    "f": "foreign table",
}


def _acl(entries: list[str]) -> frozenset[tuple[str, str]]:
    out = set()
    for e in entries:
        grantee, _, privilege = e.rpartition(":")
        out.add((grantee, privilege))
    return frozenset(out)


def collect_facts(session: Session) -> SecurityFacts:
    """Read roles, owners, privileges and function facts through `session` (read-only is
    enough: only catalog queries)."""
    with session.transaction():
        user = str(session.fetch("SELECT current_user AS u")[0]["u"])
        roles = {
            r["name"]: RoleFacts(
                name=r["name"],
                superuser=bool(r["superuser"]),
                bypassrls=bool(r["bypassrls"]),
                login=bool(r["login"]),
                privileges_of=frozenset(r["privileges_of"]),
                can_become=frozenset(r["can_become"]),
            )
            for r in session.fetch(_ROLES)
        }
        relations = {
            f"{r['schema']}.{r['name']}": ObjectFacts(
                kind=_KINDS[r["relkind"]], owner=r["owner"], acl=_acl(r["acl"])
            )
            for r in session.fetch(_RELATIONS)
        }
        functions = {
            f"{r['schema']}.{r['name']}({r['identity']})": ObjectFacts(
                kind="function",
                owner=r["owner"],
                acl=_acl(r["acl"]),
                security_definer=bool(r["security_definer"]),
                returns=r["returns"],
                body=r["body"],
                reads=frozenset(r["reads"]),
            )
            for r in session.fetch(_FUNCTIONS)
        }
    return SecurityFacts(current_user=user, roles=roles, relations=relations, functions=functions)


__all__ = ["ObjectFacts", "RoleFacts", "SecurityFacts", "collect_facts"]
