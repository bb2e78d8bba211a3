"""PostgreSQL statement texts through PostgreSQL's own parser (pglast): fingerprints, what kind
of statement a text is, and the batched rewrite of an N+1 child query.

Every rewrite here edits the original text at positions the parser reported: the rest of the
statement (literals, case, comments) is kept byte for byte, never deparsed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from pglast import ast
from pglast.enums import A_Expr_Kind, BoolExprType
from pglast.parser import ParseError, Token, parse_sql, scan
from pglast.parser import fingerprint as _pg_fingerprint

from dbarchitect.dialects.postgres.quoting import quote
from dbarchitect.dialects.postgres.tune.plan_walk import nodes
from dbarchitect.errors import InputError

# Statements a workload can hold: what the planner plans and an index can speed up.
_DML = (ast.SelectStmt, ast.InsertStmt, ast.UpdateStmt, ast.DeleteStmt, ast.MergeStmt)


def fingerprint(sql: str) -> str:
    """pglast's fingerprint (hex) of `sql`: the same for every text of one statement whatever
    its constants, `$n` parameters, IN-list lengths, case or spacing. InputError when `sql`
    does not parse."""
    return _fingerprint(sql)


@lru_cache(maxsize=4096)
def _fingerprint(sql: str) -> str:
    try:
        return str(_pg_fingerprint(sql))
    except ParseError as exc:
        raise InputError(f"cannot parse: {exc.args[0] if exc.args else exc}") from None


def statement_kind(sql: str) -> str | None:
    """The node name of `sql`'s one statement when it is DML (`SelectStmt`, `InsertStmt`, …),
    None for anything else (DDL, SET, transaction control, several statements). InputError
    when it does not parse."""
    stmts = _parse(sql)
    if len(stmts) != 1 or not isinstance(stmts[0].stmt, _DML):
        return None
    stmt = stmts[0].stmt
    if isinstance(stmt, ast.SelectStmt) and stmt.intoClause is not None:
        return None  # SELECT … INTO creates a table
    return type(stmt).__name__


def relations(sql: str) -> list[tuple[str, str]]:
    """Every (schema, relation) the statement names, schema "" when unqualified, sorted."""
    found: set[tuple[str, str]] = set()
    for node in nodes(_parse(sql)):
        if isinstance(node, ast.RangeVar):
            found.add((node.schemaname or "", node.relname or ""))
    return sorted(found)


def functions(sql: str) -> list[str]:
    """The names (last part) of every function the statement calls, sorted."""
    found: set[str] = set()
    for node in nodes(_parse(sql)):
        if isinstance(node, ast.FuncCall) and node.funcname:
            last = node.funcname[-1]
            if isinstance(last, ast.String) and last.sval:
                found.add(last.sval)
    return sorted(found)


def _parse(sql: str) -> tuple[ast.RawStmt, ...]:
    try:
        return tuple(parse_sql(sql))
    except ParseError as exc:
        raise InputError(f"cannot parse: {exc.args[0] if exc.args else exc}") from None


# ---------------------------------------------------------------------------------------------
# N+1 batching


@dataclass(frozen=True, slots=True)
class _Conjunct:
    """`column = value` found at the top level of a WHERE clause, with its text spans."""

    column: str  # the column's last name part
    column_text: str  # as written (`i.order_id`)
    start: int  # char offsets of the whole conjunct, end exclusive
    end: int
    value_text: str
    value: ast.Node


# Tokens that end a WHERE conjunct at parenthesis depth 0.
_STOP = frozenset(
    {"AND", "OR", "ORDER", "GROUP", "LIMIT", "OFFSET", "HAVING", "WINDOW", "FOR", "UNION"}
    | {"INTERSECT", "EXCEPT", "RETURNING", "FETCH", "ASCII_59"}
)


def batched(
    child: str,
    parent: str,
    *,
    samples: Sequence[str] = (),
    varying: frozenset[int] = frozenset(),
) -> tuple[str, str]:
    """The statements that replace an N+1 loop of `child` run after `parent`.

    Returns (any_form, join_form): `… WHERE col = ANY($n)` run once with every key, and,
    when the parent selects the key, the child reading the keys straight from the parent in
    one statement (`col IN (SELECT p.key FROM (<parent>) AS p)`). "" for a form that does not
    apply. `samples` are other texts of the child (literal-inlined executions) and `varying`
    the parameter numbers whose values changed between executions: they tell which equality
    carries the loop's key when the WHERE clause has several.
    """
    try:
        stmts = parse_sql(child)
    except ParseError:
        return "", ""
    if len(stmts) != 1 or not isinstance(stmts[0].stmt, ast.SelectStmt | ast.DeleteStmt):
        return "", ""
    stmt = stmts[0].stmt
    if isinstance(stmt, ast.SelectStmt) and (stmt.op != 0 or stmt.whereClause is None):
        return "", ""
    tokens = list(scan(child))
    conjuncts = _equalities(stmt.whereClause, child, tokens)
    key = _loop_key(conjuncts, child, samples, varying)
    if key is None:
        return "", ""
    params = _params(tokens, child)
    array = _as_array(key, child, tokens, max(params, default=0) + 1)
    if array is None:
        return "", ""
    head = _with_key_column(stmt, child, key)
    any_form = _splice(child, key, f"{key.column_text} = ANY({array})", head)
    join_form = ""
    parent_key = _parent_key(parent, key.column)
    if parent_key:
        others = [n for n in params if not _inside(child, tokens, n, key)]
        offset = max(others, default=0)
        sub = _renumber(parent, offset)
        join_form = _splice(
            child, key, f"{key.column_text} IN (SELECT p.{parent_key} FROM ({sub}) AS p)", head
        )
    return any_form, join_form


def _equalities(where: ast.Node | None, text: str, tokens: list[Token]) -> list[_Conjunct]:
    """The `column = value` conjuncts of a WHERE clause (top-level AND only), in text order."""
    if where is None:
        return []
    if isinstance(where, ast.BoolExpr):
        if where.boolop != BoolExprType.AND_EXPR:
            return []
        parts: Sequence[object] = where.args or ()
    else:
        parts = [where]
    out: list[_Conjunct] = []
    for part in parts:
        if not isinstance(part, ast.A_Expr) or part.kind != A_Expr_Kind.AEXPR_OP:
            continue
        if not part.name or len(part.name) != 1 or getattr(part.name[0], "sval", None) != "=":
            continue
        col: object = part.lexpr
        value: object = part.rexpr
        if not isinstance(col, ast.ColumnRef):
            col, value = value, col
        if not isinstance(col, ast.ColumnRef) or not isinstance(value, ast.Node):
            continue
        if not _is_value(value) or not col.fields:
            continue
        last = col.fields[-1]
        if not isinstance(last, ast.String) or not last.sval:
            continue
        op = _token_at(tokens, part.location)
        if op is None:
            continue
        start, end = _bounds(tokens, op)
        left = text[tokens[start].start : tokens[op - 1].end + 1]
        right = text[tokens[op + 1].start : tokens[end].end + 1]
        col_text, value_text = (left, right) if part.lexpr is col else (right, left)
        out.append(
            _Conjunct(
                column=last.sval,
                column_text=col_text,
                start=tokens[start].start,
                end=tokens[end].end + 1,
                value_text=value_text,
                value=value,
            )
        )
    return sorted(out, key=lambda c: c.start)


def _is_value(node: object) -> bool:
    if isinstance(node, ast.TypeCast):
        node = node.arg
    return isinstance(node, ast.ParamRef | ast.A_Const)


def _token_at(tokens: list[Token], location: int | None) -> int | None:
    for i, tok in enumerate(tokens):
        if tok.start == location:
            return i
    return None


def _bounds(tokens: list[Token], op: int) -> tuple[int, int]:
    """The first and last token of the conjunct around the operator token `op`: outwards to
    the nearest AND/OR/clause keyword or unmatched parenthesis at the same depth."""
    depth, i = 0, op - 1
    while i >= 0:
        name = tokens[i].name
        if name == "ASCII_41":
            depth += 1
        elif name == "ASCII_40":
            if depth == 0:
                break
            depth -= 1
        elif depth == 0 and name in {"AND", "OR", "WHERE", "ON"}:
            break
        i -= 1
    start = i + 1
    depth, j = 0, op + 1
    while j < len(tokens):
        name = tokens[j].name
        if name == "ASCII_40":
            depth += 1
        elif name == "ASCII_41":
            if depth == 0:
                break
            depth -= 1
        elif depth == 0 and name in _STOP:
            break
        j += 1
    return start, j - 1


def _loop_key(
    conjuncts: list[_Conjunct], text: str, samples: Sequence[str], varying: frozenset[int]
) -> _Conjunct | None:
    """The equality whose value changes from one execution to the next."""
    if not conjuncts:
        return None
    for c in conjuncts:
        value = c.value.arg if isinstance(c.value, ast.TypeCast) else c.value
        if isinstance(value, ast.ParamRef) and value.number in varying:
            return c
    for sample in samples:
        if sample == text:
            continue
        try:
            tokens = list(scan(sample))
            stmt = parse_sql(sample)[0].stmt
        except (ParseError, IndexError):
            continue
        where = getattr(stmt, "whereClause", None)
        others = _equalities(where, sample, tokens)
        if len(others) != len(conjuncts):
            continue
        for mine, theirs in zip(conjuncts, others, strict=True):
            if mine.column == theirs.column and mine.value_text != theirs.value_text:
                return mine
    return conjuncts[0] if len(conjuncts) == 1 else None


def _params(tokens: list[Token], text: str) -> list[int]:
    return sorted(
        {int(text[t.start + 1 : t.end + 1]) for t in tokens if t.name == "PARAM"},
    )


def _inside(text: str, tokens: list[Token], number: int, key: _Conjunct) -> bool:
    """Whether every use of $number lies inside the key's conjunct (it goes away with it)."""
    uses = [t for t in tokens if t.name == "PARAM" and text[t.start + 1 : t.end + 1] == str(number)]
    return all(key.start <= t.start < key.end for t in uses)


def _as_array(key: _Conjunct, text: str, tokens: list[Token], fresh: int) -> str | None:
    """The array the batched form compares with: the same parameter (its cast made an array
    cast), or a new parameter where the loop inlined a literal."""
    value: object = key.value
    cast = ""
    if isinstance(value, ast.TypeCast):
        marker = key.value_text.find("::")
        if marker < 0:
            return None  # CAST(… AS …) spelled out: rare in ORM output, left alone
        cast = key.value_text[marker:].rstrip() + "[]"
        value = value.arg
    if isinstance(value, ast.ParamRef):
        return f"${value.number}{cast}"
    return f"${fresh}{cast}"


def _with_key_column(stmt: ast.Node, text: str, key: _Conjunct) -> tuple[int, str]:
    """Where to insert the key column into the target list so the caller can group the batched
    rows by key: (offset, text to insert), or (0, "") when the list already returns it."""
    targets = getattr(stmt, "targetList", None) or getattr(stmt, "returningList", None)
    if not targets or not isinstance(stmt, ast.SelectStmt):
        return 0, ""
    for target in targets:
        val = target.val
        if isinstance(val, ast.ColumnRef) and val.fields:
            last = val.fields[-1]
            if isinstance(last, ast.A_Star):
                return 0, ""
            if isinstance(last, ast.String) and last.sval == key.column and not target.name:
                return 0, ""
    first = targets[0]
    if first.location is None:
        return 0, ""
    return first.location, f"{key.column_text}, "


def _splice(text: str, key: _Conjunct, replacement: str, head: tuple[int, str]) -> str:
    at, insert = head
    out = text[: key.start] + replacement + text[key.end :]
    if insert:
        out = out[:at] + insert + out[at:]
    return out


def _parent_key(parent: str, child_column: str) -> str:
    """The column of the parent's result that feeds the child's key, quoted as the derived
    table `p` exposes it; "" when the parent does not visibly select it."""
    try:
        stmts = parse_sql(parent)
    except ParseError:
        return ""
    if len(stmts) != 1 or not isinstance(stmts[0].stmt, ast.SelectStmt):
        return ""
    stmt = stmts[0].stmt
    if stmt.op != 0 or not stmt.targetList or not stmt.fromClause:
        return ""
    tables = [n.relname or "" for n in nodes(stmt.fromClause) if isinstance(n, ast.RangeVar)]
    names: list[str] = []
    star = False
    for target in stmt.targetList:
        val = target.val
        if isinstance(val, ast.ColumnRef) and val.fields:
            last = val.fields[-1]
            if isinstance(last, ast.A_Star):
                star = True
            elif isinstance(last, ast.String):
                names.append(str(target.name or last.sval))
        elif target.name:
            names.append(target.name)
    if child_column in names:
        return quote(child_column)
    # order_id in the child, orders.id in the parent: the foreign-key naming convention.
    if child_column.endswith("_id") and len(tables) == 1:
        stem = child_column[: -len("_id")]
        if tables[0].startswith(stem) and ("id" in names or star):
            return "id"
    if len(names) == 1 and not star:
        return quote(names[0])
    return ""


def _renumber(sql: str, offset: int) -> str:
    """`sql` with every $n parameter shifted by `offset`, edited at the scanner's positions."""
    if offset == 0:
        return sql
    out, last = [], 0
    for tok in scan(sql):
        if tok.name == "PARAM":
            out.append(sql[last : tok.start])
            out.append(f"${int(sql[tok.start + 1 : tok.end + 1]) + offset}")
            last = tok.end + 1
    out.append(sql[last:])
    return "".join(out)
