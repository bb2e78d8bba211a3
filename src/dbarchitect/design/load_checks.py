"""The checks of a design spec that span several values: names that must exist, names that
must be plain, columns that two sources would both create, and foreign keys no INSERT can
satisfy. pydantic validates each value alone (design/spec.py); these run after it.

Checks run in three phases — references and single values, then the columns of each table,
then foreign-key cycles — because the later phases assume the earlier ones passed. Each
phase reports the problem written first in the file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from dbarchitect.design.naming import holder, join_columns, join_table, key_columns
from dbarchitect.design.spec import EntitySpec, FieldSpec, RelationshipSpec, Spec
from dbarchitect.errors import InputError

if TYPE_CHECKING:
    from dbarchitect.design.load import LoadedSpec

Place = tuple[str | int, ...]
Problem = tuple[Place, str]

# Lower case only: PostgreSQL folds unquoted names to lower case, MySQL on some systems keeps
# table names case-sensitive, so only lower-case names are spelled the same by all three.
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_NAME_LIMIT = 63  # PostgreSQL's NAMEDATALEN - 1; MySQL allows 64
_TIME_KINDS = ("date", "timestamp", "datetime")
_NUMBER_KINDS = ("smallint", "integer", "bigint", "decimal", "float", "double")
_LENGTH_KINDS = ("string", "char", "bytes")
_PRECISION_KINDS = ("decimal", "time", "timestamp", "datetime")


def dotted(place: Place) -> str:
    """`("relationships", 3, "to")` → `relationships[3].to`."""
    out = ""
    for part in place:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def line_of(lines: Mapping[Place, int], place: Place) -> int:
    """The line of the deepest written value on `place` (0 when none is known)."""
    for end in range(len(place), -1, -1):
        line = lines.get(place[:end])
        if line is not None:
            return line
    return 0


def check_spec(loaded: LoadedSpec) -> None:
    """Raise InputError for the first problem (in file order) of the first failing phase."""
    design = _Design(loaded.spec)
    for phase in (_single_values, _references, _columns, _cycles):
        problems = list(phase(design))
        if problems:
            _, _, place, message = min(
                (line_of(loaded.lines, place), i, place, message)
                for i, (place, message) in enumerate(problems)
            )
            raise InputError(f"{loaded.where(*place)}: {dotted(place)}: {message}")


def name_problem(name: str) -> str | None:
    """Why `name` cannot name a table, column or type in all three engines (None if it can)."""
    if not _NAME.match(name):
        return (
            f"{name!r} is not a plain lower-case name: use a-z, 0-9 and _, not starting "
            "with a digit (all three engines then spell it the same, unquoted)"
        )
    if len(name.encode()) > _NAME_LIMIT:
        return f"{name!r} is {len(name.encode())} bytes long; names are limited to {_NAME_LIMIT}"
    return None


class _Design:
    """The spec with each entity's conventions resolved (entity setting, else spec-wide)."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.conventions = spec.conventions
        self.mysql = "mysql" in spec.targets

    def entity(self, name: str) -> EntitySpec:
        return self.spec.entities[name]

    def natural(self, name: str) -> bool:
        return (self.entity(name).id or self.conventions.id) == "natural"

    def key(self, name: str) -> tuple[str, ...]:
        """The entity's primary key columns, which a foreign key to it references."""
        return self.entity(name).primary_key if self.natural(name) else ("id",)

    def tenant_table(self, name: str) -> bool:
        tenancy = self.conventions.tenancy
        if tenancy is None:
            return False
        flag = self.entity(name).tenant
        return flag if flag is not None else name != tenancy.entity

    def timestamps(self, name: str) -> bool:
        flag = self.entity(name).timestamps
        return self.conventions.timestamps if flag is None else flag

    def soft_delete(self, name: str) -> bool:
        flag = self.entity(name).soft_delete
        return self.conventions.soft_delete if flag is None else flag

    def audit(self, name: str) -> bool:
        flag = self.entity(name).audit
        return self.conventions.audit is not None if flag is None else flag

    def fields(self) -> Iterator[tuple[Place, FieldSpec]]:
        """Every written field: entities' and join tables'."""
        for name, entity in self.spec.entities.items():
            for field_name, spec in entity.fields.items():
                yield ("entities", name, "fields", field_name), spec
        for i, rel in enumerate(self.spec.relationships):
            for field_name, spec in rel.fields.items():
                yield ("relationships", i, "fields", field_name), spec

    def enum_values(self, spec: FieldSpec) -> tuple[str, ...]:
        return self.spec.enums.get(spec.enum, ()) if spec.enum else spec.values


def _single_values(d: _Design) -> Iterator[Problem]:
    """Names, enums, fields and settings that are wrong on their own."""
    spec = d.spec
    seen: set[str] = set()
    for i, target in enumerate(spec.targets):
        if target in seen:
            yield ("targets", i), f"{target} is listed twice"
        seen.add(target)
    names: list[tuple[Place, str]] = [(("schema",), spec.schema_)]
    names += [(("entities", e), e) for e in spec.entities]
    names += [(("enums", n), n) for n in spec.enums]
    names += [(("mixins", n), n) for n in spec.mixins]
    names += [(("mixins", n, f), f) for n, fields in spec.mixins.items() for f in fields]
    names += [(place, str(place[-1])) for place, _ in d.fields()]
    for e, entity in spec.entities.items():
        names += [(("entities", e, "checks", c), c) for c in entity.checks]
        names += [
            (("entities", e, "indexes", i, "name"), ix.name)
            for i, ix in enumerate(entity.indexes)
            if ix.name is not None
        ]
    for i, rel in enumerate(spec.relationships):
        for key in ("name", "column", "table"):
            value = getattr(rel, key)
            if value is not None:
                names.append((("relationships", i, key), value))
    if spec.conventions.tenancy is not None:
        names.append((("conventions", "tenancy", "column"), spec.conventions.tenancy.column))
    for place, name in names:
        problem = name_problem(name)
        if problem is not None:
            yield place, problem
    for n, values in spec.enums.items():
        if not values:
            yield ("enums", n), f"enum {n!r} has no values"
        yield from _repeated(("enums", n), values)
    for place, field in d.fields():
        yield from _field(d, place, field)


def _repeated(place: Place, values: tuple[str, ...]) -> Iterator[Problem]:
    seen: set[str] = set()
    for j, value in enumerate(values):
        if value in seen:
            yield (*place, j), f"value {value!r} is listed twice"
        seen.add(value)


def _field(d: _Design, place: Place, field: FieldSpec) -> Iterator[Problem]:
    if field.enum is not None and field.enum not in d.spec.enums:
        known = ", ".join(d.spec.enums) or "none defined under `enums:`"
        yield (*place, "enum"), f"unknown enum {field.enum!r} (known: {known})"
    yield from _repeated((*place, "values"), field.values)
    values = d.enum_values(field)
    default = field.default
    if field.type == "enum" and default is not None and values and default not in values:
        yield (*place, "default"), f"default {default!r} is not one of {', '.join(values)}"
    if field.type == "boolean" and default is not None and not isinstance(default, bool):
        yield (*place, "default"), f"default of a boolean must be true or false, not {default!r}"
    if (
        field.type in _NUMBER_KINDS
        and default is not None
        and (isinstance(default, bool) or not isinstance(default, int | float))
    ):
        yield (*place, "default"), f"default of a {field.type} must be a number, not {default!r}"
    if field.length is not None and field.type not in _LENGTH_KINDS:
        yield (*place, "length"), f"`length` is for {', '.join(_LENGTH_KINDS)}, not {field.type}"
    if field.precision is not None and field.type not in _PRECISION_KINDS:
        message = f"`precision` is for {', '.join(_PRECISION_KINDS)}, not {field.type}"
        yield (*place, "precision"), message
    if field.scale is not None and (field.type != "decimal" or field.precision is None):
        yield (*place, "scale"), "`scale` needs `type: decimal` with a `precision`"


def _references(d: _Design) -> Iterator[Problem]:
    """Entities, enums and settings named by other values, and options that do not apply."""
    spec, conventions = d.spec, d.conventions
    known = ", ".join(spec.entities)
    for key, setting in (("tenancy", conventions.tenancy), ("audit", conventions.audit)):
        if setting is not None and setting.entity not in spec.entities:
            where: Place = ("conventions", key, "entity")
            yield where, f"unknown entity {setting.entity!r} (known: {known})"
    for i, rel in enumerate(spec.relationships):
        for key, name in (("from", rel.from_), ("to", rel.to)):
            if name not in spec.entities:
                yield ("relationships", i, key), f"unknown entity {name!r} (known: {known})"
        yield from _relationship_options(d, i, rel)
    for e, entity in spec.entities.items():
        yield from _entity_options(d, e, entity)
    tables: dict[str, Place] = {e: ("entities", e) for e in spec.entities}
    for i, rel in enumerate(spec.relationships):
        if rel.type != "many_to_many":
            continue
        table = join_table(rel)
        at: Place = ("relationships", i, "table") if rel.table else ("relationships", i)
        problem = name_problem(table)
        if problem is not None:
            yield at, f"join table {problem}"
        elif table in tables:
            other = dotted(tables[table])
            yield at, f"join table {table!r} has the name of {other}; set `table:` to another"
        tables.setdefault(table, ("relationships", i))
    for n in spec.enums:
        if n in tables:
            message = (
                f"enum {n!r} has the name of table {n!r}: PostgreSQL types and tables share "
                "one namespace"
            )
            yield ("enums", n), message
    index_names: dict[str, Place] = {}
    for e, entity in spec.entities.items():
        for i, ix in enumerate(entity.indexes):
            if ix.name is None:
                continue
            at = ("entities", e, "indexes", i, "name")
            if ix.name in tables or ix.name in index_names:
                other = dotted(index_names.get(ix.name) or tables[ix.name])
                yield at, f"index name {ix.name!r} is already used by {other}"
            index_names.setdefault(ix.name, at)


def _relationship_options(d: _Design, i: int, rel: RelationshipSpec) -> Iterator[Problem]:
    given = rel.model_fields_set
    at: Place = ("relationships", i)
    if rel.type == "many_to_many":
        for key in ("nullable", "column"):
            if key in given:
                message = (
                    f"`{key}` does not apply to many_to_many: the join table's keys are its "
                    "primary key"
                )
                yield (*at, key), message
        if rel.on_delete in ("set null", "set default"):
            message = f"on_delete {rel.on_delete} cannot apply to a join table's key (use cascade)"
            yield (*at, "on_delete"), message
    else:
        for key in ("table", "fields"):
            if key in given:
                yield (*at, key), f"`{key}` is only for many_to_many (this is {rel.type})"
        if rel.on_delete == "set null" and not rel.nullable:
            yield (*at, "on_delete"), "on_delete set null needs `nullable: true`"
    if rel.on_delete == "set default" and d.mysql:
        message = "on_delete set default is refused by MySQL's InnoDB, a target of this spec"
        yield (*at, "on_delete"), message


def _entity_options(d: _Design, e: str, entity: EntitySpec) -> Iterator[Problem]:
    at: Place = ("entities", e)
    conventions = d.conventions
    if d.natural(e) and not entity.primary_key:
        yield (*at, "id"), "id: natural needs `primary_key: [columns]`"
    if entity.primary_key and not d.natural(e):
        yield (*at, "primary_key"), "`primary_key` is for `id: natural` entities"
    if entity.tenant and conventions.tenancy is None:
        yield (*at, "tenant"), "`tenant: true` needs `conventions.tenancy`"
    if entity.tenant and conventions.tenancy is not None and e == conventions.tenancy.entity:
        yield (*at, "tenant"), f"{e} is the tenant entity and cannot belong to a tenant"
    if entity.audit and conventions.audit is None:
        message = "`audit: true` needs `conventions.audit` (the entity created_by refers to)"
        yield (*at, "audit"), message
    for i, ix in enumerate(entity.indexes):
        if ix.include and ix.method not in ("btree", "gist"):
            yield (*at, "indexes", i, "include"), f"a {ix.method} index cannot INCLUDE columns"
    part = entity.partition
    if part is None:
        return
    where: Place = (*at, "partition")
    if part.by == "list" and not part.values:
        yield where, "a list partition needs `values: [...]`"
    if part.by != "list" and part.values:
        yield (*where, "values"), f"`values` is for list partitions, not {part.by}"
    if part.start is not None:
        try:
            date.fromisoformat(part.start)
        except ValueError:
            yield (*where, "start"), f"start {part.start!r} is not an ISO date (YYYY-MM-DD)"


@dataclass(frozen=True)
class _Column:
    origin: str  # what makes it: "field", "id", "tenancy", "timestamps", "audit", ...
    kind: str | None  # the spec type where known
    nullable: bool
    place: Place


_HINTS = {
    "id": "remove the field (every entity gets `id`), or use `id: natural` with a primary_key",
    "tenancy": "remove the field: tenancy adds it to every tenant table",
    "timestamps": "remove the field, or set `timestamps: false` on {e}",
    "audit": "remove the field, or set `audit: false` on {e}",
    "soft_delete": "remove the field, or set `soft_delete: false` on {e}",
}


def _columns(d: _Design) -> Iterator[Problem]:
    """The columns of every table, from fields and from conventions and relationships."""
    for key in ("tenancy", "audit"):
        setting = getattr(d.conventions, key)
        if setting is not None and len(d.key(setting.entity)) != 1:
            width = len(d.key(setting.entity))
            message = f"the {key} entity needs a one-column key; {setting.entity}'s has {width}"
            yield ("conventions", key, "entity"), message
    tables: dict[str, dict[str, _Column]] = {}
    for e in d.spec.entities:
        columns = tables[e] = {}
        for name, column in _generated(d, e):
            columns[name] = column
    for i, rel in enumerate(d.spec.relationships):
        if rel.type == "many_to_many":
            yield from _join_table(d, i, rel)
            continue
        owner, target = holder(rel)
        at: Place = ("relationships", i)
        if rel.column is not None and len(d.key(target)) != 1:
            message = f"`column` names one key column, but {target}'s key has {len(d.key(target))}"
            yield (*at, "column"), message
        for col in key_columns(rel, d.key(target)):
            problem = name_problem(col)
            if problem is not None:
                yield at, f"key column {problem}; set `name:` or `column:`"
            elif col in tables[owner]:
                made = tables[owner][col]
                by = dotted(made.place) if made.origin == "relationship" else made.origin
                message = (
                    f"key column {col!r} on {owner} is also made by {by}; give one of them a "
                    "`name:` or `column:`"
                )
                yield at, message
            else:
                tables[owner][col] = _Column("relationship", None, rel.nullable, at)
    for e, entity in d.spec.entities.items():
        columns = tables[e]
        for f, field in entity.fields.items():
            at = ("entities", e, "fields", f)
            other = columns.get(f)
            if other is None:
                columns[f] = _Column("field", field.type, field.nullable, at)
            elif other.origin == "relationship":
                message = (
                    f"clashes with the key column of {dotted(other.place)}; remove the field: "
                    "the relationship makes it"
                )
                yield at, message
            else:
                hint = _HINTS[other.origin].format(e=e)
                yield at, f"clashes with the column {f!r} that {other.origin} generates; {hint}"
    for e in d.spec.entities:
        yield from _table_keys(d, e, tables[e])
    yield from _partitions(d)


def _generated(d: _Design, e: str) -> Iterator[tuple[str, _Column]]:
    at: Place = ("entities", e)
    if not d.natural(e):
        yield "id", _Column("id", d.entity(e).id or d.conventions.id, False, at)
    tenancy = d.conventions.tenancy
    if tenancy is not None and d.tenant_table(e):
        yield tenancy.column, _Column("tenancy", None, False, ("conventions", "tenancy"))
    if d.timestamps(e):
        for name in ("created_at", "updated_at"):
            yield name, _Column("timestamps", "timestamp", False, at)
    if d.audit(e):
        for name in ("created_by", "updated_by"):
            yield name, _Column("audit", None, True, at)
    if d.soft_delete(e):
        yield "deleted_at", _Column("soft_delete", "timestamp", True, at)


def _join_table(d: _Design, i: int, rel: RelationshipSpec) -> Iterator[Problem]:
    at: Place = ("relationships", i)
    roles = join_columns(rel)
    keys = [f"{roles[0]}_{k}" for k in d.key(rel.from_)]
    keys += [f"{roles[1]}_{k}" for k in d.key(rel.to)]
    tenancy = d.conventions.tenancy
    if tenancy is not None and (d.tenant_table(rel.from_) or d.tenant_table(rel.to)):
        keys.append(tenancy.column)
    seen: set[str] = set()
    for col in keys:
        problem = name_problem(col)
        if problem is not None:
            yield at, f"join key column {problem}; set `name:`"
        elif col in seen:
            yield at, f"the join table would have two {col!r} columns; set `name:`"
        seen.add(col)
    for f in rel.fields:
        if f in seen:
            yield (*at, "fields", f), f"clashes with the join table's key column {f!r}"


def _table_keys(d: _Design, e: str, columns: dict[str, _Column]) -> Iterator[Problem]:
    """Columns named by keys, uniques, indexes and the partition exist."""
    entity = d.entity(e)
    at: Place = ("entities", e)

    def missing(place: Place, name: str) -> Iterator[Problem]:
        if name not in columns:
            yield place, f"{e} has no column {name!r} (columns: {', '.join(columns)})"

    for j, col in enumerate(entity.primary_key):
        yield from missing((*at, "primary_key", j), col)
        if col in columns and columns[col].nullable:
            yield (*at, "primary_key", j), f"primary key column {col!r} is nullable"
    for i, group in enumerate(entity.unique):
        for j, col in enumerate(group):
            yield from missing((*at, "unique", i, j), col)
    for i, ix in enumerate(entity.indexes):
        for j, col in enumerate(ix.columns):
            if not col.strip().startswith("("):  # an expression, checked by the engine
                yield from missing((*at, "indexes", i, "columns", j), col)
        for j, col in enumerate(ix.include):
            yield from missing((*at, "indexes", i, "include", j), col)
    if entity.partition is not None:
        part = entity.partition
        yield from missing((*at, "partition", "column"), part.column)
        kind = columns[part.column].kind if part.column in columns else None
        if part.by == "range" and part.column in columns and kind not in _TIME_KINDS:
            message = (
                f"range partitions need a date, timestamp or datetime column; "
                f"{part.column!r} is {kind or 'a key column'}"
            )
            yield (*at, "partition", "column"), message


def _partitions(d: _Design) -> Iterator[Problem]:
    """A partitioned table cannot be referenced, and its unique keys hold the partition
    column: PostgreSQL checks uniqueness per partition only."""
    parted = {e: x.partition.column for e, x in d.spec.entities.items() if x.partition}
    why = "its key would have to include the partition column"
    for i, rel in enumerate(d.spec.relationships):
        sides = (rel.from_, rel.to) if rel.type == "many_to_many" else (holder(rel)[1],)
        for side in sides:
            if side in parted:
                message = (
                    f"{side} is partitioned and cannot be referenced: {why} "
                    f"{parted[side]!r}; reference the other way, or drop the partition"
                )
                yield ("relationships", i), message
    for key in ("tenancy", "audit"):
        setting = getattr(d.conventions, key)
        if setting is not None and setting.entity in parted:
            message = (
                f"{setting.entity} is the {key} entity, referenced by other tables, and "
                f"cannot be partitioned: {why}"
            )
            yield ("entities", setting.entity, "partition"), message
    for e, column in parted.items():
        entity = d.entity(e)
        at: Place = ("entities", e)
        rule = f"on a partitioned table every unique key must include {column!r}"
        if entity.primary_key and column not in entity.primary_key:
            yield (*at, "primary_key"), f"{rule}; add it to the primary key"
        for f, field in entity.fields.items():
            if field.unique and f != column:
                yield (*at, "fields", f, "unique"), rule
        for i, group in enumerate(entity.unique):
            if column not in group:
                yield (*at, "unique", i), rule
        for i, ix in enumerate(entity.indexes):
            if ix.unique and column not in ix.columns:
                yield (*at, "indexes", i, "unique"), rule
        for i, rel in enumerate(d.spec.relationships):
            if rel.type == "one_to_one" and rel.from_ == e:
                yield ("relationships", i), f"{rule}; a one_to_one key is unique"


def _cycles(d: _Design) -> Iterator[Problem]:
    """Required foreign keys that form a cycle: the first row of any table on it needs a row
    of the next one first. Deferrable keys are checked at COMMIT and break the cycle, except
    on MySQL, which has none."""
    edges: dict[str, list[str]] = {e: [] for e in d.spec.entities}
    tenancy = d.conventions.tenancy
    if tenancy is not None:
        for e in d.spec.entities:
            if d.tenant_table(e):
                edges[e].append(tenancy.entity)
    for i, rel in enumerate(d.spec.relationships):
        if rel.type == "many_to_many" or rel.nullable or (rel.deferrable and not d.mysql):
            continue
        owner, target = holder(rel)
        path = _path(edges, target, owner)
        if path is not None:
            fix = "make one nullable or deferrable"
            if d.mysql:
                fix = "make one nullable; deferrable does not help on MySQL, a target"
            cycle = " → ".join([owner, *path])
            message = (
                f"required foreign keys form a cycle that no INSERT can start: {cycle} ({fix})"
            )
            yield ("relationships", i), message
            continue  # report each cycle once, where it closes
        edges[owner].append(target)


def _path(edges: Mapping[str, list[str]], start: str, goal: str) -> list[str] | None:
    """The shortest path start → … → goal along `edges` (breadth first, in spec order)."""
    previous: dict[str, str | None] = {start: None}
    queue = [start]
    while queue:
        node = queue.pop(0)
        if node == goal:
            path = [node]
            while (step := previous[path[-1]]) is not None:
                path.append(step)
            return path[::-1]
        for nxt in edges[node]:
            if nxt not in previous:
                previous[nxt] = node
                queue.append(nxt)
    return None


__all__ = ["Place", "check_spec", "dotted", "line_of", "name_problem"]
