"""`dbarch secure audit` on Basejump (real Supabase RLS policies, ../shared/realworld): it runs
without error and reports exactly what was judged by hand (see each comment)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dbarchitect.dialects import get_dialect
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.security.audit import audit_url
from tests.conftest import realworld_files, realworld_manifest


@pytest.fixture(scope="module")
def basejump() -> Iterator[DatabaseURL]:
    dataset = next(d for d in realworld_manifest()["datasets"] if d["name"] == "basejump")
    engine = get_dialect("postgres").engine()
    with engine.scratch() as url:
        # The prelude creates the cluster roles anon, authenticated, service_role if missing.
        yield engine.load_files(url, [Path(f) for f in realworld_files(dataset)])


def test_basejump_as_authenticated(basejump: DatabaseURL) -> None:
    got = {(f.severity, f.rule, f.object) for f in audit_url(basejump, app_role="authenticated")}
    tables = ("account_user", "accounts", "billing_customers", "billing_subscriptions")
    assert got == {
        # Real by design: a definer helper reading account_user with the owner's rights,
        # filtered inside by auth.uid(): a warning to check, not a leak.
        (
            "warning",
            "secure-definer-returns-tenant-rows",
            "basejump.get_accounts_with_role(passed_in_role basejump.account_role)",
        ),
        # Real but not exploitable in practice: tokens are 30 random characters.
        (
            "warning",
            "secure-unique-not-tenant-scoped",
            "basejump.invitations.invitations_token_key",
        ),
        # True: the tables are owned by postgres and not forced (only the owner bypasses).
        *{("info", "rls-not-forced", f"basejump.{t}") for t in (*tables, "config", "invitations")},
        # True: granted by Supabase's blanket grants, denied by RLS (no policy).
        ("info", "secure-command-uncovered", "basejump.account_user"),
        ("info", "secure-command-uncovered", "basejump.invitations"),
    }


def test_basejump_as_connected_superuser(basejump: DatabaseURL) -> None:
    findings = audit_url(basejump)
    got = {(f.severity, f.rule, f.object) for f in findings}
    user = basejump.user or "postgres"
    assert ("error", "secure-app-role-bypasses-rls", user) in got
    # A superuser may become any role: only the superuser itself is reported.
    assert [f.object for f in findings if f.rule == "secure-app-role-bypasses-rls"] == [user]
    assert ("error", "rls-not-forced", "basejump.accounts") in got
    # Writable as the superuser: the key without account_id matters then.
    assert (
        "error",
        "secure-fk-missing-tenant-key",
        "basejump.billing_subscriptions.billing_subscriptions_billing_customer_id_fkey",
    ) in got
    assert all(f.fix for f in findings)
    # It reads every row anyway: unique keys are no oracle for it.
    assert not any(f.rule == "secure-unique-not-tenant-scoped" for f in findings)
    # Policies do not apply to a superuser: nothing is "denied" for it.
    assert not any(f.rule == "secure-command-uncovered" for f in findings)
