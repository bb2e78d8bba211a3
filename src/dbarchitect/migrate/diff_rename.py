"""User-asserted renames: applied to `before` first, so the rest of the diff sees one object.

A rename is never guessed. `--rename s.old=s.new` (a table) or `--rename s.t.old=s.t.new` (a
column) turns `before` into the schema it is once the rename has run: the table or column
carries the new name, and so does everything that refers to it by name (foreign keys, index
and constraint column lists, the table's own expressions, owned sequences, grants).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace

from dbarchitect.errors import InputError
from dbarchitect.migrate.migration import Rename
from dbarchitect.migrate.operations import Operation
from dbarchitect.model import Column, ForeignKey, Grant, Index, IndexKey, Schema, Table


def apply_renames(
    before: Schema, after: Schema, renames: Sequence[Rename], quote: Callable[[str], str]
) -> tuple[Schema, list[Operation]]:
    """`before` with the renames applied, and the rename operations (tables first)."""
    ops: list[Operation] = []
    moved: dict[str, str] = {}
    for r in _in_order(renames):
        if r.kind == "table":
            before, op = _rename_table(before, after, r, quote)
            moved[r.old + "."] = r.new + "."
        else:
            # A column of a renamed table may be named under the table's old name.
            old = next(
                (new + r.old[len(o) :] for o, new in moved.items() if r.old.startswith(o)), None
            )
            if old is not None and _split_column(before, r.old)[0] is None:
                r = Rename(kind="column", old=old, new=r.new)
            before, op = _rename_column(before, after, r)
        ops.append(op)
    return before, ops


def _in_order(renames: Sequence[Rename]) -> list[Rename]:
    """Tables first, by name; a rename into a name another one frees waits for it
    (name → legal_name before display → name). A swap (a cycle) is left as it comes: the
    checks of the rename it reaches report the clash."""
    pending = sorted(renames, key=lambda r: (r.kind != "table", r.old, r.new))
    out: list[Rename] = []
    while pending:
        olds = {(r.kind, r.old) for r in pending}
        kind = pending[0].kind
        ready = next(
            (r for r in pending if r.kind == kind and (r.kind, r.new) not in olds), pending[0]
        )
        pending.remove(ready)
        out.append(ready)
    return out


def _qname(quote: Callable[[str], str], schema: str, name: str) -> str:
    return f"{quote(schema)}.{quote(name)}" if schema else quote(name)


def _rename_table(
    before: Schema, after: Schema, r: Rename, quote: Callable[[str], str]
) -> tuple[Schema, Operation]:
    old = before.table(r.old)
    if old is None:
        raise InputError(f"--rename {r.old}={r.new}: no table {r.old} in the FROM schema")
    target = after.table(r.new)
    if target is None:
        raise InputError(f"--rename {r.old}={r.new}: no table {r.new} in the TO schema")
    if before.table(r.new) is not None:
        raise InputError(f"--rename {r.old}={r.new}: table {r.new} already exists in FROM")
    new = replace(old, schema=target.schema, name=target.name)
    old_q, new_q = _qname(quote, old.schema, old.name), _qname(quote, new.schema, new.name)

    def ref(text: str | None) -> str | None:
        return new_q if text == old_q else text

    tables = []
    for t in before.tables:
        t = new if t is old else t
        fks = tuple(
            replace(fk, ref_schema=new.schema, ref_table=new.name)
            if (fk.ref_schema, fk.ref_table) == (old.schema, old.name)
            else fk
            for fk in t.foreign_keys
        )
        tables.append(
            replace(
                t,
                foreign_keys=fks,
                partition_of=ref(t.partition_of),
                inherits=tuple(ref(p) or p for p in t.inherits),
            )
        )
    prefix = f"{old.qualified}."
    sequences = tuple(
        replace(s, owned_by=new.qualified + "." + s.owned_by[len(prefix) :])
        if s.owned_by and s.owned_by.startswith(prefix)
        else s
        for s in before.sequences
    )
    views = tuple(
        replace(
            v,
            depends_on=tuple(_renamed_dep(d, old.qualified, new.qualified) for d in v.depends_on),
        )
        for v in before.views
    )
    grants = tuple(
        replace(g, object=new_q) if g.object == old_q and g.object_type in _REL_GRANTS else g
        for g in before.grants
    )
    renamed = replace(before, tables=tuple(tables), sequences=sequences, views=views, grants=grants)
    return renamed, Operation(action="rename", kind="table", before=old, after=new)


_REL_GRANTS = ("table", "column", "sequence")


def _rename_column(before: Schema, after: Schema, r: Rename) -> tuple[Schema, Operation]:
    table, old_name = _split_column(before, r.old)
    if table is None:
        raise InputError(f"--rename {r.old}={r.new}: no column {r.old} in the FROM schema")
    target, new_name = _split_column(after, r.new)
    if target is None:
        raise InputError(f"--rename {r.old}={r.new}: no column {r.new} in the TO schema")
    if target.qualified != table.qualified:
        raise InputError(
            f"--rename {r.old}={r.new}: a column rename must stay in table {table.qualified} "
            "(rename the table with its own --rename)"
        )
    if table.column(new_name) is not None:
        raise InputError(f"--rename {r.old}={r.new}: column {r.new} already exists in FROM")
    column = table.column(old_name)
    assert column is not None
    owner = table.qualified
    new_table = _rename_in_table(table, old_name, new_name)
    tables = []
    for t in before.tables:
        t = new_table if t is table else t
        fks = tuple(
            replace(fk, ref_columns=_swap(fk.ref_columns, old_name, new_name))
            if _refers(fk, table)
            else fk
            for fk in t.foreign_keys
        )
        tables.append(replace(t, foreign_keys=fks))
    sequences = tuple(
        replace(s, owned_by=f"{owner}.{new_name}") if s.owned_by == f"{owner}.{old_name}" else s
        for s in before.sequences
    )
    grants = tuple(_grant_column(g, table, old_name, new_name) for g in before.grants)
    renamed = replace(before, tables=tuple(tables), sequences=sequences, grants=grants)
    op = Operation(
        action="rename",
        kind="column",
        before=column,
        after=replace(column, name=new_name),
        owner=owner,
    )
    return renamed, op


def _split_column(schema: Schema, qualified: str) -> tuple[Table | None, str]:
    for t in schema.tables:
        prefix = t.qualified + "."
        if qualified.startswith(prefix) and t.column(qualified[len(prefix) :]) is not None:
            return t, qualified[len(prefix) :]
    return None, ""


def _refers(fk: ForeignKey, t: Table) -> bool:
    return (fk.ref_schema, fk.ref_table) == (t.schema, t.name)


def _swap(names: tuple[str, ...], old: str, new: str) -> tuple[str, ...]:
    return tuple(new if n == old else n for n in names)


def _grant_column(g: Grant, t: Table, old: str, new: str) -> Grant:
    if (
        g.object_type == "column"
        and old in g.columns
        and g.object.replace('"', "") == (f"{t.schema}.{t.name}" if t.schema else t.name)
    ):
        return replace(g, columns=_swap(g.columns, old, new))
    return g


def _word_swap(text: str | None, old: str, new: str) -> str | None:
    """The table's own expression text with the column's name changed (bare words only: the
    engine prints a renamed column in its expressions under the new name)."""
    if text is None or not re.fullmatch(r"[a-z_][a-z0-9_$]*", old):
        return text
    return re.sub(rf'(?<![\w$."]){re.escape(old)}(?![\w$"(])', new, text)


def _rename_in_table(t: Table, old: str, new: str) -> Table:
    def cols(names: tuple[str, ...]) -> tuple[str, ...]:
        return _swap(names, old, new)

    def key(k: IndexKey) -> IndexKey:
        if k.expression:
            return replace(k, column=_word_swap(k.column, old, new) or k.column)
        return replace(k, column=new) if k.column == old else k

    def index(ix: Index) -> Index:
        return replace(
            ix,
            keys=tuple(key(k) for k in ix.keys),
            include=cols(ix.include),
            where=_word_swap(ix.where, old, new),
        )

    def column(c: Column) -> Column:
        c = replace(c, name=new) if c.name == old else c
        return replace(c, generated=_word_swap(c.generated, old, new))

    pk = t.primary_key
    return replace(
        t,
        columns=tuple(column(c) for c in t.columns),
        primary_key=replace(pk, columns=cols(pk.columns), include=cols(pk.include)) if pk else None,
        foreign_keys=tuple(replace(fk, columns=cols(fk.columns)) for fk in t.foreign_keys),
        uniques=tuple(
            replace(u, columns=cols(u.columns), include=cols(u.include)) for u in t.uniques
        ),
        checks=tuple(
            replace(c, expression=_word_swap(c.expression, old, new) or c.expression)
            for c in t.checks
        ),
        indexes=tuple(index(ix) for ix in t.indexes),
        policies=tuple(
            replace(
                p,
                using=_word_swap(p.using, old, new),
                with_check=_word_swap(p.with_check, old, new),
            )
            for p in t.policies
        ),
    )


def _renamed_dep(dep: str, old: str, new: str) -> str:
    # PostgreSQL records `rel:schema.name`; SQLite and MySQL the bare name.
    if dep == f"rel:{old}":
        return f"rel:{new}"
    return new if dep == old else dep
