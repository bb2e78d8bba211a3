"""The audit's own rules (`secure-…`): ids, severities and documentation.

They are not registered with the review: they need catalog facts or the tenancy, which a
review does not have. `SECURE_RULES` feeds the report renderers (SARIF rule descriptors).
"""

from __future__ import annotations

from collections.abc import Iterable

from dbarchitect.review.finding import Hit, Severity
from dbarchitect.review.registry import Rule, all_rules, reflow


def _no_check(_ctx: object) -> Iterable[Hit]:
    return ()


def _rule(id: str, title: str, severity: Severity, problem: str, solution: str) -> Rule:
    return Rule(
        id=id,
        title=title,
        family="security",
        severity=severity,
        problem=reflow(problem),
        solution=reflow(solution),
        check=_no_check,
        engines=("postgres",),
    )


SECURE_RULES: dict[str, Rule] = {
    r.id: r
    for r in (
        _rule(
            "secure-app-role-bypasses-rls",
            "Application role bypasses row level security",
            "error",
            """A superuser or BYPASSRLS role skips every policy. When the application connects
as one, or may SET ROLE to one, tenant isolation does not exist for it.""",
            """Connect as a role without SUPERUSER or BYPASSRLS, and revoke its membership in
roles that have them.""",
        ),
        _rule(
            "secure-permissive-policy-hole",
            "Permissive policy that does not constrain the tenant",
            "error",
            """Permissive policies are OR-ed: one that lets rows through without looking at
the tenant opens them to every tenant, whatever the other policies say.""",
            """Add the tenant condition to the policy, or make it RESTRICTIVE, or drop it.""",
        ),
        _rule(
            "secure-with-check-not-tenant",
            "Rows can be written into another tenant",
            "error",
            """An INSERT or UPDATE is allowed when any permissive policy's WITH CHECK holds
(USING stands in for it on ALL and UPDATE policies without one). A check that ignores the
tenant lets rows be created for, or moved to, another tenant: SELECT policies are checked
against new rows only when the statement reads them (a WHERE or RETURNING), so a bare
`UPDATE t SET tenant_id = …` or an INSERT goes through.""",
            """Give the policy a WITH CHECK on the tenant column.""",
        ),
        _rule(
            "secure-policy-wildcard",
            "Policy that matches every row when the tenant setting is missing",
            "error",
            """`OR current_setting(...) IS NULL`, `coalesce(setting, tenant_id)`,
`tenant_id = tenant_id` or `LIKE setting` turn a missing, NULL or '%' setting into access to
every tenant's rows: the policy fails open.""",
            """Compare the tenant column with the setting only, so a missing setting matches no
row (fail closed).""",
        ),
        _rule(
            "secure-command-uncovered",
            "Command granted but covered by no policy",
            "info",
            """With row level security on, a command no permissive policy covers is denied,
even though it is granted. That is safe, but usually not what the grant meant.""",
            """Add a policy for the command, or revoke the privilege.""",
        ),
        _rule(
            "secure-definer-returns-tenant-rows",
            "SECURITY DEFINER function returns tenant rows",
            "error",
            """A SECURITY DEFINER function reads with its owner's rights: when the owner owns
the tables or bypasses row level security, the rows it returns are not filtered by the
caller's tenant.""",
            """Make it SECURITY INVOKER, or filter by the current tenant inside it, and grant
EXECUTE only to the roles that need it.""",
        ),
        _rule(
            "secure-matview-exposes-tenants",
            "Materialized view of tenant data readable by the application",
            "error",
            """A materialized view stores rows read with its owner's rights and has no row
level security of its own: every tenant's rows are visible to whoever may select from it.""",
            """Revoke SELECT from the application role and expose it through a security_invoker
view or function that filters by tenant.""",
        ),
        _rule(
            "secure-sequence-shared",
            "Sequence of a tenant table usable by the application",
            "warning",
            """A sequence is shared by every tenant: reading or advancing it tells a tenant how
many rows all tenants inserted, and when.""",
            """Revoke the sequence privileges and use an identity column (no sequence
privilege needed) or a random key.""",
        ),
        _rule(
            "secure-unique-not-tenant-scoped",
            "Unique key across tenants",
            "warning",
            """A unique key that does not include the tenant column is checked across every
tenant's rows, policies or not: a duplicate-key error tells a tenant that another tenant has
the value (an existence oracle), and blocks it from using the value.""",
            """Put the tenant column first in the key.""",
        ),
        _rule(
            "secure-fk-missing-tenant-key",
            "Foreign key without the tenant column",
            "error",
            """Foreign keys are checked without row level security. A key that does not carry
the tenant lets a row point at another tenant's parent, and its errors reveal which parent
ids exist in other tenants.""",
            """Reference (tenant_id, id): add a unique key on the parent and make the foreign
key composite.""",
        ),
        _rule(
            "secure-indirect-without-policy",
            "Tenant rows without a tenant column and without a policy",
            "error",
            """The table has no tenant column but its rows belong to a tenant through a
foreign key; without row level security joining to the parent, every tenant reads them.""",
            """Enable and force row level security with a policy that joins to the parent
(EXISTS over the parent, whose own policy then applies).""",
        ),
        _rule(
            "secure-pii-plaintext-password",
            "Passwords stored readable",
            "error",
            """A password column holds plain text or a fast unsalted digest (md5, sha1): anyone
who reads the table, a backup or a replica learns the passwords or cracks them in minutes.""",
            """Store a slow salted hash (bcrypt via pgcrypto's crypt(..., gen_salt('bf')),
or argon2 in the application) and compare with crypt(candidate, stored).""",
        ),
        _rule(
            "secure-pii-column-privileges",
            "Personal data readable with the whole table",
            "warning",
            """Roles that read the table read its personal columns too, although most queries
need none of them.""",
            """Revoke SELECT on the table and grant SELECT on the other columns; give the
personal columns only to the roles that need them.""",
        ),
        _rule(
            "secure-pii-masking-view",
            "Personal data without a masked view",
            "info",
            """Support, analytics and exports usually need to recognise a row, not read the
full value.""",
            """Offer a view that masks the column (first letter and domain of an email, last
digits of a card) and grant that instead of the table.""",
        ),
        _rule(
            "secure-pii-encrypt",
            "Personal data stored in clear",
            "info",
            """Values that must be read back (addresses, national ids, IBANs) are in clear in
the table, its backups and its replicas.""",
            """Encrypt with pgcrypto's pgp_sym_encrypt under a key held outside the database
(a setting per session), decrypt with pgp_sym_decrypt where needed.""",
        ),
        _rule(
            "secure-pii-hash-lookup",
            "Lookup column stored in clear",
            "info",
            """A column used only for equality lookups (an email to log in with) does not need
its clear value in the table.""",
            """Keep a keyed hash (hmac(value, key, 'sha256')) for lookups, never plain md5 or
sha, which dictionaries reverse.""",
        ),
        _rule(
            "secure-pii-retention",
            "Personal data kept without a retention rule",
            "info",
            """Personal data kept forever grows the harm of every leak and conflicts with
retention duties.""",
            """Delete or anonymise rows older than the retention period on a schedule; the
finding gives the statement.""",
        ),
    )
}


def report_rules() -> dict[str, Rule]:
    """The review's registered rules and the audit's own, for the renderers."""
    return {**{r.id: r for r in all_rules()}, **SECURE_RULES}


__all__ = ["SECURE_RULES", "report_rules"]
