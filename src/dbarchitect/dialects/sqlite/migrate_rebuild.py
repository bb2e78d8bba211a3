"""The twelve-step table rebuild of https://www.sqlite.org/lang_altertable.html#otheralter.

CREATE TABLE new_X with the target definition, copy the rows, DROP TABLE X, rename new_X to X,
create X's indexes and triggers. Renaming re-checks every view and trigger of the database
(SQLite 3.26+), and one that names X fails while X is gone, so the views that read X (and the
views over those) and the other tables' triggers that name any of them are dropped first and
created again at the end, as they were.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from dbarchitect.dialects.sqlite.ddl import (
    create_index,
    create_table,
    create_view,
    quote,
    view_order,
)
from dbarchitect.dialects.sqlite.parse import referenced_names
from dbarchitect.model import Column, Schema, Table, Trigger, View


def mentions(text: str, names: set[str]) -> bool:
    """Whether SQL `text` has an identifier token among `names` (case-folded)."""
    return bool(referenced_names(text) & {n.lower() for n in names})


@dataclass(slots=True)
class State:
    """The views and triggers that exist at this point of the migration."""

    views: dict[str, View] = field(default_factory=dict)
    triggers: dict[str, tuple[str, Trigger]] = field(default_factory=dict)  # name → (owner, …)

    @classmethod
    def of(cls, schema: Schema) -> State:
        """The state of a database holding `schema`."""
        state = cls(views={v.name: v for v in schema.views})
        owners: list[Table | View] = [*schema.tables, *schema.views]
        for owner in owners:
            for t in owner.triggers:
                state.triggers[t.name] = (owner.name, t)
        return state

    def forget_owner(self, owner: str) -> None:
        """A table or view was dropped, and its triggers with it."""
        for name, (on, _) in list(self.triggers.items()):
            if on.casefold() == owner.casefold():
                del self.triggers[name]

    def rename_owner(self, old: str, new: str) -> None:
        for name, (on, trigger) in list(self.triggers.items()):
            if on.casefold() == old.casefold():
                self.triggers[name] = (new, trigger)

    def drop_view(self, name: str) -> None:
        self.views.pop(name, None)
        self.forget_owner(name)

    def create_view(self, view: View) -> str:
        """CREATE VIEW for `view`, now recorded as existing."""
        self.views[view.name] = view
        return create_view(view)


def _temporary_name(name: str, reserved: set[str]) -> str:
    candidate = f"new_{name}"
    n = 1
    while candidate.casefold() in reserved:
        candidate = f"new_{name}_{n}"
        n += 1
    return candidate


def _copy_expression(source: Column, target: Column) -> str:
    # No CAST where the type changes: storing a value in the new column applies the column's
    # affinity, which converts only where nothing is lost ('12' → 12, but '2020-01-01' stays
    # text under NUMERIC affinity where CAST would make it 2020); a STRICT table refuses
    # what cannot convert instead of truncating it.
    expr = quote(source.name)
    if source.nullable and not target.nullable and target.default is not None:
        # Rows that held NULL take the new default instead of failing NOT NULL.
        expr = f"coalesce({expr}, ({target.default}))"
    return expr


def _copy(source: Table, target: Table, renamed: dict[str, str], temporary: str) -> str | None:
    """INSERT … SELECT of the columns both tables have; new columns take their defaults.

    The rowid goes along where it is not a column's alias: it is the document id of a full-text
    table, and rows of a table without INTEGER PRIMARY KEY may be pointed at by it. A virtual
    table whose rows live elsewhere is filled from there instead (or not at all).
    """
    old_module, new_module = _module(source), _module(target)
    if old_module in _READ_ONLY_MODULES or new_module in _READ_ONLY_MODULES:
        return None
    if _external_content(target):
        # FTS with content='other table': the index is rebuilt from that table.
        return f"INSERT INTO {quote(temporary)} ({quote(temporary)}) VALUES ('rebuild');"
    if _external_content(source) is not None:
        return None  # a contentless index has no values to copy
    by_name = {c.name.casefold(): c for c in source.columns if c.generated is None}
    into, select = [], []
    for col in target.columns:
        if col.generated is not None:
            continue
        old = by_name.get(renamed.get(col.name, col.name).casefold())
        if old is None:
            continue
        into.append(quote(col.name))
        select.append(_copy_expression(old, col))
    rowid = _rowid_name(source, target)
    if rowid is not None and into:
        into.insert(0, rowid)
        select.insert(0, rowid)
    if not into:
        return None
    return (
        f"INSERT INTO {quote(temporary)} ({', '.join(into)})\n"
        f"  SELECT {', '.join(select)} FROM {quote(source.name)};"
    )


# Virtual table modules whose rows are computed from another table: nothing to copy.
_READ_ONLY_MODULES = frozenset({"fts5vocab", "fts4aux"})
# Modules whose rowid is the row's identity and can be given on INSERT.
_ROWID_MODULES = frozenset({"", "fts3", "fts4", "fts5"})
_CONTENT = re.compile(r"""(?i)(?:^|,)\s*content\s*=\s*(?:'((?:[^']|'')*)'|"([^"]*)"|(\w+))""")


def _module(table: Table) -> str | None:
    options = dict(table.options)
    return options.get("virtual", "").casefold() if "virtual" in options else None


def _external_content(table: Table) -> str | None:
    """The content= table of a full-text table ('' for contentless), None when it holds its
    own content."""
    if _module(table) not in ("fts4", "fts5"):
        return None
    found = _CONTENT.search(dict(table.options).get("virtual_args", ""))
    if found is None:
        return None
    return next((g for g in found.groups() if g is not None), "")


def _rowid_name(source: Table, target: Table) -> str | None:
    """How to name the rowid of both tables in the copy, None when it is not copied."""
    for table in (source, target):
        if dict(table.options).get("without_rowid") == "true":
            return None
        if (_module(table) or "") not in _ROWID_MODULES:
            return None
    pk = target.primary_key
    if pk is not None and len(pk.columns) == 1:
        col = target.column(pk.columns[0])
        if col is not None and col.type.upper() == "INTEGER":
            return None  # the alias column itself is copied (or numbered afresh when new)
    names = {c.name.casefold() for c in source.columns + target.columns}
    return next((n for n in ("rowid", "_rowid_", "oid") if n not in names), None)


def rebuild(
    source: Table,
    target: Table,
    renamed: dict[str, str],
    state: State,
    reserved: set[str],
) -> list[str]:
    """Statements that turn table `source` (already under `target`'s name) into `target`.

    `renamed` maps target column names to the source columns they were renamed from.
    """
    name = target.name
    temporary = _temporary_name(name, reserved)
    names = {name.casefold()}
    views: list[View] = []
    grew = True
    while grew:
        grew = False
        for view in state.views.values():
            if view not in views and mentions(view.definition, names):
                views.append(view)
                names.add(view.name.casefold())
                grew = True
    dropped_views = {v.name.casefold() for v in views}
    triggers = [
        (owner, t)
        for owner, t in state.triggers.values()
        if owner.casefold() != name.casefold()
        and owner.casefold() not in dropped_views
        and mentions(t.definition, names)
    ]
    on_views = [(o, t) for o, t in state.triggers.values() if o.casefold() in dropped_views]

    out = [f"DROP TRIGGER {quote(t.name)};" for _, t in triggers]
    ordered = view_order(tuple(views))
    out += [f"DROP VIEW {quote(v.name)};" for v in reversed(ordered)]
    out.append(create_table(replace(target, name=temporary, indexes=(), triggers=())))
    copy = _copy(replace(source, name=name), target, renamed, temporary)
    if copy is not None:
        out.append(copy)
    if _autoincrement(source) and _autoincrement(target):
        # Keep the AUTOINCREMENT high-water mark (ids of deleted rows are never reused), not
        # just max(id) of the copied rows.
        out.append(f"DELETE FROM sqlite_sequence WHERE name = {_literal(temporary)};")
        out.append(
            f"INSERT INTO sqlite_sequence (name, seq) SELECT {_literal(temporary)}, seq"
            f" FROM sqlite_sequence WHERE name = {_literal(name)};"
        )
    out.append(f"DROP TABLE {quote(name)};")
    out.append(f"ALTER TABLE {quote(temporary)} RENAME TO {quote(name)};")
    out += [create_index(target, i) for i in target.indexes]
    state.forget_owner(name)
    for t in target.triggers:
        out.append(f"{t.definition};")
        state.triggers[t.name] = (name, t)
    out += [create_view(v) for v in ordered]
    out += [f"{t.definition};" for _, t in on_views + triggers]
    return out


def _autoincrement(table: Table) -> bool:
    return dict(table.options).get("autoincrement") == "true"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
