"""Spec expressions (PostgreSQL syntax) as MariaDB prints them back.

MariaDB keeps a CHECK or a DEFAULT as its own re-printing of the parsed expression, not as
written: identifiers in backticks, operators in lower case (`and`, `is not null`, `like`),
parentheses only where precedence needs them, NOT pushed inward (`NOT (a > 1)` → `a <= 1`,
`NOT (x LIKE y)` → `x  not like y`), `%` as `MOD`, TRUE as 1, lower/upper as lcase/ucase,
function arguments separated by a bare comma, quotes escaped with a backslash. The common
forms are printed that way here from sqlglot's parse of the PostgreSQL text; anything else
falls back to sqlglot's MySQL output (valid SQL that MariaDB may print differently).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from dbarchitect.design.build_designer import ExpressionError, Role
from dbarchitect.dialects.mysql.quoting import backtick
from dbarchitect.model import Column

_COMPARE: dict[type[exp.Expr], str] = {
    exp.EQ: "=",
    exp.NEQ: "<>",
    exp.GT: ">",
    exp.GTE: ">=",
    exp.LT: "<",
    exp.LTE: "<=",
}
_NEGATED = {"=": "<>", "<>": "=", ">": "<=", ">=": "<", "<": ">=", "<=": ">"}
_ARITH: dict[type[exp.Expr], tuple[str, int]] = {
    exp.Add: ("+", 5),
    exp.Sub: ("-", 5),
    exp.Mul: ("*", 6),
    exp.Div: ("/", 6),
    exp.Mod: ("MOD", 6),
}
_FUNCTIONS = {"lower": "lcase", "upper": "ucase", "substring": "substr", "length": "char_length"}
_NOW = (exp.CurrentTimestamp, exp.CurrentDate, exp.CurrentTime, exp.Localtimestamp)
Prec = int
OR, AND, NOT, CMP, ADD, MUL, ATOM = 1, 2, 3, 4, 5, 6, 9


class _Fallback(Exception):
    """A form this printer does not know: use sqlglot's MySQL text instead."""


def expression(text: str, columns: Mapping[str, Column], role: Role) -> str:
    """`text` as MariaDB prints it for `role` (a default for the single column given)."""
    try:
        tree = sqlglot.parse_one(text, read="postgres")
    except ParseError as exc:
        raise ExpressionError(f"not a PostgreSQL expression: {exc}") from None
    for node in tree.walk():
        if isinstance(node, exp.Column) and node.name not in columns:
            raise ExpressionError(f"unknown column {node.name}")
        if role != "default" and isinstance(node, (*_NOW, exp.Uuid)):
            raise ExpressionError("MariaDB allows no current time or random value here")
    if role == "default":
        column = next(iter(columns.values()))
        own = _default(tree, column)
        if own is not None:
            return own
    try:
        out, _ = _condition(tree) if role in ("check", "where") else _print(tree)
    except _Fallback:
        out = tree.sql(dialect="mysql")
    operator = isinstance(tree, exp.Binary | exp.Unary) and not isinstance(
        tree, exp.DPipe | exp.Neg | exp.Paren
    )
    if role == "default" and operator:
        # MariaDB needs DEFAULT (expr) around an operator expression; it prints the
        # expression back without them.
        out = f"({out})"
    return out


def _default(tree: exp.Expr, column: Column) -> str | None:
    """Defaults MariaDB spells its own way: the current time, a new uuid."""
    if isinstance(tree, exp.CurrentTimestamp | exp.Localtimestamp):
        precision = column.type[column.type.find("(") :] if "(" in column.type else "()"
        return f"current_timestamp{precision}"
    if isinstance(tree, exp.CurrentDate):
        return "curdate()"
    if isinstance(tree, exp.Uuid):
        return "uuid()"
    return None


def string(value: str) -> str:
    """A string literal as MariaDB prints one inside an expression."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _wrap(part: tuple[str, Prec], at: Prec, strict: bool = False) -> str:
    text, prec = part
    return f"({text})" if prec < at or (strict and prec == at) else text


def _print(n: exp.Expr) -> tuple[str, Prec]:
    if isinstance(n, exp.Paren):
        return _print(n.this)
    if isinstance(n, exp.Column):
        return backtick(n.name), ATOM
    if isinstance(n, exp.Literal):
        return (string(n.this) if n.is_string else str(n.this)), ATOM
    if isinstance(n, exp.Boolean):
        return ("1" if n.this else "0"), ATOM
    if isinstance(n, exp.Null):
        return "NULL", ATOM
    if isinstance(n, exp.And | exp.Or):
        word, prec = ("and", AND) if isinstance(n, exp.And) else ("or", OR)
        return f"{_wrap(_condition(n.left), prec)} {word} {_wrap(_condition(n.right), prec)}", prec
    if isinstance(n, exp.Not):
        return _negate(n.this)
    if isinstance(n, exp.Binary) and type(n) in _COMPARE:
        op = _COMPARE[type(n)]
        return f"{_wrap(_print(n.left), CMP + 1)} {op} {_wrap(_print(n.right), CMP + 1)}", CMP
    if isinstance(n, exp.Binary) and type(n) in _ARITH:
        op, prec = _ARITH[type(n)]
        left = _wrap(_print(n.left), prec)
        return f"{left} {op} {_wrap(_print(n.right), prec, strict=True)}", prec
    if isinstance(n, exp.Neg):
        return f"-{_wrap(_print(n.this), ATOM)}", ATOM
    if isinstance(n, exp.DPipe):
        return f"concat({_print(n.left)[0]},{_print(n.right)[0]})", ATOM
    if isinstance(n, exp.Cast):
        return f"cast({_print(n.this)[0]} as {_cast_type(n.to)})", ATOM
    if isinstance(n, exp.Case):
        return _case(n), ATOM
    return _predicate(n, negated=False) or _call(n)


def _cast_type(to: exp.DataType) -> str:
    """A CAST's target as MariaDB prints it."""
    t = to.this
    params = [p.name for p in to.expressions]
    if t == exp.DataType.Type.DECIMAL:
        precision, scale = [*params, "0"][:2] if params else ["10", "0"]
        return f"decimal({precision},{scale})"
    if t in (exp.DataType.Type.TEXT, exp.DataType.Type.VARCHAR, exp.DataType.Type.CHAR):
        return "char charset utf8mb4"
    if t in (exp.DataType.Type.INT, exp.DataType.Type.BIGINT, exp.DataType.Type.SMALLINT):
        return "signed"
    if t == exp.DataType.Type.DATE:
        return "date"
    raise _Fallback


def _case(n: exp.Case) -> str:
    if n.this is not None:
        raise _Fallback
    parts = ["case"]
    for when in n.args.get("ifs") or ():
        parts.append(f"when {_print(when.this)[0]} then {_print(when.args['true'])[0]}")
    default = n.args.get("default")
    if default is not None:
        parts.append(f"else {_print(default)[0]}")
    parts.append("end")
    return " ".join(parts)


def _condition(n: exp.Expr) -> tuple[str, Prec]:
    """An operand of AND / OR: MariaDB prints a bare column there as `col <> 0`."""
    if isinstance(n, exp.Paren):
        return _condition(n.this)
    if isinstance(n, exp.Column):
        return f"{backtick(n.name)} <> 0", CMP
    return _print(n)


def _predicate(n: exp.Expr, *, negated: bool) -> tuple[str, Prec] | None:
    """IS NULL, LIKE, REGEXP, IN and BETWEEN, plain or negated."""

    def arg(x: exp.Expr) -> str:
        return _wrap(_print(x), CMP + 1)

    nt = "not " if negated else ""
    if isinstance(n, exp.Is) and isinstance(n.expression, exp.Null):
        return f"{arg(n.this)} is {nt}null", CMP
    if isinstance(n, exp.Is) and isinstance(n.expression, exp.Boolean):
        return f"{arg(n.this)} is {nt}{'true' if n.expression.this else 'false'}", CMP
    if isinstance(n, exp.Like | exp.ILike):
        # MariaDB prints a negated LIKE with two spaces before `not`.
        op = " not like" if negated else "like"
        return f"{arg(n.this)} {op} {arg(n.expression)}", CMP
    if isinstance(n, exp.RegexpLike):
        return f"{arg(n.this)} {nt}regexp {arg(n.expression)}", CMP
    if isinstance(n, exp.In) and n.expressions:
        items = ",".join(_print(x)[0] for x in n.expressions)
        return f"{arg(n.this)} {nt}in ({items})", CMP
    if isinstance(n, exp.Between):
        lo, hi = arg(n.args["low"]), arg(n.args["high"])
        return f"{arg(n.this)} {nt}between {lo} and {hi}", CMP
    return None


def _negate(n: exp.Expr) -> tuple[str, Prec]:
    """NOT x the way MariaDB simplifies it."""
    if isinstance(n, exp.Paren):
        return _negate(n.this)
    if isinstance(n, exp.Binary) and type(n) in _COMPARE:
        op = _NEGATED[_COMPARE[type(n)]]
        return f"{_wrap(_print(n.left), CMP + 1)} {op} {_wrap(_print(n.right), CMP + 1)}", CMP
    if isinstance(n, exp.And):
        return f"{_wrap(_negate(n.left), OR)} or {_wrap(_negate(n.right), OR)}", OR
    if isinstance(n, exp.Or):
        return f"{_wrap(_negate(n.left), AND)} and {_wrap(_negate(n.right), AND)}", AND
    if isinstance(n, exp.Not):
        return _condition(n.this)
    if isinstance(n, exp.Column):
        return f"{backtick(n.name)} = 0", CMP
    found = _predicate(n, negated=True)
    if found is not None:
        return found
    raise _Fallback


def _call(n: exp.Expr) -> tuple[str, Prec]:
    names: dict[type[exp.Expr], Callable[[exp.Expr], str]] = {
        exp.Lower: lambda x: "lcase",
        exp.Upper: lambda x: "ucase",
        exp.Length: lambda x: "char_length",
        exp.Abs: lambda x: "abs",
        exp.Coalesce: lambda x: "coalesce",
        exp.Trim: lambda x: "trim",
        exp.Substring: lambda x: "substr",
        exp.Round: lambda x: "round",
        exp.Nullif: lambda x: "nullif",
    }
    if isinstance(n, exp.Anonymous):
        name = _FUNCTIONS.get(n.name.lower(), n.name.lower())
        args = n.expressions
    elif type(n) in names and isinstance(n, exp.Func):
        name = names[type(n)](n)
        args = [a for a in (n.this, *n.expressions) if a is not None]
        for key in ("start", "length", "decimals", "expression"):
            if n.args.get(key) is not None and n.args[key] not in args:
                args.append(n.args[key])
        if isinstance(n, exp.Round) and len(args) == 1:
            args.append(exp.Literal.number(0))  # MariaDB prints round(x) as round(x,0)
    else:
        raise _Fallback
    return f"{name}({','.join(_print(a)[0] for a in args)})", ATOM


__all__ = ["expression", "string"]
