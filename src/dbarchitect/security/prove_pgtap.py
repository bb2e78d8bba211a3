"""`--pgtap FILE`: the proof's attacks as a pgTAP test file, runnable with `pg_prove`.

The file is one transaction that is rolled back at the end: it generates the same rows
(triggers off, so it must run as a superuser, as `pg_prove` on a test database usually
does), creates the test role (NOLOGIN; CREATE ROLE is transactional), grants it what the
proof granted, becomes tenant A and runs each attack through a helper that switches to the
test role and runs the statement inside a subtransaction it always rolls back — so a leaking
DELETE cannot disturb the next test, and pgTAP's own bookkeeping stays with the superuser.
The helper answers `rows:N` (a count, or rows changed) or `error:SQLSTATE`.
"""

from __future__ import annotations

from pathlib import Path

from dbarchitect.dialects.postgres.quoting import literal, quote
from dbarchitect.security.prove import ProofReport
from dbarchitect.security.prove_attacks import Attack


def _dollar(sql: str) -> str:
    tag = "$q$"
    n = 0
    while tag in sql:
        n += 1
        tag = f"$q{n}$"
    return f"{tag}{sql}{tag}"


def _helper(role: str) -> str:
    return f"""CREATE FUNCTION pg_temp.dbarch_try(q text) RETURNS text
LANGUAGE plpgsql AS $dbarch$
DECLARE
  n bigint;
BEGIN
  BEGIN
    PERFORM set_config('role', {literal(role)}, true);
    IF q ~* '^\\s*(select|with)\\M' THEN
      EXECUTE q INTO n;
    ELSE
      EXECUTE q;
      GET DIAGNOSTICS n = ROW_COUNT;
    END IF;
    RAISE EXCEPTION USING ERRCODE = 'P0D01', MESSAGE = n::text;
  EXCEPTION
    WHEN SQLSTATE 'P0D01' THEN RETURN 'rows:' || SQLERRM;
    WHEN OTHERS THEN RETURN 'error:' || SQLSTATE;
  END;
END
$dbarch$;"""


def _test(a: Attack) -> str:
    desc = literal(f"{a.object} {a.kind}: blocked")
    call = f"pg_temp.dbarch_try({_dollar(a.sql)})"
    if a.mode == "rows":
        got = f"coalesce(substring({call} from '^rows:(\\d+)$')::bigint, 0)"
        if a.limit == 0:
            return f"SELECT is({got}, 0::bigint, {desc});"
        return f"SELECT cmp_ok({got}, '<=', {a.limit}::bigint, {desc});"
    if a.mode == "unique":
        return f"SELECT isnt({call}, 'error:23505', {desc});"
    return f"SELECT ok({call} !~ '^rows:[1-9]', {desc});"


def pgtap_text(report: ProofReport) -> str:
    """The pgTAP file for `report` (see the module docstring)."""
    tests = [_test(a) for a in report.attacks if a.na is None]
    lines = [
        f"-- dbarch secure test: tenant isolation proof for {report.source}",
        f"-- tenant A: {report.context}",
        "-- Run as a superuser on a copy: pg_prove -d DBNAME this_file.sql",
        "\\set ON_ERROR_STOP 1",
        "\\set QUIET 1",
        "BEGIN;",
        "CREATE EXTENSION IF NOT EXISTS pgtap;",
        "SET LOCAL session_replication_role = replica;",
        *(f"{s};" for s in report.seed_sql),
        "SET LOCAL session_replication_role = origin;",
        f"CREATE ROLE {quote(report.role)} NOLOGIN;",
        *(f"{s};" for s in report.grant_sql),
        *(f"{s};" for s in report.context_sql),
        _helper(report.role),
        f"SELECT plan({len(tests)});",
        *tests,
        "SELECT * FROM finish();",
        "ROLLBACK;",
    ]
    return "\n".join(lines) + "\n"


def write_pgtap(report: ProofReport, path: Path) -> None:
    """Write the pgTAP file for `report` to `path`."""
    path.write_text(pgtap_text(report), encoding="utf-8")


__all__ = ["pgtap_text", "write_pgtap"]
