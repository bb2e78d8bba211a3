"""Spec expressions as PostgreSQL prints them back: the implicit casts made visible.

PostgreSQL stores a CHECK, a default or an index predicate as a parse tree after type
resolution and prints it back with the casts it added: `price > 0` on a numeric column comes
back as `(price > (0)::numeric)`, `name IN ('a', 'b')` on a varchar as
`((name)::text = ANY ((ARRAY['a'::character varying, …])::text[]))`. To design a schema that
equals what the catalog will say, the common cases are resolved here the way the server
resolves them: comparisons and arithmetic between columns and literals, IN lists, BETWEEN,
LIKE and regular expressions, text functions over varchar, COALESCE, negative numbers.
Anything else is printed as written (valid SQL; the catalog may then add casts we did not).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from pglast import ast, parse_sql
from pglast.enums import A_Expr_Kind, BoolExprType, BoolTestType, NullTestType
from pglast.enums.primnodes import SQLValueFunctionOp
from pglast.parser import ParseError
from pglast.stream import RawStream

from dbarchitect.design.build_designer import ExpressionError, Role
from dbarchitect.dialects.postgres.quoting import literal, quote
from dbarchitect.model import Column

# Internal type names (PostgreSQL's own) and how a cast to each is printed.
CAST_NAMES = {
    "int2": "smallint",
    "int4": "integer",
    "int8": "bigint",
    "numeric": "numeric",
    "float4": "real",
    "float8": "double precision",
    "text": "text",
    "varchar": "character varying",
    "bpchar": "bpchar",
    "bool": "boolean",
    "date": "date",
    "time": "time without time zone",
    "timestamp": "timestamp without time zone",
    "timestamptz": "timestamp with time zone",
    "uuid": "uuid",
    "jsonb": "jsonb",
    "bytea": "bytea",
}
_PREFIXES = (
    ("character varying", "varchar"),
    ("character", "bpchar"),
    ("numeric", "numeric"),
    ("timestamp with time zone", "timestamptz"),
    ("timestamp without time zone", "timestamp"),
    ("time without time zone", "time"),
    ("double precision", "float8"),
)
_EXACT = {
    "smallint": "int2",
    "integer": "int4",
    "bigint": "int8",
    "real": "float4",
    "text": "text",
    "boolean": "bool",
    "date": "date",
    "uuid": "uuid",
    "jsonb": "jsonb",
    "bytea": "bytea",
}
_TYPE_NAMES = {  # pglast TypeName (last part) → internal
    "int2": "int2",
    "int4": "int4",
    "int8": "int8",
    "numeric": "numeric",
    "float4": "float4",
    "float8": "float8",
    "text": "text",
    "varchar": "varchar",
    "bpchar": "bpchar",
    "bool": "bool",
    "date": "date",
    "time": "time",
    "timestamp": "timestamp",
    "timestamptz": "timestamptz",
    "uuid": "uuid",
    "jsonb": "jsonb",
    "bytea": "bytea",
}
_INTS = ("int2", "int4", "int8")
_NUMBERS = (*_INTS, "numeric", "float4", "float8")
_STRINGS = ("text", "varchar", "bpchar")
_COMPARE = frozenset({"=", "<>", "<", ">", "<=", ">="})
_ARITH = frozenset({"+", "-", "*", "/", "%"})
_PATTERN = frozenset({"~~", "!~~", "~~*", "!~~*", "~", "~*", "!~", "!~*"})
# Functions over text: a varchar argument is cast to text; the result type.
_TEXT_FUNCTIONS = {
    "lower": "text",
    "upper": "text",
    "btrim": "text",
    "ltrim": "text",
    "rtrim": "text",
    "initcap": "text",
    "length": "int4",
    "char_length": "int4",
    "character_length": "int4",
    "octet_length": "int4",
    "md5": "text",
}
_OTHER_FUNCTIONS = {"now": "timestamptz", "gen_random_uuid": "uuid", "random": "float8"}
_SVF = {
    SQLValueFunctionOp.SVFOP_CURRENT_DATE: ("CURRENT_DATE", "date"),
    SQLValueFunctionOp.SVFOP_CURRENT_TIMESTAMP: ("CURRENT_TIMESTAMP", "timestamptz"),
    SQLValueFunctionOp.SVFOP_LOCALTIMESTAMP: ("LOCALTIMESTAMP", "timestamp"),
}

Typed = tuple[str, str | None]  # printed text, internal type (None: unknown)
UNKNOWN = "unknown"  # a string literal whose type comes from its context


def internal_type(column: Column) -> str | None:
    """The internal type of a column from its printed type text."""
    if column.logical == "enum":
        return "enum:" + column.type
    text = column.type
    if text in _EXACT:
        return _EXACT[text]
    for prefix, name in _PREFIXES:
        if text == prefix or text.startswith(prefix + "("):
            return name
    return None


def cast_name(t: str) -> str:
    """How PostgreSQL prints a cast to internal type `t`."""
    return t[5:] if t.startswith("enum:") else CAST_NAMES[t]


def expression(text: str, columns: Mapping[str, Column], role: Role) -> str:
    """`text` (PostgreSQL syntax) in the form the catalog prints it for `role`."""
    try:
        stmt = parse_sql(f"SELECT {text}")
    except ParseError as exc:
        raise ExpressionError(f"not a PostgreSQL expression: {exc}") from None
    select = stmt[0].stmt
    targets = select.targetList if isinstance(select, ast.SelectStmt) else None
    if not targets or len(targets) != 1:
        raise ExpressionError("not a single expression")
    target = targets[0]
    assert isinstance(target, ast.ResTarget)
    types = {name: internal_type(c) for name, c in columns.items()}
    printer = _Printer(types)
    out, kind = printer.node(target.val)
    if role == "default":
        column = next(iter(columns.values()))
        own = types.get(column.name)
        if kind == UNKNOWN and own is not None:
            return cast_literal(out, own)
        return _bare(out)
    if role == "index":
        return out if isinstance(target.val, ast.FuncCall | ast.ColumnRef) else f"({out})"
    return out if out.startswith("(") and _balanced(out) else f"({out})"


def _bare(text: str) -> str:
    return text[1:-1] if text.startswith("(") and text.endswith(")") and _balanced(text) else text


def _balanced(text: str) -> bool:
    """Whether the outer parentheses of `text` enclose all of it."""
    depth = 0
    for i, ch in enumerate(text):
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0 and i < len(text) - 1:
            return False
    return depth == 0


def cast_literal(text: str, t: str) -> str:
    """A string literal cast to `t`, its value normalised the way the type prints it."""
    if t == "timestamptz" or t == "timestamp" or t == "date" or t == "time":
        value = text[1:-1].replace("''", "'")
        text = literal(normalize_temporal(value, t))
    return f"{text}::{cast_name(t)}"


def normalize_temporal(value: str, t: str) -> str:
    """An ISO date/time as PostgreSQL prints it (timestamps with time zone in UTC)."""
    try:
        if t == "date":
            return dt.date.fromisoformat(value).isoformat()
        if t == "time":
            return dt.time.fromisoformat(value).isoformat()
        stamp = dt.datetime.fromisoformat(value)
    except ValueError:
        return value
    if t == "timestamptz":
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=dt.UTC)
        stamp = stamp.astimezone(dt.UTC).replace(tzinfo=None)
        return stamp.isoformat(sep=" ") + "+00"
    return stamp.replace(tzinfo=None).isoformat(sep=" ")


class _Printer:
    def __init__(self, types: Mapping[str, str | None]) -> None:
        self.types = types

    def node(self, n: Any) -> Typed:
        if isinstance(n, ast.ColumnRef):
            return self._column(n)
        if isinstance(n, ast.A_Const):
            return _const(n)
        if isinstance(n, ast.TypeCast):
            return self._cast(n)
        if isinstance(n, ast.BoolExpr):
            return self._bool(n)
        if isinstance(n, ast.NullTest):
            arg, _ = self.node(n.arg)
            word = "IS NULL" if n.nulltesttype == NullTestType.IS_NULL else "IS NOT NULL"
            return f"({arg} {word})", "bool"
        if isinstance(n, ast.BooleanTest):
            arg, _ = self.node(n.arg)
            word = BoolTestType(n.booltesttype or 0).name.replace("_", " ")
            return f"({arg} {word})", "bool"
        if isinstance(n, ast.A_Expr):
            return self._a_expr(n)
        if isinstance(n, ast.FuncCall):
            return self._func(n)
        if isinstance(n, ast.CoalesceExpr):
            return self._coalesce(n)
        if isinstance(n, ast.SQLValueFunction) and n.op in _SVF:
            return _SVF[n.op]
        return _raw(n), None

    def _column(self, n: ast.ColumnRef) -> Typed:
        fields = n.fields or ()
        name = fields[-1].sval if fields and isinstance(fields[-1], ast.String) else None
        if name is None or name not in self.types:
            raise ExpressionError(f"unknown column {_raw(n)}")
        return quote(name), self.types[name]

    def _cast(self, n: ast.TypeCast) -> Typed:
        arg, kind = self.node(n.arg)
        names = n.typeName.names or () if n.typeName is not None else ()
        last = names[-1].sval if names and isinstance(names[-1], ast.String) else ""
        t = _TYPE_NAMES.get(last or "")
        if t is None or n.typeName is None or n.typeName.typmods or n.typeName.arrayBounds:
            return _raw(n), None
        if kind == t:
            return arg, t
        if kind == UNKNOWN:
            return cast_literal(arg, t), t
        return f"({_bare_simple(arg)})::{cast_name(t)}", t

    def _bool(self, n: ast.BoolExpr) -> Typed:
        parts = [self._as_bool(a) for a in n.args or ()]
        if n.boolop == BoolExprType.NOT_EXPR:
            return f"(NOT {parts[0]})", "bool"
        word = " AND " if n.boolop == BoolExprType.AND_EXPR else " OR "
        return "(" + word.join(parts) + ")", "bool"

    def _as_bool(self, n: Any) -> str:
        text, kind = self.node(n)
        return cast_literal(text, "bool") if kind == UNKNOWN else text

    def _a_expr(self, n: ast.A_Expr) -> Typed:
        op = n.name[-1].sval if n.name else ""
        kind = n.kind
        if kind == A_Expr_Kind.AEXPR_IN:
            return self._in(n, op)
        if kind in (A_Expr_Kind.AEXPR_BETWEEN, A_Expr_Kind.AEXPR_NOT_BETWEEN):
            lo, hi = n.rexpr or (None, None)
            if kind == A_Expr_Kind.AEXPR_NOT_BETWEEN:
                a, _ = self._binary("<", n.lexpr, lo)
                b, _ = self._binary(">", n.lexpr, hi)
                return f"({a} OR {b})", "bool"
            a, _ = self._binary(">=", n.lexpr, lo)
            b, _ = self._binary("<=", n.lexpr, hi)
            return f"({a} AND {b})", "bool"
        if kind in (A_Expr_Kind.AEXPR_OP, A_Expr_Kind.AEXPR_LIKE, A_Expr_Kind.AEXPR_ILIKE):
            if n.lexpr is None:
                return self._unary(op, n.rexpr)
            return self._binary(op, n.lexpr, n.rexpr)
        return _raw(n), None

    def _unary(self, op: str, arg: Any) -> Typed:
        text, kind = self.node(arg)
        return f"({op}{text})", kind

    def _binary(self, op: str, left: Any, right: Any) -> Typed:
        lt, lk = self.node(left)
        rt, rk = self.node(right)
        if op in _PATTERN:
            lt, rt = _to_text(lt, lk), _to_text(rt, rk)
            return f"({lt} {op} {rt})", "bool"
        if op == "||":
            return f"({_to_text(lt, lk)} || {_to_text(rt, rk)})", "text"
        lt, lk, rt, rk = _coerce(lt, lk, rt, rk)
        result = "bool" if op in _COMPARE else (lk if lk == rk else _wider(lk, rk))
        return f"({lt} {op} {rt})", result

    def _in(self, n: ast.A_Expr, op: str) -> Typed:
        left, lk = self.node(n.lexpr)
        items = [self.node(x) for x in n.rexpr or ()]
        quantifier = "ANY" if op == "=" else "ALL"
        if lk in ("varchar", "bpchar") and all(k == UNKNOWN for _, k in items):
            elements = ", ".join(cast_literal(t, lk) for t, _ in items)
            return (
                f"(({left})::text {op} {quantifier} ((ARRAY[{elements}])::text[]))",
                "bool",
            )
        out = []
        for text, kind in items:
            if kind == UNKNOWN and lk is not None:
                out.append(cast_literal(text, lk))
            elif lk is not None and kind is not None and kind != lk and _numeric_cast(kind, lk):
                out.append(f"({_bare_simple(text)})::{cast_name(lk)}")
            else:
                out.append(text)
        return f"({left} {op} {quantifier} (ARRAY[{', '.join(out)}]))", "bool"

    def _func(self, n: ast.FuncCall) -> Typed:
        names = [s.sval for s in n.funcname or () if isinstance(s, ast.String)]
        name = names[-1] if names else ""
        args = [self.node(a) for a in n.args or ()]
        if name in _TEXT_FUNCTIONS and n.funcformat != 3:  # not trim()'s SQL syntax
            texts = [_to_text(t, k) for t, k in args]
            return f"{name}({', '.join(texts)})", _TEXT_FUNCTIONS[name]
        if name == "substring" and args:
            # A keyword as a function name: PostgreSQL prints it quoted.
            rest = [t for t, _ in args[1:]]
            texts = [_to_text(*args[0]), *rest]
            return f'"substring"({", ".join(texts)})', "text"
        if name == "round" and len(args) == 1:
            return f"round({args[0][0]})", args[0][1]
        if name == "btrim":
            return f"btrim({', '.join(_to_text(t, k) for t, k in args)})", "text"
        if name in _OTHER_FUNCTIONS and not args:
            return f"{name}()", _OTHER_FUNCTIONS[name]
        if name == "abs" and len(args) == 1:
            return f"abs({args[0][0]})", args[0][1]
        return _raw(n), None

    def _coalesce(self, n: ast.CoalesceExpr) -> Typed:
        args = [self.node(a) for a in n.args or ()]
        kinds = {k for _, k in args if k not in (UNKNOWN, None)}
        target = kinds.pop() if len(kinds) == 1 else None
        out = []
        for text, kind in args:
            if kind == UNKNOWN and target is not None:
                out.append(cast_literal(text, target))
            elif target is not None and kind is not None and kind != target:
                out.append(f"({_bare_simple(text)})::{cast_name(target)}")
            else:
                out.append(text)
        return f"COALESCE({', '.join(out)})", target


def _const(n: ast.A_Const) -> Typed:
    if n.isnull:
        return "NULL", None
    v = n.val
    if isinstance(v, ast.Integer):
        ival = v.ival or 0
        return (str(ival), "int4") if ival >= 0 else (f"'{ival}'::integer", "int4")
    if isinstance(v, ast.Float):
        text = str(v.fval)
        if text.startswith("-"):
            return f"'{text}'::numeric", "numeric"
        return text, "numeric"
    if isinstance(v, ast.Boolean):
        return ("true" if v.boolval else "false"), "bool"
    if isinstance(v, ast.String):
        return literal(v.sval or ""), UNKNOWN
    return _raw(n), None


def _raw(n: Any) -> str:
    return str(RawStream()(n))


def _bare_simple(text: str) -> str:
    """A cast's argument: PostgreSQL prints `(x)::t` around a column or constant."""
    return _bare(text)


def _to_text(text: str, kind: str | None) -> str:
    if kind == UNKNOWN:
        return f"{text}::text"
    if kind in ("varchar", "bpchar"):
        return f"({text})::text"
    return text


def _numeric_cast(kind: str, target: str) -> bool:
    """Whether a value of `kind` compared with `target` is cast to `target`."""
    if kind in _INTS and target in ("numeric", "float4", "float8"):
        return True
    return kind == "numeric" and target in ("float4", "float8")


def _wider(a: str | None, b: str | None) -> str | None:
    order = ["int2", "int4", "int8", "numeric", "float4", "float8"]
    if a is not None and b is not None and a in order and b in order:
        return order[max(order.index(a), order.index(b))]
    return a or b


def _coerce(
    lt: str, lk: str | None, rt: str, rk: str | None
) -> tuple[str, str | None, str, str | None]:
    """Both operands of a comparison or arithmetic operator as PostgreSQL resolves them."""
    if lk == UNKNOWN and rk not in (UNKNOWN, None):
        rt2, rk2, lt2, lk2 = _coerce(rt, rk, lt, lk)
        return lt2, lk2, rt2, rk2
    if rk == UNKNOWN and lk not in (UNKNOWN, None):
        assert lk is not None
        if lk == "varchar":
            return f"({lt})::text", "text", cast_literal(rt, "text"), "text"
        return lt, lk, cast_literal(rt, lk), lk
    if lk is None or rk is None or lk == rk:
        return lt, lk, rt, rk
    if lk in _STRINGS and rk in _STRINGS:
        if lk != "text":
            lt = f"({lt})::text"
        if rk != "text":
            rt = f"({rt})::text"
        return lt, "text", rt, "text"
    if lk in _NUMBERS and rk in _NUMBERS:
        if lk in _INTS and rk in _INTS:
            return lt, lk, rt, rk
        if lk in ("float4", "float8") and rk in ("float4", "float8"):
            return lt, lk, rt, rk
        target = "float8" if "float4" in (lk, rk) or "float8" in (lk, rk) else "numeric"
        if lk != target and not (target == "float8" and lk == "float4"):
            lt, lk = f"({_bare(lt)})::{cast_name(target)}", target
        if rk != target and not (target == "float8" and rk == "float4"):
            rt, rk = f"({_bare(rt)})::{cast_name(target)}", target
        return lt, lk, rt, rk
    return lt, lk, rt, rk


__all__ = ["cast_literal", "expression", "internal_type", "normalize_temporal"]
