"""Which ALTER COLUMN … TYPE changes rewrite the table, from the old and new type names.

Types are compared as parsed `TypeName`s (base name, modifiers, array or not), never as text,
so `varchar(10)`, `character varying(10)` and the catalog's spelling all agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pglast
from pglast import ast

# Spellings pglast leaves as they were typed, folded to the catalog's internal names.
_ALIASES = {
    "character varying": "varchar",
    "varchar": "varchar",
    "decimal": "numeric",
    "timestamp without time zone": "timestamp",
    "timestamp with time zone": "timestamptz",
}


@dataclass(frozen=True, slots=True)
class TypeKey:
    """A column type reduced to what decides binary compatibility."""

    base: str
    mods: tuple[int, ...] = ()
    array: bool = False


def type_key(type_name: Any) -> TypeKey:
    """The key of a parsed type name."""
    base = type_name.names[-1].sval.lower()
    mods: list[int] = []
    for mod in type_name.typmods or ():
        if isinstance(mod, ast.A_Const) and isinstance(mod.val, ast.Integer):
            mods.append(int(mod.val.ival or 0))
        else:
            mods.append(-1)
    return TypeKey(_ALIASES.get(base, base), tuple(mods), bool(type_name.arrayBounds))


def parse_type(text: str) -> TypeKey | None:
    """The key of a type as the catalog prints it (`character varying(10)`); None if unparsable."""
    try:
        stmt = pglast.parse_sql(f"SELECT NULL::{text}")[0].stmt
    except pglast.parser.ParseError:
        return None
    if not isinstance(stmt, ast.SelectStmt) or not stmt.targetList:
        return None
    cast = stmt.targetList[0].val
    if not isinstance(cast, ast.TypeCast):
        return None
    return type_key(cast.typeName)


def rewrites(
    old: TypeKey | None, new: TypeKey, *, using: bool, utc: bool, pg_version: int
) -> bool | None:
    """True when the change rewrites, False when it is binary compatible, None if unknown."""
    if using:
        return True
    if old is None:
        return None
    if old == new:
        return False
    if old.array != new.array:
        return True
    if old.base == "varchar" and new.base == "varchar":
        return not (not new.mods or (old.mods and new.mods[0] >= old.mods[0]))
    if old.base == "varchar" and new.base == "text":
        return False
    if old.base == "text" and new.base == "varchar":
        return bool(new.mods)
    if old.base == "numeric" and new.base == "numeric":
        if not new.mods:
            return False
        if not old.mods:
            return True
        old_scale = old.mods[1] if len(old.mods) > 1 else 0
        new_scale = new.mods[1] if len(new.mods) > 1 else 0
        return not (new_scale == old_scale and new.mods[0] >= old.mods[0])
    if old.base == "timestamp" and new.base == "timestamptz":
        return not (utc and pg_version >= 12)
    return True
