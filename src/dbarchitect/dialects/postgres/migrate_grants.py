"""Privileges as migration statements for PostgreSQL: GRANT / REVOKE, default privileges,
the PUBLIC defaults of functions and types, and the roles they name.

They mirror how ddl.py writes a whole schema: a new function, procedure or type is
executable / usable by PUBLIC unless `after` says otherwise, and a global default-privilege
entry replaces the built-in default (owner's own rights plus PUBLIC on functions and types).
"""

from __future__ import annotations

from collections.abc import Sequence

from dbarchitect.dialects.postgres import ddl
from dbarchitect.dialects.postgres.migrate_context import Context
from dbarchitect.dialects.postgres.quoting import quote
from dbarchitect.migrate.operations import Operation
from dbarchitect.model import DefaultPrivilege, Grant, Policy, Schema

_IMPLIED_PUBLIC = {"functions": "EXECUTE", "types": "USAGE"}


def roles_statement(operations: Sequence[Operation]) -> str | None:
    """A DO block creating the roles that new grants, default privileges and policies name
    (roles are cluster-wide: a schema can only refer to them)."""
    names: set[str] = set()
    for op in operations:
        obj = op.after
        if op.action not in ("create", "alter") or obj is None:
            continue
        if isinstance(obj, Grant):
            names.add(obj.grantee)
        elif isinstance(obj, DefaultPrivilege):
            names.update((obj.grantee, obj.role))
        elif isinstance(obj, Policy):
            names.update(obj.roles)
    roles = sorted(n for n in names if n not in ddl.PSEUDO_ROLES and not n.startswith("pg_"))
    return ddl.create_roles(roles) if roles else None


def _grantee(name: str) -> str:
    return "PUBLIC" if name == "PUBLIC" else quote(name)


def _grant_target(g: Grant) -> str:
    cols = f" ({', '.join(quote(c) for c in g.columns)})" if g.columns else ""
    return f"{g.privilege}{cols} ON {ddl.GRANT_TARGET[g.object_type]} {g.object}"


def create_grant(ctx: Context, g: Grant) -> None:
    """GRANT privilege [(columns)] ON … TO grantee [WITH GRANT OPTION]."""
    option = " WITH GRANT OPTION" if g.grantable else ""
    ctx.emit(f"GRANT {_grant_target(g)} TO {_grantee(g.grantee)}{option};")


def drop_grant(ctx: Context, g: Grant, dropped_objects: set[str]) -> None:
    """REVOKE; nothing when the object itself is dropped by this migration."""
    if g.object in dropped_objects:
        return
    ctx.emit(f"REVOKE {_grant_target(g)} FROM {_grantee(g.grantee)};")


def public_default(ctx: Context, object_type: str, obj: str) -> None:
    """After creating a function, procedure or type: PostgreSQL grants PUBLIC its EXECUTE /
    USAGE; revoke it when `after` does not record that grant."""
    privilege = ddl.PUBLIC_DEFAULT[object_type]
    wanted = Grant(object_type=object_type, object=obj, grantee="PUBLIC", privilege=privilege)
    if wanted not in ctx.after.grants:
        ctx.emit(f"REVOKE ALL ON {ddl.GRANT_TARGET[object_type]} {obj} FROM PUBLIC;")


def reapply_grants(ctx: Context, object_type: str, obj: str) -> None:
    """A type rebuilt under the same name starts with default privileges: restore the
    PUBLIC default as `after` has it and the explicit grants `after` lists."""
    public_default(ctx, object_type, obj)
    for g in ctx.after.grants:
        if g.object_type == object_type and g.object == obj and g.grantee != "PUBLIC":
            create_grant(ctx, g)


def _global_rows(schema: Schema, d: DefaultPrivilege) -> list[DefaultPrivilege]:
    return [
        x
        for x in schema.default_privileges
        if x.schema is None and x.role == d.role and x.object_type == d.object_type
    ]


def _alter_default(d: DefaultPrivilege, verb: str) -> str:
    scope = f" IN SCHEMA {quote(d.schema)}" if d.schema else ""
    word = "TO" if verb == "GRANT" else "FROM"
    option = " WITH GRANT OPTION" if d.grantable and verb == "GRANT" else ""
    return (
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {quote(d.role)}{scope} {verb} {d.privilege} "
        f"ON {d.object_type.upper()} {word} {_grantee(d.grantee)}{option};"
    )


def _global_public(d: DefaultPrivilege) -> str | None:
    """The privilege PUBLIC has by default on what `d` covers, for a global entry."""
    return _IMPLIED_PUBLIC.get(d.object_type) if d.schema is None else None


def create_default_privilege(ctx: Context, d: DefaultPrivilege, done: set[str]) -> None:
    """ALTER DEFAULT PRIVILEGES … GRANT. The owner's own rights are implied; PUBLIC's
    built-in EXECUTE / USAGE is granted only where an entry without it existed, and revoked
    (once per role and object type, tracked in `done`) where a new entry lacks it."""
    public = _global_public(d)
    if public and not _global_rows(ctx.before, d):
        key = f"revoke:{d.role}:{d.object_type}"
        if key not in done and not any(x.grantee == "PUBLIC" for x in _global_rows(ctx.after, d)):
            done.add(key)
            revoke = DefaultPrivilege(
                role=d.role, object_type=d.object_type, grantee="PUBLIC", privilege=public
            )
            ctx.emit(_alter_default(revoke, "REVOKE"))
    if d.schema is None and d.grantee == d.role:
        return
    builtin = public and d.grantee == "PUBLIC" and d.privilege == public
    if builtin and not _global_rows(ctx.before, d):
        return  # the built-in default already grants it
    ctx.emit(_alter_default(d, "GRANT"))


def drop_default_privilege(ctx: Context, d: DefaultPrivilege, done: set[str]) -> None:
    """ALTER DEFAULT PRIVILEGES … REVOKE. The owner's implied rights are never revoked; an
    entry that disappears gives PUBLIC its built-in EXECUTE / USAGE back."""
    public = _global_public(d)
    if d.schema is None and d.grantee == d.role:
        pass
    elif public and d.grantee == "PUBLIC" and d.privilege == public:
        if _global_rows(ctx.after, d):
            ctx.emit(_alter_default(d, "REVOKE"))
    else:
        ctx.emit(_alter_default(d, "REVOKE"))
    if public and not _global_rows(ctx.after, d):
        key = f"grant:{d.role}:{d.object_type}"
        if key not in done and not any(x.grantee == "PUBLIC" for x in _global_rows(ctx.before, d)):
            done.add(key)
            grant = DefaultPrivilege(
                role=d.role, object_type=d.object_type, grantee="PUBLIC", privilege=public
            )
            ctx.emit(_alter_default(grant, "GRANT"))
