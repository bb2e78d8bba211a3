"""DBML (dbdiagram.io's Database Markup Language) from a Schema.

One `Project` with the database type, an `Enum` per enum (MySQL's inline ENUM columns become
enums of their own), a `Table` per table with column settings (pk, increment, not null, unique,
default, note), `indexes` (composite keys, unique constraints, indexes with their name, method
and partial predicate), `checks`, and a `Ref` per foreign key with its actions.

DBML has no views, partitions, triggers or functions: partitions are folded into their parent's
note and the rest is listed in `//` comments, so nothing is dropped silently. Types are written
the way DBML tools read them back: PostgreSQL's long spellings become their short aliases
(`character varying(20)` → `varchar(20)`), since `dbml2sql` quotes a type holding both a space
and a parenthesis as if it were one identifier.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from dbarchitect.codegen.diesel_types import split_qualified
from dbarchitect.model import Column, ForeignKey, Index, Schema, Table

_BARE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_KEYWORDS = frozenset(
    {"table", "ref", "enum", "project", "note", "indexes", "checks", "tablegroup", "as", "records"}
)
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
# A string literal, optionally cast to a type (PostgreSQL prints 'ok'::app.mood, 'x'::text).
_STRING = re.compile(r"^'((?:[^']|'')*)'(::[\w\s.\"()\[\],]+)?$")
_PG_SHORT: tuple[tuple[str, str], ...] = (
    (r"^character varying", "varchar"),
    (r"^character(?=\(|$|\[)", "char"),
    (r"^bit varying", "varbit"),
    (r"^timestamp(\(\d+\))? with time zone", r"timestamptz\1"),
    (r"^timestamp(\(\d+\))? without time zone", r"timestamp\1"),
    (r"^time(\(\d+\))? with time zone", r"timetz\1"),
    (r"^time(\(\d+\))? without time zone", r"time\1"),
)
_ACTIONS = {"CASCADE": "cascade", "RESTRICT": "restrict", "SET NULL": "set null"}
_ACTIONS["SET DEFAULT"] = "set default"


def name(ident: str) -> str:
    """An identifier as DBML reads it: bare when plain, else double-quoted."""
    if _BARE.match(ident) and ident.lower() not in _KEYWORDS:
        return ident
    return '"' + ident.replace("\\", "\\\\").replace('"', '\\"') + '"'


def string(text: str) -> str:
    """A single-quoted DBML string with backslash escapes."""
    escaped = text.replace("\\", "\\\\").replace("'", "\\'")
    return "'" + escaped.replace("\r", "\\r").replace("\n", "\\n") + "'"


class _Writer:
    """Renders one schema; knows its default schema and which types are enums."""

    def __init__(self, schema: Schema) -> None:
        from dbarchitect.dialects import get_dialect

        dialect = get_dialect(schema.dialect)
        self.schema = schema
        self.label = dialect.label
        self.default_schema = dialect.default_schema
        self.pg_like = dialect.has_schemas
        self.mysql_enums: dict[tuple[str, str], tuple[str, tuple[str, ...]]] = {}
        taken = {e.name for e in schema.enums}
        for table in schema.tables:
            for column in table.columns:
                if not dialect.has_schemas and column.type.lower().startswith("enum("):
                    enum_name = f"{table.name}_{column.name}_enum"
                    while enum_name in taken:
                        enum_name += "_"
                    taken.add(enum_name)
                    values = re.findall(r"'((?:[^']|'')*)'", column.type)
                    labels = tuple(v.replace("''", "'") for v in values)
                    self.mysql_enums[(table.name, column.name)] = (enum_name, labels)

    def qualified(self, schema_name: str, ident: str) -> str:
        if schema_name and schema_name != self.default_schema:
            return f"{name(schema_name)}.{name(ident)}"
        return name(ident)

    def table_ref(self, table: Table) -> str:
        return self.qualified(table.schema, table.name)

    def column_type(self, table: Table, column: Column) -> str:
        if (table.name, column.name) in self.mysql_enums:
            return name(self.mysql_enums[(table.name, column.name)][0])
        text = re.sub(r"\s+", " ", column.type.strip())
        if not text:
            return "any"  # SQLite: a column declared without a type takes anything
        if self.pg_like:
            for pattern, short in _PG_SHORT:
                text = re.sub(pattern, short, text)
            suffix = "[]" if text.endswith("[]") else ""
            base = text.removesuffix("[]")
            if '"' in base or (base.startswith(self.default_schema + ".") and self.default_schema):
                schema_name, ident = split_qualified(base)
                text = self.qualified(schema_name, ident) + suffix
        else:
            text = re.sub(r"\s*\(\s*", "(", text)
            text = re.sub(r"\s*,\s*", ",", text)
        if re.match(r"^[A-Za-z_][\w.]*(\([\d,\s]*\))?(\[\])*$", text) or text.startswith('"'):
            return text
        return '"' + text.replace('"', '\\"') + '"'

    # --- blocks ----------------------------------------------------------------------------

    def project(self, project_name: str) -> list[str]:
        lines = [f"Project {name(project_name)} {{", f"  database_type: {string(self.label)}"]
        notes = [f"{n.name}: {n.comment}" for n in self.schema.namespaces if n.comment]
        if notes:
            lines.append(f"  Note: {string('; '.join(notes))}")
        return [*lines, "}", ""]

    def enums(self) -> list[str]:
        lines: list[str] = []
        items = [(e.schema, e.name, e.values, e.comment) for e in self.schema.enums]
        items += [("", n, labels, None) for n, labels in self.mysql_enums.values()]
        for schema_name, enum_name, values, comment in items:
            if comment:
                lines.append(f"// {comment.splitlines()[0]}")
            lines.append(f"Enum {self.qualified(schema_name, enum_name)} {{")
            lines += ['  "' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values]
            lines += ["}", ""]
        return lines

    def default(self, column: Column) -> str | None:
        """A default as DBML writes it: number, boolean, 'string' or `expression`."""
        text = column.default
        if text is None or text.lower().startswith("nextval("):
            return None
        bare = text.strip()
        if _NUMBER.match(bare):
            return bare
        if bare.lower() in ("true", "false", "null"):
            return bare.lower()
        m = _STRING.match(bare)
        if m:
            literal = m.group(1).replace("''", "'")
            # dbml2sql writes a string default back without doubling its quotes: a literal
            # with a quote or backslash stays an expression, which round-trips exactly.
            if "'" not in literal and "\\" not in literal:
                return string(literal)
        if "`" in bare:
            return None
        return f"`{bare}`"

    def column(self, table: Table, column: Column) -> str:
        settings: list[str] = []
        pk = table.primary_key
        if pk is not None and pk.columns == (column.name,):
            settings.append("pk")
        if _increments(table, column):
            settings.append("increment")
        if not column.nullable:
            settings.append("not null")
        if any(
            u.columns == (column.name,) and _default_unique(table, u.name) for u in table.uniques
        ):
            settings.append("unique")
        default = self.default(column)
        if default is not None and column.generated is None:
            settings.append(f"default: {default}")
        notes = [column.comment] if column.comment else []
        if column.generated is not None:
            stored = "stored" if column.generated_stored else "virtual"
            notes.append(f"generated always as ({column.generated}) {stored}")
        if column.type in self._domains():
            notes.append(f"domain over {self._domains()[column.type]}")
        if notes:
            settings.append(f"note: {string('; '.join(notes))}")
        suffix = f" [{', '.join(settings)}]" if settings else ""
        return f"  {name(column.name)} {self.column_type(table, column)}{suffix}"

    def _domains(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for d in self.schema.domains:
            out[f"{d.schema}.{d.name}"] = d.base_type
            out[f"{name(d.schema)}.{name(d.name)}"] = d.base_type
        return out

    def index_lines(self, table: Table) -> list[str]:
        lines: list[str] = []
        pk = table.primary_key
        if pk is not None and len(pk.columns) > 1:
            extra = "" if pk.name == f"{table.name}_pkey" else f", name: {string(pk.name)}"
            lines.append(f"    ({', '.join(name(c) for c in pk.columns)}) [pk{extra}]")
        for u in table.uniques:
            if len(u.columns) == 1 and _default_unique(table, u.name):
                continue
            lines.append(f"    {_keys(u.columns)} [unique, name: {string(u.name)}]")
        for index in table.indexes:
            if index.parent is None:
                lines.append(f"    {_index_keys(index)} [{', '.join(_index_settings(index))}]")
        return ["  indexes {", *lines, "  }"] if lines else []

    def table(self, table: Table, partitions: list[Table]) -> list[str]:
        lines = [f"Table {self.table_ref(table)} {{"]
        lines += [self.column(table, c) for c in table.columns]
        notes = [table.comment] if table.comment else []
        if table.partitioning is not None:
            parts = ", ".join(p.qualified for p in partitions) or "none yet"
            notes.append(
                f"partitioned by {table.partitioning.strategy} ({table.partitioning.key});"
                f" partitions: {parts}"
            )
        if notes:
            lines.append(f"  Note: {string(chr(10).join(notes))}")
        lines += self.index_lines(table)
        checks = [c for c in table.checks if "`" not in c.expression]
        if checks:
            lines.append("  checks {")
            lines += [f"    `{c.expression}` [name: {string(c.name)}]" for c in checks]
            lines.append("  }")
        return [*lines, "}", ""]

    def ref(self, table: Table, fk: ForeignKey) -> str:
        parent = self.qualified(fk.ref_schema, fk.ref_table)
        settings = []
        for verb, action in (("delete", fk.on_delete), ("update", fk.on_update)):
            if action in _ACTIONS:
                settings.append(f"{verb}: {_ACTIONS[action]}")
        suffix = f" [{', '.join(settings)}]" if settings else ""
        child = f"{self.table_ref(table)}.{_ref_cols(fk.columns)}"
        return f"Ref {name(fk.name)}: {child} > {parent}.{_ref_cols(fk.ref_columns)}{suffix}"


def _keys(columns: Iterable[str]) -> str:
    cols = [name(c) for c in columns]
    return cols[0] if len(cols) == 1 else f"({', '.join(cols)})"


def _ref_cols(columns: tuple[str, ...]) -> str:
    return name(columns[0]) if len(columns) == 1 else f"({', '.join(name(c) for c in columns)})"


def _index_keys(index: Index) -> str:
    keys = [f"`{k.column}`" if k.expression else name(k.column) for k in index.keys]
    return keys[0] if len(keys) == 1 else f"({', '.join(keys)})"


def _index_settings(index: Index) -> list[str]:
    settings = ["unique"] if index.unique else []
    settings.append(f"name: {string(index.name)}")
    notes = []
    if index.method.lower() in ("btree", "hash"):
        settings.append(f"type: {index.method.lower()}")
    else:
        notes.append(f"using {index.method}")
    descending = [k.column for k in index.keys if k.descending]
    if descending:
        notes.append(f"descending: {', '.join(descending)}")
    if index.include:
        notes.append(f"include: {', '.join(index.include)}")
    if index.where:
        notes.append(f"where: {index.where}")
    if index.comment:
        notes.append(index.comment)
    if notes:
        settings.append(f"note: {string('; '.join(notes))}")
    return settings


def _default_unique(table: Table, constraint: str) -> bool:
    """Whether a one-column unique constraint has the name PostgreSQL would give it anyway,
    so the column's `unique` setting loses nothing."""
    return any(constraint == f"{table.name}_{c.name}_key" for c in table.columns)


def _increments(table: Table, column: Column) -> bool:
    if column.identity is not None:
        return True
    if column.default is not None and column.default.lower().startswith("nextval("):
        return True
    return (
        ("autoincrement", "true") in table.options
        and table.primary_key is not None
        and (table.primary_key.columns == (column.name,))
    )


def render_dbml(schema: Schema, *, project: str = "database") -> str:
    """The schema as DBML text (tables, enums, indexes, checks, references, notes)."""
    w = _Writer(schema)
    lines = ["// @generated automatically by dbarch", "", *w.project(project), *w.enums()]
    partitions: dict[str, list[Table]] = {}
    for table in schema.tables:
        if table.partition_of:
            partitions.setdefault(table.partition_of, []).append(table)
    for table in schema.tables:
        if not table.partition_of:
            lines += w.table(table, partitions.get(table.qualified, []))
    for table in schema.tables:
        if not table.partition_of:
            lines += [w.ref(table, fk) for fk in table.foreign_keys if not fk.inherited]
    absent = [f"view {v.qualified}" for v in schema.views]
    absent += [f"function {f.signature}" for f in schema.functions]
    for table in schema.tables:
        absent += [f"trigger {trg.name} on {table.qualified}" for trg in table.triggers]
        absent += [f"exclusion constraint {x.name} on {table.qualified}" for x in table.exclusions]
        if table.partition_of:
            absent += [
                f"foreign key {fk.name} of partition {table.qualified}"
                for fk in table.foreign_keys
                if not fk.inherited
            ]
    if absent:
        lines += ["", "// Not expressible in DBML:", *[f"//   {item}" for item in absent]]
    return "\n".join(lines).rstrip() + "\n"


__all__ = ["name", "render_dbml", "string"]
