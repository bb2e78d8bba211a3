"""Constants and patterns in a PostgreSQL parse tree, and the text they were written as.

classify() says what kind of predicate a comparison is (an equality, a range, a pattern with a
leading wildcard…), is_literal() whether an operand is a constant written in the text, and
SourceText gives that constant back exactly as written; bare_sql() prints an expression with
its column references reduced to bare column names, as an expression index would hold it.
"""

from __future__ import annotations

import copy
from typing import Any

from pglast import ast, enums
from pglast.parser import ParseError, scan

from dbarchitect.dialects.postgres.tune import scopes
from dbarchitect.tune.model import PredicateOp

_CONTAINS = frozenset({"@>", "<@", "?", "?|", "?&", "&&"})
_K = enums.A_Expr_Kind

# --- classification -----------------------------------------------------------------------


def classify(e: Any) -> tuple[PredicateOp, bool]:
    """The predicate kind of a comparison, and whether it is a leading-wildcard pattern."""
    kind, op = e.kind, opname(e.name)
    if kind in (_K.AEXPR_LIKE, _K.AEXPR_ILIKE) or op in ("~~", "~~*"):
        pattern = _pattern(e.rexpr)
        if op not in ("~~", "~~*") or pattern is None:
            return "other", False  # NOT LIKE, or a pattern only known at run time
        leading = pattern[:1] in ("%", "_")
        if op == "~~*" or leading:
            return "like_infix", leading
        unescaped = pattern.replace("\\\\", "").replace("\\%", "").replace("\\_", "")
        return ("range" if "%" in unescaped or "_" in unescaped else "eq"), False
    if kind in (_K.AEXPR_BETWEEN, _K.AEXPR_BETWEEN_SYM):
        return "range", False
    if kind in (_K.AEXPR_OP, _K.AEXPR_OP_ANY, _K.AEXPR_IN) and op == "=":
        return "eq", False
    if kind == _K.AEXPR_NOT_DISTINCT:
        return "eq", False
    if kind in (_K.AEXPR_OP, _K.AEXPR_OP_ANY) and op in ("<", "<=", ">", ">="):
        return "range", False
    if kind == _K.AEXPR_OP and op in _CONTAINS:
        return "contains", False
    if kind == _K.AEXPR_OP and op == "@@":
        return "fts", False
    return "other", False


def _pattern(node: Any) -> str | None:
    while isinstance(node, ast.TypeCast | ast.CollateClause):
        node = node.arg
    if isinstance(node, ast.A_Const) and isinstance(node.val, ast.String):
        return str(node.val.sval)
    return None


def opname(names: Any) -> str:
    """An operator's name without its schema (`=` for `OPERATOR(pg_catalog.=)`)."""
    return str(names[-1].sval) if names else ""


def is_literal(node: Any) -> bool:
    """A constant in the text: 'x', 42, -1.5, date '…', '…'::type, arithmetic of them."""
    if isinstance(node, ast.A_Const):
        return not node.isnull
    if isinstance(node, ast.TypeCast):
        return is_literal(node.arg)
    if isinstance(node, ast.A_Expr) and node.kind == _K.AEXPR_OP:
        return (node.lexpr is None or is_literal(node.lexpr)) and is_literal(node.rexpr)
    return False


def integer(node: Any) -> int | None:
    """The value of an integer constant, else None."""
    if isinstance(node, ast.A_Const) and isinstance(node.val, ast.Integer):
        return int(node.val.ival or 0)
    return None


# --- source text --------------------------------------------------------------------------


def bare_sql(node: Any, rename: dict[int, str]) -> str:
    """`node` printed with each column reference replaced by its bare column name."""
    clone = copy.deepcopy(node)
    _rename_refs(node, clone, rename)
    return scopes.deparse(clone)


def _rename_refs(orig: Any, clone: Any, rename: dict[int, str]) -> None:
    if isinstance(orig, tuple):
        for o, c in zip(orig, clone, strict=True):
            _rename_refs(o, c, rename)
    elif isinstance(orig, ast.ColumnRef):
        if id(orig) in rename:
            clone.fields = (ast.String(sval=rename[id(orig)]),)
    elif isinstance(orig, ast.Node):
        for name in scopes.slots(orig):
            _rename_refs(getattr(orig, name, None), getattr(clone, name, None), rename)


class SourceText:
    """One statement's text and its tokens (PostgreSQL's scanner), to give back a constant
    exactly as written: pglast's tree keeps no position for constants, but a comparison keeps
    its operator's, and the constant is the shortest run of tokens beside the operator that
    parses to the same tree."""

    def __init__(self, sql: str) -> None:
        self.sql = sql
        self.tokens = [(t.start, t.end + 1) for t in scan(sql)]
        self.starts = {start: i for i, (start, _) in enumerate(self.tokens)}

    def literal(self, node: Any, operator: int | None, *, before: bool) -> str | None:
        """The source text of constant `node`, written just before (or after) the operator
        token at `operator`; None if it cannot be found."""
        at = self.starts.get(operator if operator is not None else -1)
        if at is None:
            return None
        want, n = scopes.deparse(node), len(self.tokens)
        spans = [(j, at - 1) for j in range(at - 1, max(-1, at - 41), -1)] if before else []
        spans += [] if before else [(at + 1, j) for j in range(at + 1, min(n, at + 41))]
        for first, last in spans:
            text = self.sql[self.tokens[first][0] : self.tokens[last][1]]
            try:
                target = scopes.targets(f"SELECT {text}")
            except ParseError:
                continue
            if len(target) == 1 and scopes.deparse(target[0].val) == want:
                return text
        return None
