"""What each schema object depends on, at the grain operations work at.

Both the diff (which dependents an object that is rebuilt drags along) and the planner (which
operation must run first) ask the same question: "what does this object need to exist?". The
answer is a set of keys:

    ns:<name>  ext:<name>  coll:<s.n>  tscfg:<s.n>  type:<s.n>  rel:<s.n>  func:<s.n(args)>
    col:<owner>.<column>  con:<owner>.<name>  idx:<owner>.<name>  trg:<owner>.<name>
    pol:<owner>.<name>  grant:<value>  defpriv:<value>

`rel:`, `type:` and `func:` are the keys the catalog's own dependency list (`depends_on`) uses.
Where the catalog records a dependency only per table (a view over a table, a default using a
sequence) the column it concerns is found by a word match on the expression text: a false match
costs a needless rebuild, never a broken migration.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from dbarchitect.migrate.operations import Kind, Obj, Operation
from dbarchitect.model import (
    CheckConstraint,
    Collation,
    Column,
    CompositeType,
    DefaultPrivilege,
    DomainType,
    EnumType,
    ExclusionConstraint,
    Extension,
    ForeignKey,
    Function,
    Grant,
    Index,
    Namespace,
    Policy,
    PrimaryKey,
    RangeType,
    Schema,
    Sequence,
    Table,
    TextSearchConfig,
    Trigger,
    UniqueConstraint,
    View,
)

# Identifiers in expression text: bare words and the insides of double-quoted names.
_WORD = re.compile(r'"((?:[^"]|"")+)"|([A-Za-z_\x80-\uffff][\w$\x80-\uffff]*)')

CONSTRAINT_KINDS = ("primary_key", "foreign_key", "unique", "check", "exclusion")
SUB_KINDS = ("column", *CONSTRAINT_KINDS, "index", "trigger", "policy")
_PREFIX: dict[str, str] = {
    "namespace": "ns",
    "extension": "ext",
    "collation": "coll",
    "ts_config": "tscfg",
    "enum": "type",
    "domain": "type",
    "composite": "type",
    "range": "type",
    "sequence": "rel",
    "table": "rel",
    "view": "rel",
    "function": "func",
    "column": "col",
    "primary_key": "con",
    "foreign_key": "con",
    "unique": "con",
    "check": "con",
    "exclusion": "con",
    "index": "idx",
    "trigger": "trg",
    "policy": "pol",
    "grant": "grant",
    "default_privilege": "defpriv",
}


def words(text: str | None) -> set[str]:
    """The identifiers a piece of SQL text mentions (quoted ones unquoted)."""
    if not text:
        return set()
    return {q.replace('""', '"') if q else w for q, w in _WORD.findall(text)}


def object_key(kind: Kind | str, obj: Obj, owner: str = "") -> str:
    """The key of one object as operations and dependency lists name it."""
    prefix = _PREFIX[kind]
    if isinstance(obj, Function):
        return f"func:{obj.schema}.{obj.name}({obj.identity})"
    if isinstance(obj, (Grant, DefaultPrivilege)):
        return f"{prefix}:{obj!r}"
    if kind in SUB_KINDS:
        return f"{prefix}:{owner}.{getattr(obj, 'name', '')}"
    if isinstance(obj, (Namespace, Extension)):
        return f"{prefix}:{obj.name}"
    schema = getattr(obj, "schema", "")
    name = getattr(obj, "name", "")
    return f"{prefix}:{schema}.{name}" if schema else f"{prefix}:{name}"


def op_key(op: Operation) -> str:
    """The key of the object an operation addresses."""
    return object_key(op.kind, op.subject, op.owner)


def rel_key(qualified: str) -> str:
    return f"rel:{qualified}"


def constraints_of(t: Table) -> Iterator[tuple[Kind, Obj]]:
    """A table's constraints with their operation kinds."""
    if t.primary_key is not None:
        yield "primary_key", t.primary_key
    for fk in t.foreign_keys:
        yield "foreign_key", fk
    for u in t.uniques:
        yield "unique", u
    for c in t.checks:
        yield "check", c
    for x in t.exclusions:
        yield "exclusion", x


class DepIndex:
    """Lookups over one schema that turn an object into the keys it depends on.

    `aliases` maps a table's other name (across a rename) to the name it has here, and
    `extra_columns` adds a renamed column's other name, so operations written with either name
    resolve (the planner sees old names in one direction and new names in the other).
    """

    def __init__(
        self,
        schema: Schema,
        quote: Callable[[str], str],
        aliases: dict[str, str] | None = None,
        extra_columns: dict[str, set[str]] | None = None,
    ) -> None:
        self.schema = schema
        self.quote = quote
        self.rels: dict[str, Table | View] = {t.qualified: t for t in schema.tables}
        self.rels.update({v.qualified: v for v in schema.views})
        for other, here in (aliases or {}).items():
            if here in self.rels and other not in self.rels:
                self.rels[other] = self.rels[here]
        self.extra_columns = extra_columns or {}
        self.by_qname: dict[str, str] = {}  # quoted qualified name → key
        self.types_by_name: dict[str, str] = {}
        for group in (schema.enums, schema.domains, schema.composite_types, schema.ranges):
            for ty in group:
                key = f"type:{ty.schema}.{ty.name}"
                self.types_by_name[self.qname(ty.schema, ty.name)] = key
                self.types_by_name[ty.name] = key
        named: list[Table | View | Sequence] = [*schema.tables, *schema.views, *schema.sequences]
        for rel in named:
            self.by_qname[self.qname(rel.schema, rel.name)] = _rel(rel.schema, rel.name)
        for other, here in (aliases or {}).items():
            if here in self.rels:
                r = self.rels[here]
                self.by_qname.setdefault(self.qname(*_split(other, r.schema)), f"rel:{here}")
        self.collations: dict[str, str] = {}
        for coll in schema.collations:
            key = f"coll:{coll.schema}.{coll.name}"
            self.collations[self.qname(coll.schema, coll.name)] = key
            self.collations[coll.name] = key
        self.funcs_by_name: dict[str, set[str]] = {}
        self.funcs_by_qname: dict[str, set[str]] = {}
        for fn in schema.functions:
            key = object_key("function", fn)
            self.funcs_by_name.setdefault(fn.name, set()).add(key)
            self.funcs_by_qname.setdefault(self.qname(fn.schema, fn.name), set()).add(key)
        self.rels_by_name: dict[str, set[str]] = {}
        for rel in named:
            self.rels_by_name.setdefault(rel.name, set()).add(_rel(rel.schema, rel.name))

    def qname(self, schema: str | None, name: str) -> str:
        """The quoted qualified name, as grants, partition parents and triggers spell it."""
        return f"{self.quote(schema)}.{self.quote(name)}" if schema else self.quote(name)

    def columns_of(self, owner: str) -> set[str]:
        rel = self.rels.get(owner)
        names = {c.name for c in rel.columns} if rel is not None else set()
        return names | self.extra_columns.get(owner, set())

    def type_refs(self, type_text: str) -> set[str]:
        """Keys of user-defined types a column type names (arrays included)."""
        base = type_text.strip()
        while base.endswith("[]"):
            base = base[:-2]
        key = self.types_by_name.get(base) or self.types_by_name.get(base.split("(")[0])
        return {key} if key else set()

    def collation_refs(self, collation: str | None) -> set[str]:
        """The key of a user-defined collation, if `collation` names one."""
        key = self.collations.get(collation or "") or self.collations.get(
            (collation or "").replace('"', "")
        )
        return {key} if key else set()

    def mentions(self, text: str | None, owner: str = "") -> set[str]:
        """Keys of functions, relations and `owner`'s columns that `text` mentions by name."""
        found: set[str] = set()
        ws = words(text)
        if not ws:
            return found
        for w in ws:
            found |= self.funcs_by_name.get(w, set())
            found |= self.rels_by_name.get(w, set())
            if w in self.types_by_name:
                found.add(self.types_by_name[w])
        if owner:
            found |= {f"col:{owner}.{c}" for c in self.columns_of(owner) & ws}
        return found

    def deps(self, kind: Kind | str, obj: Obj, owner: str = "") -> set[str]:
        """Keys of what `obj` needs to exist (never its own key)."""
        out = self._deps(kind, obj, owner)
        out.discard(object_key(kind, obj, owner))
        return out

    def _deps(self, kind: Kind | str, obj: Obj, owner: str) -> set[str]:
        if isinstance(obj, Namespace):
            return set()
        if isinstance(obj, Extension):
            needs = {f"ext:{r}" for r in obj.requires}
            return needs | ({f"ns:{obj.schema}"} if obj.schema else set())
        out: set[str] = set()
        schema = getattr(obj, "schema", None)
        if schema and not isinstance(obj, DefaultPrivilege):
            out.add(f"ns:{schema}")
        if isinstance(obj, (Collation, TextSearchConfig, EnumType)):
            return out | self._extensions()
        if isinstance(obj, DomainType):
            out |= self.type_refs(obj.base_type) | self._extensions()
            out |= self.collation_refs(obj.collation)
            for chk in obj.checks:
                out |= self.mentions(chk.expression)
            return out
        if isinstance(obj, CompositeType):
            for a in obj.attributes:
                out |= self.type_refs(a.type)
            return out | self._extensions()
        if isinstance(obj, RangeType):
            return out | self.type_refs(obj.subtype) | self._extensions()
        if isinstance(obj, Sequence):
            if obj.owned_by:
                table, _, column = obj.owned_by.rpartition(".")
                out |= {f"col:{table}.{column}", f"rel:{table}"}
            return out
        if isinstance(obj, Function):
            # A body parsed at creation (SQL-standard) depends on the columns it reads.
            out |= self._columns_read(obj.depends_on, obj.body)
            return out | catalog_keys(obj.depends_on) | self._extensions()
        if isinstance(obj, Table):
            return out | self._table_deps(obj)
        if isinstance(obj, View):
            return out | self._view_deps(obj)
        if isinstance(obj, Grant):
            return self._grant_deps(obj)
        if isinstance(obj, DefaultPrivilege):
            return {f"ns:{obj.schema}"} if obj.schema else set()
        return self._sub_deps(obj, owner)

    def _extensions(self) -> set[str]:
        # Extensions provide types, functions and operators others use: create them first.
        return {f"ext:{e.name}" for e in self.schema.extensions}

    def _table_deps(self, t: Table) -> set[str]:
        out = catalog_keys(t.depends_on) | self._extensions()
        for parent in [t.partition_of, *t.inherits] if t.partition_of else t.inherits:
            if parent and parent in self.by_qname:
                out.add(self.by_qname[parent])
        for c in t.columns:
            out |= self.type_refs(c.type)
        return out

    def _view_deps(self, v: View) -> set[str]:
        out = catalog_keys(v.depends_on) | self._extensions()
        return out | self._columns_read(v.depends_on, v.definition)

    def _columns_read(self, depends_on: tuple[str, ...], text: str | None) -> set[str]:
        """Column keys of the relations in `depends_on` that `text` names."""
        out: set[str] = set()
        ws = words(text)
        for key in catalog_keys(depends_on):
            if key.startswith("rel:"):
                target = key[4:]
                out |= {f"col:{target}.{c}" for c in self.columns_of(target) & ws}
        return out

    def _grant_deps(self, g: Grant) -> set[str]:
        if g.object_type in ("table", "sequence", "column"):
            key = self.by_qname.get(g.object)
            if key is None:
                return set()
            return {key} | {f"col:{key[4:]}.{c}" for c in g.columns}
        if g.object_type in ("function", "procedure"):
            return {k for k in self._funcs_by_signature().get(g.object, ())}
        if g.object_type == "schema":
            return {f"ns:{g.object.strip(chr(34))}"}
        key = self.types_by_name.get(g.object)
        return {key} if key else set()

    def _funcs_by_signature(self) -> dict[str, set[str]]:
        cached: dict[str, set[str]] | None = getattr(self, "_sig_cache", None)
        if cached is None:
            cached = {}
            for fn in self.schema.functions:
                sig = f"{self.qname(fn.schema, fn.name)}({fn.identity})"
                cached.setdefault(sig, set()).add(object_key("function", fn))
            self._sig_cache = cached
        return cached

    def _sub_deps(self, obj: Obj, owner: str) -> set[str]:
        # Extension types and operator classes are not in the model: assume any may be used.
        out = {f"rel:{owner}"} | self._extensions()
        cols = self.columns_of(owner)

        def col(names: tuple[str, ...] | list[str]) -> set[str]:
            return {f"col:{owner}.{c}" for c in names}

        if isinstance(obj, Column):
            out |= self.type_refs(obj.type) | self.collation_refs(obj.collation)
            table = self.rels.get(owner)
            allowed = catalog_keys(table.depends_on) if isinstance(table, Table) else set()
            # The catalog says which sequences and functions the table's defaults use; the
            # word match says which column uses them.
            out |= self.mentions(obj.default) & allowed
            if obj.generated:
                gen = self.mentions(obj.generated, owner)
                out |= {k for k in gen if k.startswith("col:") or k in allowed}
            out.discard(f"col:{owner}.{obj.name}")
            return out
        if isinstance(obj, (PrimaryKey, UniqueConstraint)):
            return out | col([*obj.columns, *obj.include])
        if isinstance(obj, ForeignKey):
            ref = obj.ref_qualified
            out |= col(obj.columns) | {f"rel:{ref}"}
            out |= {f"col:{ref}.{c}" for c in obj.ref_columns}
            target = self.referenced_key(ref, obj.ref_columns)
            if target:
                out.add(target)
            return out
        if isinstance(obj, CheckConstraint):
            return out | self.mentions(obj.expression, owner)
        if isinstance(obj, ExclusionConstraint):
            return out | self.mentions(obj.definition, owner)
        if isinstance(obj, Index):
            for k in obj.keys:
                out |= self.collation_refs(k.collation)
                if k.expression:
                    out |= self.mentions(k.column, owner)
                elif k.column in cols:
                    out.add(f"col:{owner}.{k.column}")
            return out | col(list(obj.include)) | self.mentions(obj.where, owner)
        if isinstance(obj, Trigger):
            if obj.function:
                out |= self.funcs_by_qname.get(obj.function, set())
            named = self.mentions(obj.definition, owner)
            return out | {k for k in named if k.startswith(("col:", "func:"))}
        if isinstance(obj, Policy):
            return out | self.mentions(obj.using, owner) | self.mentions(obj.with_check, owner)
        return out

    def referenced_key(self, ref: str, columns: tuple[str, ...]) -> str | None:
        """The primary key, unique constraint or unique index a foreign key relies on."""
        t = self.rels.get(ref)
        if not isinstance(t, Table):
            return None
        want = set(columns)
        if t.primary_key is not None and set(t.primary_key.columns) == want:
            return f"con:{ref}.{t.primary_key.name}"
        for u in t.uniques:
            if set(u.columns) == want:
                return f"con:{ref}.{u.name}"
        for ix in t.indexes:
            if ix.unique and ix.where is None and {k.column for k in ix.keys} == want:
                return f"idx:{ref}.{ix.name}"
        return None

    def sub_objects(self, rel: Table | View) -> Iterator[tuple[Kind, Obj]]:
        """Everything that lives on a table or view, with its operation kind."""
        for c in rel.columns:
            yield "column", c
        if isinstance(rel, Table):
            yield from constraints_of(rel)
            for p in rel.policies:
                yield "policy", p
        for ix in rel.indexes:
            yield "index", ix
        for tg in rel.triggers:
            yield "trigger", tg


def _rel(schema: str, name: str) -> str:
    return f"rel:{schema}.{name}" if schema else f"rel:{name}"


def _split(qualified: str, default_schema: str) -> tuple[str, str]:
    schema, dot, name = qualified.partition(".")
    return (schema, name) if dot else (default_schema, qualified)


def catalog_keys(depends_on: tuple[str, ...]) -> set[str]:
    """`depends_on` as graph keys. Engines without a typed dependency catalog (SQLite, MySQL)
    record the bare names of the tables and views an object reads: those are relations."""
    return {d if ":" in d else f"rel:{d}" for d in depends_on}
