"""Python names for a schema's objects in generated models: classes, attributes, relationships.

Names must be valid, unique in their scope and stable (the same schema always gives the same
module). Tables become CamelCase singular class names; columns keep their name where Python
allows it; relationships are snake_case, named after the key column (`customer_id` →
`customer`) on the child side and after the child table (`orders`) on the parent side.
"""

from __future__ import annotations

import keyword
import re
import unicodedata
from collections.abc import Iterable

# Attribute names a declarative class may not use for a column or relationship.
RESERVED_ATTRIBUTES = frozenset(
    {"metadata", "registry", "query", "type_annotation_map", "__table__", "__tablename__"}
)
# Module-level names the generated module defines or imports.
RESERVED_MODULE = frozenset(
    {
        "Any",
        "Base",
        "DeclarativeBase",
        "Mapped",
        "RawType",
        "datetime",
        "decimal",
        "enum",
        "mapped_column",
        "mysql",
        "postgresql",
        "relationship",
        "sa",
        "uuid",
    }
)


def _valid(name: str) -> bool:
    return (
        name.isidentifier()
        and not keyword.iskeyword(name)
        and unicodedata.normalize("NFKC", name) == name
    )


def identifier(text: str, *, fallback: str = "x") -> str:
    """`text` made a Python identifier: invalid characters become `_`, keywords get a `_`."""
    if _valid(text):
        return text
    cleaned = re.sub(r"\W+", "_", unicodedata.normalize("NFKC", text), flags=re.ASCII).strip("_")
    if not cleaned:
        cleaned = fallback
    if cleaned[0].isdigit():
        cleaned = f"{fallback}_{cleaned}"
    if keyword.iskeyword(cleaned) or keyword.issoftkeyword(cleaned):
        cleaned += "_"
    return cleaned


def words(text: str) -> list[str]:
    """The words of a name: split on non-alphanumerics and lower→upper case changes."""
    parts = re.split(r"[^0-9A-Za-z]+", unicodedata.normalize("NFKD", text))
    out: list[str] = []
    for part in parts:
        out += re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+", part)
    return out


def singular(word: str) -> str:
    """An English singular, good enough for table names (categories → category)."""
    lower = word.lower()
    if lower.endswith("ies") and len(word) > 4:
        return word[:-3] + ("Y" if word[-3:].isupper() else "y")
    if lower.endswith(("sses", "xes", "ches", "shes", "zes")):
        return word[:-2]
    if lower.endswith(("ss", "us", "is", "ics")) or not lower.endswith("s") or len(word) < 4:
        return word
    return word[:-1]


def plural(word: str) -> str:
    """An English plural of a singular noun (category → categories, box → boxes)."""
    lower = word.lower()
    if lower.endswith("y") and len(word) > 1 and lower[-2] not in "aeiou":
        return word[:-1] + "ies"
    if lower.endswith(("s", "x", "z", "ch", "sh")):
        return word + "es"
    return word + "s"


def snake(text: str) -> str:
    """snake_case words of a name (InvoiceLine → invoice_line)."""
    return "_".join(w.lower() for w in words(text)) or "x"


def class_name(table: str) -> str:
    """CamelCase singular class name for a table name (order_items → OrderItem)."""
    parts = words(table)
    if not parts:
        return identifier(table.title(), fallback="Table")
    parts[-1] = singular(parts[-1])
    name = "".join(p[:1].upper() + p[1:] for p in parts)
    if name[0].isdigit():
        name = "T" + name
    return identifier(name, fallback="Table")


def children(table: str) -> str:
    """The attribute naming a table's rows on the parent side (order_item → order_items)."""
    parts = [w.lower() for w in words(table)] or ["rows"]
    parts[-1] = plural(singular(parts[-1]))
    return identifier("_".join(parts), fallback="rows")


_KEY_SUFFIX = re.compile(r"(?:_id|_fk|_key|Id|ID|_ID|_Id)$")


def key_role(column: str) -> str | None:
    """The role a key column names (customer_id → customer, SupportRepId → support_rep)."""
    stripped = _KEY_SUFFIX.sub("", column)
    if not stripped or stripped == column:
        return None
    return snake(stripped)


class Scope:
    """Names taken in one namespace (a module or a class); `take` hands out unique ones."""

    def __init__(self, taken: Iterable[str] = ()) -> None:
        self._taken = set(taken)

    def __contains__(self, name: str) -> bool:
        return name in self._taken

    def take(self, wanted: str, *alternatives: str) -> str:
        """`wanted`, else the first free alternative, else `wanted` with a number."""
        for name in (wanted, *alternatives):
            if name not in self._taken:
                self._taken.add(name)
                return name
        n = 2
        while f"{wanted}_{n}" in self._taken:
            n += 1
        self._taken.add(f"{wanted}_{n}")
        return f"{wanted}_{n}"


__all__ = [
    "RESERVED_ATTRIBUTES",
    "RESERVED_MODULE",
    "Scope",
    "children",
    "class_name",
    "identifier",
    "key_role",
    "plural",
    "singular",
    "snake",
    "words",
]
