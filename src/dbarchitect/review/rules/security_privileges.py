"""Security, privileges: SECURITY DEFINER functions, grants to PUBLIC, extensions (PostgreSQL).

SECURITY DEFINER functions run as their owner and, unless they fix their own search_path,
resolve unqualified names through the caller's; privileges granted to PUBLIC reach every role.
"""

from __future__ import annotations

from collections.abc import Iterator

from dbarchitect.model import Function
from dbarchitect.review.context import ReviewContext, object_name
from dbarchitect.review.finding import Hit
from dbarchitect.review.registry import rule

PG = ("postgres",)


def _function_sql(ctx: ReviewContext, f: Function) -> str:
    return f"{ctx.quote(f.schema)}.{ctx.quote(f.name)}({f.identity})"


def _function_obj(f: Function) -> str:
    return object_name(f.schema, f"{f.name}({f.identity})")


def _publicly_writable_schemas(ctx: ReviewContext) -> set[str]:
    return {
        _split_qualified(g.object)[0][0]
        for g in ctx.schema.grants
        if g.object_type == "schema" and g.grantee == "PUBLIC" and g.privilege == "CREATE"
    }


def _search_path(f: Function) -> list[str] | None:
    value = next((v for k, v in f.config if k == "search_path"), None)
    if value is None:
        return None
    parts = [p.strip() for p in value.split(",")]
    return [p[1:-1].replace('""', '"') if p.startswith('"') else p for p in parts if p]


@rule(
    id="security-definer-without-search-path",
    title="SECURITY DEFINER function without a safe search_path",
    family="security",
    severity="error",
    problem="""
A SECURITY DEFINER function runs with its owner's rights but, unless it sets its own
search_path, resolves unqualified table, function and operator names through the caller's.
A caller who can create objects in any schema on that path (or a temporary table, pg_temp
being searched first) can substitute their own object and run code as the owner.
""",
    solution="""
Fix the function's search_path to trusted schemas, with pg_temp last, and check that no
untrusted role can CREATE in any schema it lists; or qualify every name in the body and set an
empty search_path.
""",
    example="ALTER FUNCTION app.transfer(bigint, numeric) SET search_path = pg_catalog, pg_temp;",
    engines=PG,
)
def security_definer_without_search_path(ctx: ReviewContext) -> Iterator[Hit]:
    writable = _publicly_writable_schemas(ctx)
    for f in ctx.schema.functions:
        if not f.security_definer:
            continue
        path = _search_path(f)
        # The function's own schema stays on the path so its body keeps working; if PUBLIC may
        # create there, grant-to-public reports it and this rule keeps firing until it is fixed.
        safe = f"pg_catalog, {ctx.quote(f.schema)}, pg_temp"
        verb = "PROCEDURE" if f.kind == "procedure" else "FUNCTION"
        fix = f"ALTER {verb} {_function_sql(ctx, f)} SET search_path = {safe};"
        if path is None:
            message = (
                f"SECURITY DEFINER {f.kind} {f.signature} does not set search_path: it "
                "resolves names through the caller's"
            )
        else:
            open_to_all = [s for s in path if s in writable]
            if not open_to_all:
                continue
            message = (
                f"SECURITY DEFINER {f.kind} {f.signature} has search_path "
                f"{', '.join(path)}, and PUBLIC may create objects in {', '.join(open_to_all)}"
            )
        yield Hit(kind="function", object=_function_obj(f), message=message, fix=fix)


@rule(
    id="security-definer-executable-by-public",
    title="SECURITY DEFINER function executable by PUBLIC",
    family="security",
    severity="warning",
    problem="""
Functions are executable by PUBLIC unless that default is revoked. For a SECURITY DEFINER
function this means every role that can connect, including unauthenticated API roles, can run
code with the owner's rights.
""",
    solution="""
Revoke EXECUTE from PUBLIC and grant it to the roles that need it. `ALTER DEFAULT PRIVILEGES
REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC` stops new functions from getting the default.
""",
    example="""
REVOKE EXECUTE ON FUNCTION app.transfer(bigint, numeric) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.transfer(bigint, numeric) TO app_user;
""",
    engines=PG,
)
def security_definer_executable_by_public(ctx: ReviewContext) -> Iterator[Hit]:
    public_exec = {
        _split_qualified(g.object)
        for g in ctx.schema.grants
        if g.grantee == "PUBLIC"
        and g.privilege == "EXECUTE"
        and g.object_type in ("function", "procedure")
    }
    for f in ctx.schema.functions:
        if not f.security_definer or ((f.schema, f.name), f.identity) not in public_exec:
            continue
        verb = "PROCEDURE" if f.kind == "procedure" else "FUNCTION"
        yield Hit(
            kind="function",
            object=_function_obj(f),
            message=f"SECURITY DEFINER {f.kind} {f.signature} is executable by PUBLIC",
            fix=f"REVOKE EXECUTE ON {verb} {_function_sql(ctx, f)} FROM PUBLIC;",
        )


def _split_qualified(text: str) -> tuple[tuple[str, ...], str]:
    """`"a"."b"(args)` as grants print it → (("a", "b"), "args"); quotes undone."""
    parts: list[str] = []
    buf: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == '"':
            i += 1
            while i < n:
                if text[i] == '"':
                    if i + 1 < n and text[i + 1] == '"':
                        buf.append('"')
                        i += 2
                        continue
                    break
                buf.append(text[i])
                i += 1
        elif ch == ".":
            parts.append("".join(buf))
            buf = []
        elif ch == "(":
            parts.append("".join(buf))
            return tuple(parts), text[i + 1 : text.rindex(")")]
        else:
            buf.append(ch)
        i += 1
    parts.append("".join(buf))
    return tuple(parts), ""


@rule(
    id="grant-to-public",
    title="Privileges granted to PUBLIC",
    family="security",
    severity="warning",
    problem="""
A privilege granted to PUBLIC is granted to every role, now and in the future, including
unauthenticated API roles and roles created for other applications. CREATE on a schema to
PUBLIC lets anyone plant tables or functions that shadow the ones other roles expect to find
on their search_path.
""",
    solution="""
Revoke the privilege from PUBLIC and grant it to the roles that need it. The built-in defaults
(EXECUTE on functions, USAGE on types, USAGE on schema public) are not reported.
""",
    example="""
REVOKE ALL ON TABLE customer FROM PUBLIC;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
""",
    engines=PG,
)
def grant_to_public(ctx: ReviewContext) -> Iterator[Hit]:
    views = {(v.schema, v.name) for v in ctx.schema.views}
    grouped: dict[tuple[str, str, tuple[str, ...]], list[str]] = {}
    for g in ctx.schema.grants:
        if g.grantee != "PUBLIC" or g.object_type not in ("table", "sequence", "schema", "column"):
            continue
        if g.object_type == "schema" and g.object == "public" and g.privilege == "USAGE":
            continue
        grouped.setdefault((g.object_type, g.object, g.columns), []).append(g.privilege)
    for (obj_type, obj, columns), privileges in sorted(grouped.items()):
        names, _ = _split_qualified(obj)
        privs = ", ".join(sorted(set(privileges)))
        if obj_type == "schema":
            kind, target, sql_kind = "schema", names[0], "SCHEMA"
            revoke = privs
        else:
            is_view = len(names) == 2 and (names[0], names[1]) in views
            kind = "view" if is_view else obj_type
            sql_kind = "SEQUENCE" if obj_type == "sequence" else "TABLE"
            target = object_name(*names, *columns)
            revoke = "ALL"
            if columns:
                kind = "column"
                revoke = f"{privs} ({', '.join(ctx.quote(c) for c in columns)})"
        yield Hit(
            kind=kind,
            object=target,
            message=f"PUBLIC has {privs} on {kind} {target}",
            fix=f"REVOKE {revoke} ON {sql_kind} {obj} FROM PUBLIC;",
        )


@rule(
    id="extension-in-public-schema",
    title="Extension installed in schema public",
    family="security",
    severity="info",
    problem="""
An extension installed in public mixes its functions, types and operators with the
application's objects: they are exposed wherever public is exposed (API schemas), clash with
application names, and on databases where PUBLIC may still create in public, its functions can
be shadowed by anyone.
""",
    solution="""
Install extensions into a dedicated schema (often `extensions`) that is on the search_path of the
roles that need it; relocatable extensions can be moved with ALTER EXTENSION … SET SCHEMA.
""",
    example="CREATE SCHEMA extensions;\nALTER EXTENSION pg_trgm SET SCHEMA extensions;",
    engines=PG,
)
def extension_in_public_schema(ctx: ReviewContext) -> Iterator[Hit]:
    for e in ctx.schema.extensions:
        if e.schema != "public":
            continue
        yield Hit(
            kind="extension",
            object=e.name,
            message=f"extension {e.name} is installed in schema public",
            fix="CREATE SCHEMA IF NOT EXISTS extensions;\n"
            f"ALTER EXTENSION {ctx.quote(e.name)} SET SCHEMA extensions;",
        )
