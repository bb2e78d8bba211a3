"""One table as SQLAlchemy code: a declarative class or a plain `sa.Table`.

Columns carry their exact type, identity or generation, server default and comment; keys,
checks and indexes go in `__table_args__` with their names, so `create_all` reproduces them
as the engine printed them. Index keys with a direction, collation, operator class or an
expression are written as `sa.text()` in the engine's own syntax.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from dbarchitect.codegen.sqlalchemy_code import (
    Node,
    annotated,
    atom,
    call,
    docstring,
    kw,
    layout,
    mapping,
    seq,
    string,
)
from dbarchitect.codegen.sqlalchemy_relations import Relation
from dbarchitect.codegen.sqlalchemy_types import Enums, MappedType, column_type
from dbarchitect.dialects.base import Dialect
from dbarchitect.model import Column, ForeignKey, Index, IndexKey, Schema, Table

_INTEGERS = ("smallint", "integer", "bigint")
# SQLAlchemy's text() reads `:name` as a bind parameter; a backslash keeps it literal.
_BIND = re.compile(r"(?<![:\w\\]):(?=\w)")


def sql_text(sql: str) -> Node:
    """`sa.text(...)` of an engine expression, its colons kept literal."""
    return call("sa.text", string(_BIND.sub(r"\\:", sql)))


@dataclass(slots=True, kw_only=True)
class TableWriter:
    """Writes tables of one schema; `imports` and `uses_raw` collect what the code needs."""

    schema: Schema
    dialect: Dialect
    enums: Enums
    attributes: dict[str, dict[str, str]]  # table → column name → attribute
    class_names: dict[str, str]
    table_vars: dict[str, str]
    imports: set[str] = field(default_factory=set)
    uses_raw: bool = False

    def _type(self, col: Column, *, annotated: bool = False) -> MappedType:
        mapped = column_type(col, self.schema.dialect, self.enums)
        self.imports |= mapped.imports
        if annotated:
            self.imports |= mapped.annotation_imports
        self.uses_raw = self.uses_raw or mapped.raw or "RawType(" in mapped.code
        return mapped

    def _column_args(self, table: Table, col: Column, *, mapped: bool) -> list[Node]:
        """Positional and keyword arguments of mapped_column() / sa.Column() after the name."""
        t = self._type(col)
        args: list[Node] = [atom(t.code)]
        mysql = self.schema.dialect == "mysql"
        if col.identity is not None and not mysql:
            args.append(self._identity(col))
        if col.generated is not None:
            persisted = "True" if col.generated_stored else "False"
            args.append(call("sa.Computed", string(col.generated), persisted=persisted))
        pk = table.primary_key
        in_pk = pk is not None and col.name in pk.columns
        if mapped and in_pk:
            args.append(kw("primary_key", "True"))
            if col.nullable:
                args.append(kw("nullable", "True"))
        elif not mapped and not col.nullable:
            args.append(kw("nullable", "False"))
        lone_key = pk is not None and pk.columns == (col.name,) and col.logical in _INTEGERS
        if lone_key and (col.identity is None or mysql):
            # Else SQLAlchemy makes a lone integer key SERIAL / AUTO_INCREMENT by itself.
            args.append(kw("autoincrement", "True" if mysql and col.identity else "False"))
        default = col.default
        on_update = dict(col.options).get("on_update")
        if on_update is not None:
            default = f"{default or 'NULL'} ON UPDATE {on_update}"
        if default is not None:
            args.append(kw("server_default", sql_text(default)))
        if col.comment is not None:
            args.append(kw("comment", string(col.comment)))
        return args

    def _identity(self, col: Column) -> Node:
        ident = col.identity
        assert ident is not None
        return call(
            "sa.Identity",
            always="True" if ident.always else None,
            start=str(ident.start) if ident.start != 1 else None,
            increment=str(ident.increment) if ident.increment != 1 else None,
            minvalue=str(ident.min_value) if ident.min_value is not None else None,
            maxvalue=str(ident.max_value) if ident.max_value is not None else None,
            cycle="True" if ident.cycle else None,
            cache=str(ident.cache) if ident.cache != 1 else None,
        )

    # -- constraints and indexes ---------------------------------------------------------

    def _constraints(self, table: Table, *, mapped: bool) -> list[Node]:
        out: list[Node] = []
        pk = table.primary_key
        order = [c.name for c in table.columns if pk and c.name in pk.columns]
        if pk is not None and (not mapped or pk.name or pk.deferrable or list(pk.columns) != order):
            out.append(
                call(
                    "sa.PrimaryKeyConstraint",
                    *(string(c) for c in pk.columns),
                    name=string(pk.name) if pk.name else None,
                    **self._deferrable(pk.deferrable, pk.initially_deferred),
                    **self._include(pk.include),
                )
            )
        out += [self._foreign_key(fk) for fk in table.foreign_keys]
        for u in table.uniques:
            out.append(
                call(
                    "sa.UniqueConstraint",
                    *(string(c) for c in u.columns),
                    name=string(u.name) if u.name else None,
                    **self._deferrable(u.deferrable, u.initially_deferred),
                    **self._include(u.include),
                    postgresql_nulls_not_distinct="True" if u.nulls_not_distinct else None,
                )
            )
        for c in table.checks:
            out.append(
                call(
                    "sa.CheckConstraint",
                    string(_BIND.sub(r"\\:", c.expression)),
                    name=string(c.name) if c.name else None,
                )
            )
        out += [self._index(i) for i in table.indexes]
        return out

    @staticmethod
    def _deferrable(deferrable: bool, deferred: bool) -> dict[str, str | None]:
        return {
            "deferrable": "True" if deferrable else None,
            "initially": string("DEFERRED") if deferred else None,
        }

    def _include(self, include: tuple[str, ...]) -> dict[str, Node | None]:
        return {"postgresql_include": seq([string(c) for c in include]) if include else None}

    def _foreign_key(self, fk: ForeignKey) -> Node:
        ref = fk.ref_qualified
        if fk.ref_schema == self.dialect.default_schema:
            ref = fk.ref_table
        explicit = self.schema.dialect == "mysql"
        return call(
            "sa.ForeignKeyConstraint",
            seq([string(c) for c in fk.columns]),
            seq([string(f"{ref}.{c}") for c in fk.ref_columns]),
            name=string(fk.name) if fk.name else None,
            # MySQL prints NO ACTION only when it was written: an omitted action is RESTRICT.
            ondelete=string(fk.on_delete) if fk.on_delete != "NO ACTION" or explicit else None,
            onupdate=string(fk.on_update) if fk.on_update != "NO ACTION" or explicit else None,
            match=string("FULL") if fk.match_full else None,
            **self._deferrable(fk.deferrable, fk.initially_deferred),
        )

    def _index(self, index: Index) -> Node:
        d = self.schema.dialect
        keys: list[Node] = []
        for k in index.keys:
            if _plain_key(k):
                keys.append(atom(string(k.column)))
            else:
                # A prefix length is written in the key too: `code(4)`.
                keys.append(sql_text(self._key_sql(k)))
        where = sql_text(index.where) if index.where else None
        # An INVALID index (a failed CONCURRENTLY build) is not something to recreate as such.
        options = {k: v for k, v in index.options if k != "invalid"}
        kwargs: dict[str, Node | str | None] = {
            "unique": "True" if index.unique else None,
            f"{_prefix(d)}_where": where if d != "mysql" else None,
        }
        if d == "postgres":
            kwargs |= {
                "postgresql_using": string(index.method) if index.method != "btree" else None,
                "postgresql_include": seq([string(c) for c in index.include])
                if index.include
                else None,
                "postgresql_with": mapping([(k, string(v)) for k, v in options.items()])
                if options
                else None,
                "postgresql_nulls_not_distinct": "True" if index.nulls_not_distinct else None,
            }
        elif d == "mysql":
            method = index.method.lower()
            kwargs |= {
                "mysql_prefix": string(method.upper())
                if method in ("fulltext", "spatial")
                else None,
                "mysql_using": string(method) if method in ("hash", "rtree") else None,
            }
        return call("sa.Index", string(index.name), *keys, **kwargs)

    def _key_sql(self, k: IndexKey) -> str:
        """One index key in the engine's CREATE INDEX syntax."""
        quote = self.dialect.quote
        d = self.schema.dialect
        # PostgreSQL and MySQL need parentheses around an expression key, SQLite keeps its own.
        text = quote(k.column)
        if k.expression:
            text = f"({k.column})" if d != "sqlite" else k.column
        if k.length is not None and d == "mysql":
            text += f"({k.length})"
        if k.collation:
            text += f" COLLATE {k.collation}"
        if k.opclass:
            text += f" {k.opclass}"
        if k.descending:
            text += " DESC"
        if k.nulls_first is not None:
            text += " NULLS FIRST" if k.nulls_first else " NULLS LAST"
        return text

    def _table_kwargs(self, table: Table) -> list[tuple[str, Node | str]]:
        d = self.schema.dialect
        out: list[tuple[str, Node | str]] = []
        if table.schema and table.schema != self.dialect.default_schema:
            out.append(("schema", string(table.schema)))
        if table.comment is not None:
            out.append(("comment", string(table.comment)))
        options = dict(table.options)
        if d == "postgres":
            if table.unlogged:
                out.append(("prefixes", seq([string("UNLOGGED")])))
            if table.partitioning is not None:
                p = table.partitioning
                out.append(("postgresql_partition_by", string(f"{p.strategy} ({p.key})")))
            if options:
                out.append(
                    ("postgresql_with", mapping([(k, string(v)) for k, v in options.items()]))
                )
        elif d == "sqlite":
            if options.get("autoincrement") == "true":
                out.append(("sqlite_autoincrement", "True"))
            if options.get("without_rowid") == "true":
                out.append(("sqlite_with_rowid", "False"))
            if options.get("strict") == "true":
                out.append(("sqlite_strict", "True"))
        else:
            for key, value in table.options:
                if key == "partition_by":
                    # SQLAlchemy writes PARTITION BY itself, then the clause as given.
                    clause = re.sub(r"^\s*PARTITION\s+BY\s+", "", value, flags=re.IGNORECASE)
                    out.append(("mysql_partition_by", string(clause)))
                elif key != "system_versioning":  # an ALTER after create_all adds it
                    out.append((f"mysql_{_MYSQL_OPTIONS.get(key, key)}", string(value)))
        return out

    # -- whole tables ----------------------------------------------------------------------

    def core_table(self, table: Table, var: str) -> str:
        """A plain `sa.Table` (no primary key, or a pure join table)."""
        args: list[Node | str] = [string(table.name), "Base.metadata"]
        for col in table.columns:
            args.append(
                call("sa.Column", string(col.name), *self._column_args(table, col, mapped=False))
            )
        args += self._constraints(table, mapped=False)
        kwargs = {k: v for k, v in self._table_kwargs(table)}
        node = call("sa.Table", *args, **kwargs)
        return "\n".join(layout(_exploded(node), 0, prefix=f"{var} = "))

    def model_class(self, table: Table, name: str, relations: list[Relation]) -> str:
        """A declarative class: docstring, table name and args, columns, relationships."""
        lines = [f"class {name}(Base):"]
        about = table.comment or f"The {table.qualified} table."
        lines += docstring(about, 4)
        lines += ["", f"    __tablename__ = {string(table.name)}"]
        items: list[Node] = self._constraints(table, mapped=True)
        kwargs = self._table_kwargs(table)
        if kwargs:
            items.append(mapping(kwargs))
        if items:
            # One element keeps its comma on one line: ruff joins it when it fits.
            targs = seq(items, "(") if len(items) == 1 else _exploded(seq(items, "("))
            lines += layout(targs, 4, prefix="__table_args__ = ")
        lines.append("")
        attrs = self.attributes[table.qualified]
        for col in table.columns:
            attr = attrs[col.name]
            t = self._type(col, annotated=True)
            args = self._column_args(table, col, mapped=True)
            if attr != col.name:
                args.insert(0, atom(string(col.name)))
            optional = " | None" if col.nullable else ""
            node = call("mapped_column", *args)
            lines += annotated(attr, "Mapped", f"{t.annotation}{optional}", node, 4)
        if relations:
            lines.append("")
        for rel in relations:
            lines += self._relationship(rel)
        return "\n".join(lines)

    def _relationship(self, rel: Relation) -> list[str]:
        target = self.class_names[rel.target]
        if rel.kind == "many_to_one":
            ann = f"{target} | None" if rel.nullable else target
        elif rel.kind == "one_to_one":
            ann = f"{target} | None"
        else:
            ann = f"list[{target}]"
        node = call(
            "relationship",
            secondary=self._secondary(rel.secondary),
            back_populates=string(rel.back) if rel.back else None,
            viewonly="True" if rel.viewonly else None,
            foreign_keys=self._columns_ref(rel.foreign_keys),
            remote_side=self._columns_ref(rel.remote_side),
            overlaps=string(",".join(sorted(rel.overlaps))) if rel.overlaps else None,
        )
        return annotated(rel.name, "Mapped", ann, node, 4)

    def _secondary(self, qualified: str | None) -> str | None:
        """The join table: its variable when it is a plain Table, else its metadata key."""
        if qualified is None:
            return None
        if qualified in self.table_vars:
            return self.table_vars[qualified]
        table = next(t for t in self.schema.tables if t.qualified == qualified)
        default = self.dialect.default_schema
        key = table.name if table.schema in ("", default) else f"{table.schema}.{table.name}"
        return string(key)

    def _columns_ref(self, refs: tuple[str, ...]) -> str | None:
        """`"[Class.attr, …]"`: columns named lazily, for classes defined later."""
        if not refs:
            return None
        parts = []
        for ref in refs:
            table, column = ref.split("\0")
            parts.append(f"{self.class_names[table]}.{self.attributes[table][column]}")
        return string("[" + ", ".join(parts) + "]")


# Our option names → SQLAlchemy's mysql_* table arguments (the rest map by name: mysql_<key>).
_MYSQL_OPTIONS = {"collation": "collate", "charset": "charset"}


def _plain_key(k: IndexKey) -> bool:
    return not (
        k.expression
        or k.collation
        or k.opclass
        or k.descending
        or k.nulls_first is not None
        or k.length is not None
    )


def _prefix(dialect: str) -> str:
    return {"postgres": "postgresql"}.get(dialect, dialect)


def _exploded(node: Node) -> Node:
    """Always one element per line (tables and table args read better that way)."""
    return Node(node.head, node.items, node.open, node.close, node.single_comma, True)


__all__ = ["TableWriter", "sql_text"]
