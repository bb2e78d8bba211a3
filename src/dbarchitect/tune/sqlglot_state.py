"""What the sqlglot analysis gathers while it walks one statement's scopes: tables, columns
read, predicates, joins, sort keys, findings and the role of each parameter marker.
"""

from __future__ import annotations

import re

from sqlglot import exp
from sqlglot.optimizer.scope import Scope

from dbarchitect.review.finding import Finding, Severity
from dbarchitect.tune.model import JoinKey, Predicate, Shape, SortKey
from dbarchitect.tune.sqlglot_resolve import Catalog, local_columns, resolve
from dbarchitect.tune.sqlglot_text import Parameter, Role, SourceText

_PLAIN = re.compile(r"[a-z_][a-z0-9_]*")


class State:
    """Everything gathered while walking the scopes of one statement."""

    def __init__(
        self, catalog: Catalog, text: SourceText, dialect: str, implicit_casts: bool
    ) -> None:
        self.catalog, self.text, self.dialect = catalog, text, dialect
        self.implicit_casts = implicit_casts
        self.tables: set[str] = set()
        self.reads: set[tuple[str, str]] = set()
        self.predicates: set[Predicate] = set()
        self.joins: set[JoinKey] = set()
        self.order_by: list[SortKey] = []
        self.group_by: list[SortKey] = []
        self.limit: int | None = None
        self.offset: int | None = None
        self.findings: set[Finding] = set()
        self.bound: dict[int, tuple[Role, str | None, str | None]] = {}

    def bind(self, node: exp.Expr, role: Role, table: str | None, column: str | None) -> None:
        """Say what the marker `node` stands for; the first rule to place a marker wins."""
        name = node.name if isinstance(node, exp.Placeholder) else ""
        if name.startswith("p") and name[1:].isdigit() and int(name[1:]) not in self.bound:
            self.bound[int(name[1:])] = (role, table, column)

    def find(self, rule: str, severity: Severity, message: str, fix: str) -> None:
        """Record a finding of rule tune/`rule` on the query."""
        self.findings.add(
            Finding(
                rule=f"tune/{rule}", severity=severity, kind="query", object="",
                message=message, fix=fix,
            )
        )  # fmt: skip

    def literal(self, node: exp.Expr) -> str | None:
        """The SQL text of a constant as written, or None when it is not a plain literal."""
        if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal):
            inner = self.literal(node.this)
            return None if inner is None else f"-{inner}"
        if isinstance(node, (exp.Literal, exp.HexString)):
            return self.text.span(node) or node.sql(dialect=self.dialect)
        if isinstance(node, (exp.Null, exp.Boolean)):
            return node.sql(dialect=self.dialect)
        return None

    def expression_text(self, node: exp.Expr, scope: Scope) -> str:
        """An expression over one table's columns, written with the real, unqualified names."""
        copy = node.copy()
        for orig, new in zip(local_columns(node), local_columns(copy), strict=True):
            real = resolve(orig, scope, self.catalog)
            name = real[0][1] if real else orig.name
            ident = exp.to_identifier(name, quoted=_PLAIN.fullmatch(name) is None)
            new.replace(exp.Column(this=ident))
        return str(copy.sql(dialect=self.dialect))

    def shape(self, writes: str | None) -> Shape:
        """What was gathered, in a stable order; `writes` is the table the statement writes."""
        return Shape(
            tables=tuple(sorted(self.tables)),
            predicates=tuple(sorted(self.predicates, key=_predicate_key)),
            joins=tuple(sorted(self.joins, key=lambda j: _join_key(j))),
            order_by=tuple(dict.fromkeys(self.order_by)),
            group_by=tuple(dict.fromkeys(self.group_by)),
            reads=tuple(sorted(self.reads)),
            limit=self.limit,
            offset=self.offset,
            writes=writes,
            findings=tuple(sorted(self.findings, key=Finding.sort_key)),
        )

    def parameters(self) -> list[Parameter]:
        """Every marker of the text in order, with what bind() said it stands for."""
        out = []
        for i, (start, end) in enumerate(self.text.markers):
            role, table, column = self.bound.get(i, ("other", None, None))
            out.append(
                Parameter(
                    start=start, end=end, text=self.text.original[start:end],
                    role=role, table=table, column=column,
                )
            )  # fmt: skip
        return out


def _predicate_key(p: Predicate) -> tuple[str, str, str, bool, str, bool]:
    return (p.table, p.column, p.op, p.expression, p.value or "", p.parameter)


def _join_key(j: JoinKey) -> tuple[str, str, str, str]:
    return (j.left_table, j.left_column, j.right_table, j.right_column)
