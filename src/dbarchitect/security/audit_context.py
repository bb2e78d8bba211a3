"""What every audit check reads: the schema, the catalog facts (when live), the tenancy and
the application role, with the small questions the checks share."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from dbarchitect.dialects.postgres.quoting import qname, quote
from dbarchitect.dialects.postgres.security import ObjectFacts, SecurityFacts
from dbarchitect.model import Function, Policy, Schema, Sequence, Table, View
from dbarchitect.review.finding import Finding, Severity
from dbarchitect.security.audit_rules import SECURE_RULES
from dbarchitect.security.tenancy import Tenancy

# Without catalog facts, policies only for these roles are taken as administrative.
_ADMIN_ROLE = re.compile(r"^(postgres|service_role|supabase_admin)$|admin", re.IGNORECASE)


@dataclass(frozen=True)
class AuditContext:
    schema: Schema
    facts: SecurityFacts | None
    tenancy: Tenancy
    app: str | None  # the application role; None when facts are unknown

    def finding(
        self,
        rule: str,
        kind: str,
        obj: str,
        message: str,
        fix: str | None,
        *,
        severity: Severity | None = None,
    ) -> Finding:
        """A finding of one of the audit's own rules (at its default severity unless
        `severity` is given)."""
        r = SECURE_RULES[rule]
        return Finding(
            rule=rule,
            severity=severity or r.severity,
            kind=kind,
            object=obj,
            message=message,
            rationale=r.problem.split("\n\n")[0],
            fix=fix,
        )

    @property
    def schema_tables(self) -> tuple[Table, ...]:
        return self.schema.tables

    @property
    def schema_views(self) -> tuple[View, ...]:
        return self.schema.views

    @property
    def schema_functions(self) -> tuple[Function, ...]:
        return self.schema.functions

    @property
    def schema_sequences(self) -> tuple[Sequence, ...]:
        return self.schema.sequences

    @cached_property
    def secured_tenant_names(self) -> frozenset[str]:
        """Bare and qualified names of tenant tables with RLS (a subquery over one is
        filtered by its policies)."""
        names: set[str] = set()
        for t in self.tenancy.tables:
            if t.rls_enabled:
                names |= {t.name, t.qualified}
        return frozenset(names)

    @cached_property
    def tenant_names(self) -> frozenset[str]:
        """Qualified names of every table holding tenant rows (direct or indirect)."""
        return frozenset(
            [t.qualified for t in self.tenancy.tables]
            + [i.table.qualified for i in self.tenancy.indirect]
        )

    def relation(self, qualified: str) -> ObjectFacts | None:
        return self.facts.relations.get(qualified) if self.facts else None

    def applies(self, policy: Policy) -> bool:
        """Whether `policy` applies to the application role (any non-admin role when the
        role is unknown)."""
        if self.facts is None or self.app is None:
            return not all(_ADMIN_ROLE.search(r) for r in policy.roles)
        reach = self.facts.role(self.app).can_become
        return any(r == "public" or r in reach for r in policy.roles)

    def granted(self, qualified: str, privilege: str) -> bool:
        """Whether the application role holds `privilege` on the relation (True when
        unknown)."""
        rel = self.relation(qualified)
        if rel is None or self.facts is None or self.app is None:
            return True
        return self.facts.may(self.app, rel, privilege)

    def exempt(self, table: Table) -> bool:
        """Whether no policy of `table` applies to the application role: it is superuser or
        BYPASSRLS, or has the owner's rights on a table that does not force RLS."""
        rel = self.relation(table.qualified)
        if self.facts is None or self.app is None or rel is None:
            return False
        if self.facts.bypasses_rls(self.app):
            return True
        return not table.rls_forced and self.facts.acts_as_owner(self.app, rel)

    def tenant_check(self, table: Table) -> str:
        """The tenant condition for `table`, failing closed when the setting is missing."""
        col = table.column(self.tenancy.column)
        cast = col.type if col is not None else "bigint"
        setting = self.tenancy.setting.replace("'", "''")
        return (
            f"{quote(self.tenancy.column)} = nullif(current_setting('{setting}', true), '')::{cast}"
        )


def table_sql(table: Table) -> str:
    return qname(table.schema, table.name)


__all__ = ["AuditContext", "table_sql"]
