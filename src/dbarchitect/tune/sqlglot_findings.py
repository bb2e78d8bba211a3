"""Static findings of the sqlglot analysis: what the statement's text alone shows is slow
(deep OFFSET, functions and implicit casts that hide an indexed column, leading wildcards,
SELECT * on a wide table), each with its fix.
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.optimizer.scope import Scope

from dbarchitect.tune.sqlglot_resolve import local_columns, resolve
from dbarchitect.tune.sqlglot_state import State

DEEP_OFFSET = 1_000  # OFFSET from which pagination reads and throws away too much
WIDE_TABLE = 10  # columns from which SELECT * is worth a finding
_TEXT = frozenset({"char", "varchar", "text", "enum", "set"})


def deep_offset(st: State) -> None:
    """An OFFSET that reads and discards too many rows: paginate by key instead."""
    if st.offset is None or st.offset < DEEP_OFFSET:
        return
    keys = ", ".join(k.column for k in st.order_by) or "the sort key"
    st.find(
        "deep-offset", "warning",
        f"OFFSET {st.offset} reads and discards {st.offset} rows before returning any",
        f"paginate by key: WHERE ({keys}) > (<last row's values>) ORDER BY {keys} LIMIT n",
    )  # fmt: skip


def non_sargable(side: exp.Expr, columns: list[tuple[str, str]], text: str, st: State) -> None:
    """A filter on an expression (`text`) of columns that lead an index it cannot use."""
    for t, c in sorted(set(columns)):
        index = st.catalog.leading(t, c)
        if index is not None:
            st.find(
                "non-sargable", "warning",
                f"{text} on {t}: the function hides column {c} from index {index}",
                f"compare {c} itself (e.g. a range on {c} instead of {text} = …), "
                f"or index the expression {text}",
            )  # fmt: skip


def implicit_cast(column: tuple[str, str], others: list[exp.Expr], st: State) -> None:
    """A text column compared to a number: the engine converts every row (MySQL/MariaDB)."""
    t, c = column
    table = st.catalog.schema.table(t)
    col = table.column(c) if table else None
    numbers = [o for o in others if isinstance(o, exp.Literal) and not o.is_string]
    if col is not None and col.logical in _TEXT and numbers:
        shown = st.literal(numbers[0])
        st.find(
            "non-sargable", "warning",
            f"{t}.{c} is {col.type} compared to the number {shown}: every row is converted, "
            "no index on it is used",
            f"compare with a string: {c} = '{shown}'",
        )  # fmt: skip


def leading_wildcard(side: exp.Expr, pattern: exp.Expr, scope: Scope, st: State) -> None:
    """`side` matched against a pattern that starts with a wildcard: every row is read."""
    columns = [rc for c in local_columns(side) for rc in resolve(c, scope, st.catalog)]
    shown = st.literal(pattern)
    for t, c in sorted(set(columns)):
        st.find(
            "leading-wildcard", "warning",
            f"{t}.{c} matched against {shown}: a leading wildcard reads every row",
            "anchor the pattern ('abc%'), or use the engine's full-text search on "
            f"{t}.{c}",
        )  # fmt: skip


def root_stars(query: exp.Expr) -> list[str]:
    """Before qualify expands them: the sources the outermost SELECT's stars read ('' = all)."""
    if not isinstance(query, exp.Select):
        return []
    out = []
    for proj in query.selects:
        if isinstance(proj, exp.Star):
            out.append("")
        elif isinstance(proj, exp.Column) and proj.is_star:
            out.append(proj.table)
    return out


def select_star(root: Scope, stars: list[str], st: State) -> None:
    """SELECT * over a wide table in the outermost SELECT (`stars` from root_stars)."""
    for alias, source in sorted(root.sources.items()):
        if not isinstance(source, exp.Table) or not ("" in stars or alias in stars):
            continue
        table = st.catalog.schema.table(st.catalog.real.get(source.name, ""))
        if table is not None and len(table.columns) >= WIDE_TABLE:
            st.find(
                "select-star", "info",
                f"SELECT * reads all {len(table.columns)} columns of {table.qualified}",
                "name the columns the caller uses; a narrower row can come from an index alone",
            )  # fmt: skip
