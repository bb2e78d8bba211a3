"""Which tables hold tenant data: the tenant column, the tenants table, and the tables that
carry the column or hang off one that does.

Every part of `dbarch secure` (audit, rls, test) starts from this one reading of the schema,
so they agree on what a tenant table is.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from dbarchitect.errors import InputError
from dbarchitect.model import Schema, Table
from dbarchitect.model.schema import ForeignKey
from dbarchitect.review.rules.security import DEFAULT_TENANT_COLUMNS

DEFAULT_SETTING = "app.tenant_id"


@dataclass(frozen=True)
class Indirect:
    """A table without the tenant column whose rows belong to a tenant through a foreign key
    to a tenant table (invoice_lines → invoices)."""

    table: Table
    via: ForeignKey  # the key to `parent`
    parent: Table


@dataclass(frozen=True)
class Tenancy:
    """The tenant layout of a schema."""

    column: str  # the tenant column's name, e.g. tenant_id
    setting: str  # the session setting holding the current tenant, e.g. app.tenant_id
    root: Table | None  # the tenants table the column references, when there is one
    tables: tuple[Table, ...]  # tables carrying the column (the root excluded)
    indirect: tuple[Indirect, ...]  # tables reaching a tenant table by a key, not carrying it

    def is_tenant_table(self, table: Table) -> bool:
        """Whether `table` carries the tenant column (is one of `tables`)."""
        return any(t.qualified == table.qualified for t in self.tables)

    def column_type(self, table: Table) -> str:
        """The engine type of the tenant column in `table`."""
        col = table.column(self.column)
        if col is None:
            raise KeyError(f"{table.qualified} has no column {self.column}")
        return col.type


def _plain(schema: Schema) -> list[Table]:
    """Tables that hold rows of their own: partitions are covered by their parent."""
    return [t for t in schema.tables if t.partition_of is None]


def guess_column(schema: Schema) -> str | None:
    """The usual tenant column name carried by the most tables, if any carries one."""
    seen = Counter(
        c.name for t in _plain(schema) for c in t.columns if c.name in DEFAULT_TENANT_COLUMNS
    )
    if not seen:
        return None
    best = max(seen.values())
    return next(name for name in DEFAULT_TENANT_COLUMNS if seen.get(name) == best)


def find_tenancy(
    schema: Schema, column: str | None = None, *, setting: str = DEFAULT_SETTING
) -> Tenancy:
    """The tenant layout for `column` (default: guessed from the usual names).

    InputError when no table carries the column."""
    name = column or guess_column(schema)
    if name is None:
        listed = ", ".join(DEFAULT_TENANT_COLUMNS)
        raise InputError(f"no tenant column found (looked for {listed}); give --tenant-column")
    carrying = [t for t in _plain(schema) if t.column(name) is not None]
    if not carrying:
        raise InputError(f"no table has the tenant column {name!r}")
    root = _root(schema, carrying, name)
    tables = tuple(t for t in carrying if root is None or t.qualified != root.qualified)
    return Tenancy(
        column=name,
        setting=setting,
        root=root,
        tables=tables,
        indirect=tuple(_indirect(schema, tables, root)),
    )


def _root(schema: Schema, carrying: list[Table], column: str) -> Table | None:
    """The table most foreign keys on the tenant column alone point at."""
    targets = Counter(
        fk.ref_qualified for t in carrying for fk in t.foreign_keys if fk.columns == (column,)
    )
    if not targets:
        return None
    qualified = targets.most_common(1)[0][0]
    return schema.table(qualified)


def _indirect(schema: Schema, tables: tuple[Table, ...], root: Table | None) -> list[Indirect]:
    by_name = {t.qualified: t for t in tables}
    out: list[Indirect] = []
    for t in _plain(schema):
        if t.qualified in by_name or (root is not None and t.qualified == root.qualified):
            continue
        for fk in t.foreign_keys:
            ref = fk.ref_qualified
            if ref in by_name:
                out.append(Indirect(table=t, via=fk, parent=by_name[ref]))
                break
    return out


__all__ = ["DEFAULT_SETTING", "Indirect", "Tenancy", "find_tenancy", "guess_column"]
