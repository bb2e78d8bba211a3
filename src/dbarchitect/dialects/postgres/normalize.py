"""A comparison form for expressions PostgreSQL prints differently for the same meaning.

PostgreSQL stores parse trees and prints them back as text, and that text does not always
parse back into the same tree. Two cases seen on real schemas (MusicBrainz):
- `col IN ('a', 'b')` on a varchar column prints as `(ARRAY['a'::varchar, …])::text[]`; parsed
  again, the cast is pushed into the elements and prints as `ARRAY[('a'::varchar)::text, …]`.
- a bare `NULL` in a UNION branch prints as `NULL::integer`; parsed again, the output column
  takes the name the cast implies and prints as `NULL::integer AS int4`.
So a check or view recreated from its printed text can come back with other text.
`expression_key` undoes both differences, so the diff does not rebuild what has not changed;
`stable` rewrites the text before it is sent, so that PostgreSQL builds the original tree
(the array cast kept outside, the `?column?` name kept) and prints the original text.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pglast import ast, parse_sql
from pglast.parser import ParseError
from pglast.stream import RawStream
from pglast.visitors import Visitor


@lru_cache(maxsize=4096)
def expression_key(text: str, *, query: bool = False) -> str:
    """`text` (an expression, or a whole query when `query`) in a canonical printed form;
    the text itself when it does not parse."""
    try:
        tree = parse_sql(text if query else f"SELECT {text}")
    except ParseError:
        return text
    _Canon()(tree)
    return str(RawStream()(tree))


@lru_cache(maxsize=4096)
def stable(text: str, *, query: bool = False) -> str:
    """`text` as SQL that parses back into the tree it was printed from. Text without the
    patterns above (nearly all of it) is returned as it is."""
    if "::" not in text or ("[]" not in text and not query):
        return text
    try:
        tree = parse_sql(text if query else f"SELECT {text}")
    except ParseError:
        return text
    fix = _Stable()
    fix.query = query
    fix(tree)
    if not fix.changed:
        return text
    out = str(RawStream()(tree))
    return out if query else out.removeprefix("SELECT ")


class _Stable(Visitor):
    changed = False
    query = False

    def visit_TypeCast(self, ancestors: Any, node: ast.TypeCast) -> Any:
        target = node.typeName
        arg = node.arg
        if not isinstance(arg, ast.A_ArrayExpr) or target is None or not target.arrayBounds:
            return None
        kinds = {_type_key(e.typeName) for e in arg.elements or () if isinstance(e, ast.TypeCast)}
        first = (arg.elements or (None,))[0]
        if len(kinds) != 1 or not isinstance(first, ast.TypeCast) or first.typeName is None:
            return None
        if len(arg.elements or ()) != sum(isinstance(e, ast.TypeCast) for e in arg.elements or ()):
            return None
        element = first.typeName
        if _type_key(element) == _type_key(target, array=False):
            return None
        self.changed = True
        as_array = ast.TypeName(
            names=element.names,
            typmods=element.typmods,
            typemod=element.typemod,
            arrayBounds=(ast.Integer(ival=-1),),
        )
        return ast.TypeCast(arg=ast.TypeCast(arg=arg, typeName=as_array), typeName=target)

    def visit_ResTarget(self, ancestors: Any, node: ast.ResTarget) -> Any:
        if not self.query or node.name is not None or node.val is None:
            return None
        parent = ancestors.parent
        in_select = parent is not None and isinstance(parent.node, ast.SelectStmt)
        if in_select and parent.member == "targetList" and not isinstance(node.val, ast.ColumnRef):
            self.changed = True
            node.name = "?column?"  # in place: the visitor goes on into node.val
        return None


def _type_key(t: ast.TypeName | None, *, array: bool = True) -> tuple[Any, ...]:
    if t is None:
        return ()
    names = tuple(n.sval for n in t.names or () if isinstance(n, ast.String))
    return (names, t.typmods, bool(t.arrayBounds) if array else False)


class _Canon(Visitor):
    def visit_TypeCast(self, ancestors: Any, node: ast.TypeCast) -> Any:
        target = node.typeName
        if not isinstance(node.arg, ast.A_ArrayExpr) or target is None or not target.arrayBounds:
            return None
        element = ast.TypeName(names=target.names, typmods=target.typmods, typemod=target.typemod)
        return ast.A_ArrayExpr(
            elements=tuple(ast.TypeCast(arg=e, typeName=element) for e in node.arg.elements or ())
        )

    def visit_ResTarget(self, ancestors: Any, node: ast.ResTarget) -> Any:
        if node.name is not None and node.name == _implied_name(node.val):
            node.name = None  # in place: the visitor goes on into node.val
        return None


def _implied_name(node: Any) -> str | None:
    """The output column name PostgreSQL gives an expression left unnamed (FigureColname)."""
    if isinstance(node, ast.ColumnRef):
        return _last(node.fields)
    if isinstance(node, ast.TypeCast):
        inner = _implied_name(node.arg)
        if inner is not None or node.typeName is None:
            return inner
        return _last(node.typeName.names)
    if isinstance(node, ast.FuncCall):
        return _last(node.funcname)
    return None


def _last(names: tuple[Any, ...] | None) -> str | None:
    last = names[-1] if names else None
    return last.sval if isinstance(last, ast.String) else None
