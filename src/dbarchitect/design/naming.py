"""Names the design derives: key columns of relationships, join tables, constraint names."""

from __future__ import annotations

import hashlib
import re

from dbarchitect.design.spec import NamingSpec, RelationshipSpec

_IRREGULAR = {"people": "person", "children": "child", "men": "man", "women": "woman"}


def singular(name: str) -> str:
    """English singular of a table name, good enough for key columns: `categories` →
    `category`, `addresses` → `address`, `users` → `user`; other words unchanged."""
    if name in _IRREGULAR:
        return _IRREGULAR[name]
    if name.endswith("ies") and len(name) > 3:
        return name[:-3] + "y"
    if name.endswith(("sses", "xes", "ches", "shes", "zes")):
        return name[:-2]
    if name.endswith("s") and not name.endswith(("ss", "us", "is")):
        return name[:-1]
    return name


def holder(rel: RelationshipSpec) -> tuple[str, str]:
    """(entity holding the key, entity referenced) of a non-join relationship."""
    if rel.type == "one_to_many":
        return rel.to, rel.from_
    return rel.from_, rel.to


def role(rel: RelationshipSpec) -> str:
    """The role name of a relationship: `name`, else the referenced entity in the singular."""
    return rel.name or singular(holder(rel)[1])


def key_columns(rel: RelationshipSpec, target_key: tuple[str, ...]) -> tuple[str, ...]:
    """The key columns on the holding side for a target whose key is `target_key`:
    `column` when given (single-column keys), else `<role>_<key column>`."""
    if rel.column and len(target_key) == 1:
        return (rel.column,)
    return tuple(f"{role(rel)}_{col}" for col in target_key)


def join_table(rel: RelationshipSpec) -> str:
    """A many-to-many relationship's join table."""
    return rel.table or f"{rel.from_}_{rel.to}"


def join_columns(rel: RelationshipSpec) -> tuple[str, str]:
    """The two key-column roles of a join table: the entities in the singular, and for a
    self-reference `<name or singular>_id` beside `related_id`-style `<to>_id` disambiguated."""
    a, b = singular(rel.from_), singular(rel.to)
    if a == b:
        return (rel.name or a, f"related_{b}")
    return a, b


def constraint_name(
    template: str, table: str, columns: tuple[str, ...] = (), name: str = "", limit: int = 63
) -> str:
    """A name from a naming template, shortened with a stable hash when over `limit` bytes."""
    text = template.format(table=table, columns="_".join(columns), name=name or "_".join(columns))
    if len(text.encode()) <= limit:
        return text
    digest = hashlib.sha1(text.encode()).hexdigest()[:8]
    return text.encode()[: limit - 9].decode(errors="ignore") + "_" + digest


def key_slug(key: str) -> str:
    """A name part for an index key: the column, or an expression's words (`(lower(email))`
    → `lower_email`)."""
    slug = re.sub(r"[^A-Za-z0-9]+", "_", key.lower()).strip("_")
    return slug or "expr"


class Names:
    """Names taken so far in one schema; a name asked for twice gets a numbered suffix.

    Engines differ in which names share a namespace (PostgreSQL: tables, indexes and key
    constraints per schema; MySQL: foreign keys per database; SQLite: indexes and triggers
    per database), so every generated name is kept unique across the whole schema."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used: set[str] = set()

    def reserve(self, name: str) -> bool:
        """Take `name` as it is; False when it is already taken."""
        if name in self.used:
            return False
        self.used.add(name)
        return True

    def take(self, template: str, table: str, columns: tuple[str, ...] = (), name: str = "") -> str:
        """A free name from a naming template (shortened to the limit, then numbered)."""
        base = constraint_name(template, table, columns, name, self.limit)
        candidate, n = base, 1
        while candidate in self.used:
            suffix = f"_{n}"
            head = base.encode()[: self.limit - len(suffix)].decode(errors="ignore")
            candidate, n = head + suffix, n + 1
        self.used.add(candidate)
        return candidate


DEFAULT_NAMING = NamingSpec()

__all__ = [
    "DEFAULT_NAMING",
    "Names",
    "constraint_name",
    "holder",
    "join_columns",
    "join_table",
    "key_columns",
    "key_slug",
    "role",
    "singular",
]
