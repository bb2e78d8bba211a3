"""`dbarch secure rls`: the migration that puts every tenant table behind forced row level
security, with the roles, grants, helper, keys and indexes that make the policies hold.

The secured schema is built as data (rls_target.py) and the ordinary migration engine diffs the
source against it, so policies, grants, default privileges, the helper function, composite keys
and indexes come out in dependency order with a down migration. What the Schema model cannot
hold is written here around that diff: cluster roles (created only when missing, marked so the
down drops only those), table ownership, and a guard that refuses a second run.
"""

from __future__ import annotations

from dataclasses import dataclass

from dbarchitect.dialects.postgres.quoting import literal, quote
from dbarchitect.errors import InputError
from dbarchitect.migrate.migration import Statement, make_migration
from dbarchitect.model import Schema
from dbarchitect.security.rls_target import HELPER_NAME, RoleNames, build_target, qname
from dbarchitect.security.tenancy import Tenancy

# Set on every role the migration creates, so the down drops those and no other.
ROLE_MARKER = "created by dbarch secure rls"
DEFAULT_ROLES = RoleNames()


@dataclass(frozen=True, slots=True, kw_only=True)
class RlsPlan:
    """The generated migration: SQL both ways, the statements with their transaction needs
    (CREATE INDEX CONCURRENTLY must run outside a transaction block), what the user must know,
    and the schema as it is once `up` has run."""

    up: str
    down: str
    notes: tuple[str, ...]
    schema: Schema
    up_statements: tuple[Statement, ...] = ()
    down_statements: tuple[Statement, ...] = ()


def _guard(helper: str) -> str:
    """A second run would fail half-way on the first CREATE POLICY; refuse before any change."""
    return (
        "DO $guard$\nBEGIN\n"
        f"  IF to_regprocedure({literal(helper)}) IS NOT NULL THEN\n"
        f"    RAISE EXCEPTION 'dbarch secure rls: already applied ({helper} exists); "
        "run the down migration first';\n"
        "  END IF;\nEND\n$guard$;"
    )


def _roles_up(roles: RoleNames) -> str:
    """Create the missing roles NOLOGIN and mark them; refuse roles that would defeat RLS."""
    lines = []
    for r in roles.all():
        lines.append(
            f"  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = {literal(r)}\n"
            "             AND (rolsuper OR rolbypassrls)) THEN\n"
            f"    RAISE EXCEPTION 'role {r} is superuser or BYPASSRLS: policies would not "
            "apply to it';\n"
            f"  ELSIF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = {literal(r)}) THEN\n"
            f"    CREATE ROLE {quote(r)} NOLOGIN NOSUPERUSER NOBYPASSRLS;\n"
            f"    COMMENT ON ROLE {quote(r)} IS {literal(ROLE_MARKER)};\n"
            "  END IF;"
        )
    return "DO $roles$\nBEGIN\n" + "\n".join(lines) + "\nEND\n$roles$;"


def _roles_down(roles: RoleNames) -> str:
    """Drop the roles this migration created. One still used elsewhere (another database of the
    cluster) is kept with a NOTICE rather than failing the down."""
    names = ", ".join(literal(r) for r in reversed(roles.all()))
    return (
        "DO $roles$\nDECLARE\n  r text;\nBEGIN\n"
        f"  FOREACH r IN ARRAY ARRAY[{names}] LOOP\n"
        "    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r\n"
        f"               AND shobj_description(oid, 'pg_authid') = {literal(ROLE_MARKER)}) THEN\n"
        "      BEGIN\n"
        "        EXECUTE format('DROP ROLE %I', r);\n"
        "      EXCEPTION WHEN dependent_objects_still_exist THEN\n"
        "        RAISE NOTICE 'role % kept: %', r, SQLERRM;\n"
        "      END;\n"
        "    END IF;\n"
        "  END LOOP;\nEND\n$roles$;"
    )


def _owners(kind: str, objects: tuple[str, ...], role: str) -> list[str]:
    return [f"ALTER {kind} {qname(o)} OWNER TO {role};" for o in objects]


def generate(
    schema: Schema,
    tenancy: Tenancy,
    *,
    roles: RoleNames = DEFAULT_ROLES,
    force: bool = True,
    helper_schema: str | None = None,
) -> RlsPlan:
    """The migration securing `schema` for `tenancy` (see the module docstring and
    docs/secure.md). `force` adds FORCE ROW LEVEL SECURITY so the owner is bound too;
    `helper_schema` puts current_tenant() elsewhere than the first tenant table's schema.

    The down gives the tables back to the role that runs it (CURRENT_USER): owners are not
    part of the model, so the original owner is assumed to be that role."""
    if schema.dialect != "postgres":
        raise InputError(
            f"dbarch secure rls is available for PostgreSQL only (got a {schema.dialect} schema)"
        )
    target = build_target(schema, tenancy, roles, force=force, helper_schema=helper_schema)
    migration = make_migration(schema, target.schema, online=True)
    helper = f"{qname(target.helper.schema)}.{HELPER_NAME}()"
    owner = quote(roles.owner)
    head = [_guard(helper), _roles_up(roles)]
    handover = [
        *_owners("TABLE", target.secured, owner),
        *_owners("VIEW", target.views, owner),
        *_owners("SEQUENCE", target.sequences, owner),
    ]
    takeback = [
        *_owners("TABLE", target.secured, "CURRENT_USER"),
        *_owners("VIEW", target.views, "CURRENT_USER"),
        *_owners("SEQUENCE", target.sequences, "CURRENT_USER"),
    ]
    up = (
        *(Statement(sql=s) for s in head),
        *migration.up,
        *(Statement(sql=s) for s in handover),
    )
    down = (
        *(Statement(sql=s) for s in takeback),
        *migration.down,
        Statement(sql=_roles_down(roles)),
    )
    notes = (
        *target.notes,
        *migration.hints,
        *pooling_notes(tenancy.setting),
        f"roles {', '.join(roles.all())} are created NOLOGIN when missing and dropped by the "
        "down only if this migration created them; give your login roles membership "
        f"(GRANT {roles.app} TO my_service)",
        f"the admin role {roles.admin} has no BYPASSRLS: a permissive policy "
        "tenant_admin_all lets it read and write every tenant's rows, visible in the catalog",
        "the down gives the tables back to CURRENT_USER (run it as the role that owned them)",
    )
    return RlsPlan(
        up=_script(up, "up"),
        down=_script(down, "down"),
        notes=tuple(notes),
        schema=target.schema,
        up_statements=up,
        down_statements=down,
    )


def pooling_notes(setting: str) -> tuple[str, ...]:
    """How the application must set the tenant on pooled connections."""
    return (
        f"set the tenant per transaction: BEGIN; SET LOCAL {setting} = '<tenant>'; …; COMMIT; "
        f"or SELECT set_config('{setting}', $1, true) inside the transaction",
        f"never SET {setting} (session level): on a pooled connection it survives into the next "
        "client's transactions, which then act as the previous tenant",
        "PgBouncer transaction mode hands a server connection to another client after each "
        "COMMIT: SET LOCAL ends with the transaction, so it is the only safe form there",
        f"without the setting (or with it empty) {HELPER_NAME}() raises insufficient_privilege: "
        "queries fail closed instead of returning rows",
    )


def _script(statements: tuple[Statement, ...], label: str) -> str:
    header = (
        f"-- dbarch secure rls ({label}). Run statement by statement, not in one transaction:\n"
        "-- CREATE INDEX CONCURRENTLY cannot run in a transaction block and VALIDATE CONSTRAINT\n"
        "-- runs alone so no earlier lock is held while it scans; both are marked below.\n"
    )
    parts = []
    for s in statements:
        mark = "-- outside a transaction block\n" if not s.transactional else ""
        parts.append(mark + s.sql.rstrip())
    return header + "\n\n".join(parts) + "\n"


__all__ = ["DEFAULT_ROLES", "ROLE_MARKER", "RlsPlan", "RoleNames", "generate", "pooling_notes"]
