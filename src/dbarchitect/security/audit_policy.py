"""Does a policy expression keep rows inside the current tenant?

Policies are read as PostgreSQL prints them (pg_policies), parsed with pglast and judged by
shape, since the value of the setting is unknown:
- `yes`: the tenant column is compared with something that is not the row itself (a setting,
  a function, a subquery), or passed to a function (`has_role_on_account(account_id)`), or the
  row is tied through a subquery to a tenant table (whose own policies then apply), or to the
  caller's identity (`user_id = auth.uid()`: the caller's own rows, whatever the tenant);
- `wildcard`: the expression matches every row when the setting is missing, NULL or '%'
  (`OR current_setting(...) IS NULL`, `coalesce(setting, tenant_id)`, `tenant_id = tenant_id`,
  `LIKE setting`);
- `true`: the literal true (reported by the review's always-true-policy);
- `no`: anything else (the tenant is not constrained).
AND is `yes` when any conjunct is; OR only when every branch is.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from pglast import ast, parse_sql
from pglast.enums import A_Expr_Kind, BoolExprType, NullTestType, SubLinkType
from pglast.parser import ParseError

Verdict = Literal["yes", "no", "wildcard", "true"]
_LIKE_OPERATORS = frozenset({"~~", "~~*"})


def judge(expression: str | None, column: str, tenant_tables: frozenset[str]) -> Verdict:
    """The verdict on `expression` for tenant column `column`. `tenant_tables` names (bare and
    schema-qualified) the row level secured tenant tables a subquery may tie rows to.
    Unparseable text is given the benefit of the doubt (`yes`)."""
    if expression is None:
        return "no"
    try:
        stmt = parse_sql(f"SELECT {expression}")[0].stmt
    except ParseError:
        return "yes"
    assert isinstance(stmt, ast.SelectStmt) and stmt.targetList
    target = stmt.targetList[0]
    assert isinstance(target, ast.ResTarget)
    return _Judge(column.lower(), tenant_tables).node(target.val)


def _walk(node: object) -> Iterator[ast.Node]:
    """Every AST node under `node`, itself included."""
    if isinstance(node, (list, tuple)):
        for item in node:
            yield from _walk(item)
        return
    if not isinstance(node, ast.Node):
        return
    yield node
    for name in _slots(node):
        yield from _walk(getattr(node, name, None))


def _slots(node: ast.Node) -> tuple[str, ...]:
    """The attribute names of a pglast node (declared per class in __slots__)."""
    return tuple(getattr(type(node), "__slots__", ()))


def _strip(node: object) -> object:
    while isinstance(node, ast.TypeCast):
        node = node.arg
    return node


class _Judge:
    def __init__(self, column: str, tenant_tables: frozenset[str]) -> None:
        self.column = column
        self.tables = tenant_tables

    def is_column(self, node: object) -> bool:
        node = _strip(node)
        if not isinstance(node, ast.ColumnRef) or not node.fields:
            return False
        last = node.fields[-1]
        return isinstance(last, ast.String) and (last.sval or "").lower() == self.column

    def mentions_column(self, node: object) -> bool:
        """Whether the row's tenant column appears outside subqueries."""
        if isinstance(node, ast.SubLink):
            return False
        if self.is_column(node):
            return True
        if isinstance(node, (list, tuple)):
            return any(self.mentions_column(n) for n in node)
        if not isinstance(node, ast.Node):
            return False
        return any(self.mentions_column(getattr(node, s, None)) for s in _slots(node))

    def reads_tenant_table(self, node: object) -> bool:
        for n in _walk(node):
            if isinstance(n, ast.RangeVar):
                names = {n.relname, f"{n.schemaname}.{n.relname}" if n.schemaname else n.relname}
                if names & self.tables:
                    return True
        return False

    def node(self, node: object) -> Verdict:
        node = _strip(node)
        if isinstance(node, ast.BoolExpr):
            return self.boolean(node)
        if isinstance(node, ast.A_Const):
            return "true" if isinstance(node.val, ast.Boolean) and node.val.boolval else "no"
        if isinstance(node, ast.A_Expr):
            return self.operator(node)
        if isinstance(node, ast.NullTest):
            if node.nulltesttype == NullTestType.IS_NULL and any(
                isinstance(n, (ast.FuncCall, ast.SQLValueFunction)) for n in _walk(node.arg)
            ):
                return "wildcard"
            return "no"
        if isinstance(node, ast.FuncCall):
            return "yes" if any(self.is_column(a) for a in node.args or ()) else "no"
        if isinstance(node, ast.SubLink):
            return self.sublink(node)
        return "no"

    def boolean(self, node: ast.BoolExpr) -> Verdict:
        parts = [self.node(a) for a in node.args or ()]
        if node.boolop == BoolExprType.AND_EXPR:
            if "yes" in parts:
                return "yes"
            return "wildcard" if "wildcard" in parts else "no"
        if node.boolop == BoolExprType.OR_EXPR:
            if parts and all(p == "yes" for p in parts):
                return "yes"
            return "wildcard" if "wildcard" in parts else "no"
        return "no"  # NOT

    def operator(self, node: ast.A_Expr) -> Verdict:
        name = node.name[-1].sval if node.name and isinstance(node.name[-1], ast.String) else ""
        left, right = node.lexpr, node.rexpr
        if node.kind in (A_Expr_Kind.AEXPR_LIKE, A_Expr_Kind.AEXPR_ILIKE) or (
            name in _LIKE_OPERATORS
        ):
            return "wildcard" if self.is_column(left) else "no"
        if node.kind in (A_Expr_Kind.AEXPR_OP_ANY, A_Expr_Kind.AEXPR_IN) and name == "=":
            return "yes" if self.is_column(left) and not self.mentions_column(right) else "no"
        if node.kind != A_Expr_Kind.AEXPR_OP or name != "=":
            return "no"
        for side, other in ((left, right), (right, left)):
            if self.is_column(side):
                return "wildcard" if self.mentions_column(other) else "yes"
        for side, other in ((left, right), (right, left)):
            if self.caller_scoped(side, other):
                return "yes"
        for side, other in ((left, right), (right, left)):
            if self.node(other) == "true":  # has_role(account_id) = true
                return self.node(side)
        return "no"

    @staticmethod
    def caller_scoped(side: object, other: object) -> bool:
        """`column = f()` where f() reads only the session (auth.uid(), current_user)."""
        if not isinstance(_strip(side), ast.ColumnRef):
            return False
        nodes = list(_walk(other))
        return any(isinstance(n, (ast.FuncCall, ast.SQLValueFunction)) for n in nodes) and not any(
            isinstance(n, (ast.ColumnRef, ast.SubLink)) for n in nodes
        )

    def sublink(self, node: ast.SubLink) -> Verdict:
        if node.subLinkType == SubLinkType.ANY_SUBLINK and self.is_column(node.testexpr):
            return "yes"
        if node.subLinkType not in (SubLinkType.EXISTS_SUBLINK, SubLinkType.ANY_SUBLINK):
            return "no"
        select = node.subselect
        if self.reads_tenant_table(select):
            return "yes"
        if isinstance(select, ast.SelectStmt) and select.whereClause is not None:
            return self.node(select.whereClause)
        return "no"


__all__ = ["Verdict", "judge"]
