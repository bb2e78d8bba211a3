"""What the PostgreSQL migration renderers share: the two schemas and what has run so far.

Operations arrive already ordered, but some facts only the sequence of operations knows: a
table created a moment ago is empty (so no online forms are needed), a sequence owned by a
column dropped earlier is already gone, an OWNED BY must wait for its column to exist. The
`Context` records those facts while statements are emitted in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from dbarchitect.dialects.postgres.quoting import literal, qname
from dbarchitect.errors import InputError
from dbarchitect.migrate.migration import Statement
from dbarchitect.migrate.operations import Operation
from dbarchitect.model import Column, DomainType, Schema, Table, View

MAX_IDENT_BYTES = 63


def fit(name: str) -> str:
    """`name` cut to PostgreSQL's 63-byte identifier limit on a character boundary."""
    while len(name.encode("utf-8")) > MAX_IDENT_BYTES:
        name = name[:-1]
    return name


def comment_sql(target: str, comment: str | None) -> str:
    """COMMENT ON `target` IS …; NULL removes the comment."""
    text = "NULL" if comment is None else literal(comment)
    return f"COMMENT ON {target} IS {text};"


@dataclass
class Context:
    """The schemas, the operations and the statements emitted so far."""

    before: Schema
    after: Schema
    online: bool
    operations: Sequence[Operation]
    out: list[Statement] = field(default_factory=list)
    op: Operation | None = None
    created: set[str] = field(default_factory=set)  # relations created by earlier operations
    dropped: set[str] = field(default_factory=set)  # relations dropped by earlier operations
    dropped_columns: set[tuple[str, str]] = field(default_factory=set)
    created_columns: set[tuple[str, str]] = field(default_factory=set)
    gone_sequences: set[str] = field(default_factory=set)  # dropped with their owning column
    pending_owned: dict[str, list[str]] = field(default_factory=dict)  # "s.t.c" → statements
    owned: dict[str, str | None] = field(default_factory=dict)  # sequence → its OWNED BY now
    renamed: set[str] = field(default_factory=set)  # new names of tables renamed so far

    def __post_init__(self) -> None:
        self.owned = {f"{s.schema}.{s.name}": s.owned_by for s in self.before.sequences}

    def emit(self, sql: str, *, transactional: bool = True) -> None:
        """Append one statement, attributed to the operation being rendered."""
        assert sql.endswith(";"), sql
        self.out.append(Statement(sql=sql, transactional=transactional, operation=self.op))

    def fail(self, why: str) -> InputError:
        """An error naming the operation that cannot be rendered."""
        what = self.op.describe() if self.op else "migration"
        return InputError(f"{what}: {why}")

    # --- looking objects up -------------------------------------------------------------
    def relation(self, qualified: str) -> Table | View | None:
        """The table or view named `schema.name` (unquoted), preferring its `after` form."""
        for schema in (self.after, self.before):
            found = schema.table(qualified) or schema.view(qualified)
            if found is not None:
                return found
        return None

    def table(self, qualified: str) -> Table | None:
        """The table named `schema.name`, preferring its `after` form."""
        return self.after.table(qualified) or self.before.table(qualified)

    def table_by_qname(self, quoted: str, schema: Schema | None = None) -> Table | None:
        """A table by its quoted qualified name (as partition_of and inherits record it)."""
        for s in (schema,) if schema is not None else (self.after, self.before):
            for t in s.tables:
                if qname(t.schema, t.name) == quoted:
                    return t
        return None

    def domain(self, qualified: str) -> DomainType | None:
        """The domain named `schema.name`, preferring its `after` form."""
        for s in (self.after, self.before):
            for d in s.domains:
                if f"{d.schema}.{d.name}" == qualified:
                    return d
        return None

    def owner_sql(self, qualified: str) -> str:
        """The quoted name of the relation or domain an operation's sub-object lives on."""
        rel = self.relation(qualified)
        if rel is not None:
            return qname(rel.schema, rel.name)
        dom = self.domain(qualified)
        if dom is not None:
            return qname(dom.schema, dom.name)
        schema, _, name = qualified.partition(".")
        return qname(schema, name) if name else qname(None, schema)

    def existing(self, qualified: str) -> bool:
        """True when the relation holds rows already: it is in `before` and was not
        (re)created by this migration, so online forms matter for it."""
        if qualified in self.created:
            return False
        if qualified in self.renamed:
            return True
        return self.before.table(qualified) is not None or self.before.view(qualified) is not None

    def partitioned(self, qualified: str) -> bool:
        """A partitioned parent, before or after (no CONCURRENTLY, no USING INDEX, no NOT VALID
        FK): a table that becomes one, or stops being one, is partitioned at some point."""
        tables = (self.before.table(qualified), self.after.table(qualified))
        return any(t is not None and t.partitioning is not None for t in tables)

    def propagated_column(self, owner: str, name: str, schema: Schema | None = None) -> bool:
        """A column a partition or inheritance child has from its parent: PostgreSQL
        changes it through the parent, and refuses most changes on the child itself."""
        for s in (schema,) if schema is not None else (self.after, self.before):
            t = s.table(owner)
            if t is None:
                continue
            col = t.column(name)
            if col is not None and col.inherited:
                return True
            if t.partition_of:
                parent = self.table_by_qname(t.partition_of, s)
                if parent is not None and parent.column(name) is not None:
                    return True
            return False
        return False

    def parent_column(self, owner: str, name: str) -> Column | None:
        """The same column on the partitioned parent or inheritance parent, in `after`."""
        t = self.after.table(owner)
        if t is None:
            return None
        for parent_name in (t.partition_of,) if t.partition_of else t.inherits:
            if parent_name:
                parent = self.table_by_qname(parent_name, self.after)
                col = parent.column(name) if parent is not None else None
                if col is not None:
                    return col
        return None

    def column_exists_now(self, owner: str, name: str) -> bool:
        """Whether the column is in the database at this point of the migration."""
        if (owner, name) in self.created_columns:
            return True
        if owner in self.dropped or (owner, name) in self.dropped_columns:
            return False
        t = self.before.table(owner)
        return t is not None and t.column(name) is not None

    def objects_dropped(self) -> set[str]:
        """Quoted names of every object some operation of this migration drops (grants on
        them need no REVOKE: they vanish with the object)."""
        out: set[str] = set()
        for op in self.operations:
            if op.action != "drop" or op.before is None:
                continue
            obj = op.before
            if op.kind in ("table", "view", "sequence", "enum", "domain", "composite", "range"):
                out.add(qname(getattr(obj, "schema", ""), getattr(obj, "name", "")))
            elif op.kind == "function":
                fn = obj
                out.add(
                    f"{qname(getattr(fn, 'schema', ''), getattr(fn, 'name', ''))}"
                    f"({getattr(fn, 'identity', '')})"
                )
            elif op.kind == "namespace":
                out.add(qname(None, getattr(obj, "name", "")))
        return out

    # --- sequences owned by columns ----------------------------------------------------
    def owned_by_target(self, owned_by: str) -> tuple[str, str] | None:
        """Split "schema.table.column" using the tables both schemas know."""
        for s in (self.after, self.before):
            for t in s.tables:
                prefix = t.qualified + "."
                if owned_by.startswith(prefix) and t.column(owned_by[len(prefix) :]):
                    return t.qualified, owned_by[len(prefix) :]
        table, _, col = owned_by.rpartition(".")
        return (table, col) if table else None

    def owned_by_sql(self, owned_by: str) -> str:
        """`schema.table.column` quoted for OWNED BY."""
        target = self.owned_by_target(owned_by)
        if target is None:
            raise self.fail(f"cannot find the column {owned_by!r} a sequence is owned by")
        return f"{self.owner_sql(target[0])}.{qname(None, target[1])}"

    def when_column_exists(self, owned_by: str, sql: str) -> None:
        """Emit `sql` now if the column exists, else once it is created."""
        target = self.owned_by_target(owned_by)
        if target is None or self.column_exists_now(*target):
            self.emit(sql)
        else:
            self.pending_owned.setdefault(f"{target[0]}.{target[1]}", []).append(sql)

    def column_created(self, owner: str, col: Column) -> None:
        """Record a new column and emit what was waiting for it."""
        self.created_columns.add((owner, col.name))
        self.dropped_columns.discard((owner, col.name))
        for sql in self.pending_owned.pop(f"{owner}.{col.name}", []):
            self.emit(sql)

    def column_dropped(self, owner: str, name: str) -> None:
        """Record a dropped column; sequences it owned went with it."""
        self.dropped_columns.add((owner, name))
        self.created_columns.discard((owner, name))
        for seq, owned_by in self.owned.items():
            if owned_by == f"{owner}.{name}":
                self.gone_sequences.add(seq)

    def flush_pending(self) -> None:
        """What still waits at the end is emitted anyway (its column may come from outside
        the migration's knowledge); PostgreSQL will say if it is missing."""
        for key in sorted(self.pending_owned):
            for sql in self.pending_owned.pop(key):
                self.emit(sql)
