"""DBML checked by the DBML project's own tooling: `dbml2sql --postgres` turns our DBML back
into SQL, which is loaded into scratch PostgreSQL and compared with the source schema (tables,
columns, nullability, primary keys, foreign keys with their names and actions, unique keys).

The tool comes from the npm registry (@dbml/cli, pinned) and is cached in
~/.cache/dbarchitect-dbml. Without node and npm the test fails with a message saying so: CI
must install Node.js (Debian `nodejs` and `npm`).
"""

from __future__ import annotations

import fcntl
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from dbarchitect.codegen.dbml import render_dbml
from dbarchitect.dialects import get_dialect
from dbarchitect.model import Schema, Table
from dbarchitect.sources import introspect_url
from tests.design.test_diesel_codegen import source_schema

DBML_CLI = "6.6.0"
CACHE = Path.home() / ".cache" / "dbarchitect-dbml"
CASES = [
    "identity_uuid_enum",
    "tenancy_composite_fk",
    "trigger_function",
    "rich_pg",
    "pagila",
    "chinook",
]


def dbml2sql() -> Path:
    """The dbml2sql binary, installed once into the cache with the ordinary npm client (under
    a file lock: pytest-xdist workers may all ask at once on a fresh machine)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _installed()


def _installed() -> Path:
    binary = CACHE / "node_modules" / ".bin" / "dbml2sql"
    stamp = CACHE / "node_modules" / "@dbml" / "cli" / "package.json"
    if binary.exists() and stamp.exists() and json.loads(stamp.read_text())["version"] == DBML_CLI:
        return binary
    npm, node = shutil.which("npm"), shutil.which("node")
    if npm is None or node is None:
        pytest.fail("node and npm are needed to verify DBML with @dbml/cli: install Node.js")
    package = {"name": "dbarchitect-dbml", "private": True}
    (CACHE / "package.json").write_text(json.dumps(package))
    done = subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", f"@dbml/cli@{DBML_CLI}"],
        cwd=CACHE,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0 or not binary.exists():
        pytest.fail(f"npm install @dbml/cli@{DBML_CLI} failed: {done.stderr[-2000:]}")
    return binary


def to_sql(dbml: str, workdir: Path) -> str:
    """dbml2sql's PostgreSQL output; its syntax errors (exit status 0 regardless) fail."""
    source = workdir / "schema.dbml"
    source.write_text(dbml, encoding="utf-8")
    done = subprocess.run(
        [str(dbml2sql()), "--postgres", source.name],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    log = workdir / "dbml-error.log"  # always created; empty when nothing went wrong
    logged = log.exists() and log.stat().st_size > 0
    failed = done.returncode != 0 or "ERROR" in done.stdout or logged
    assert not failed, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def prelude(schema: Schema) -> str:
    """What DBML cannot declare but the tables use: schemas, extensions, domains, composite
    and range types, rendered by our own PostgreSQL DDL writer."""
    types_only = Schema(
        dialect=schema.dialect,
        namespaces=schema.namespaces,
        extensions=schema.extensions,
        collations=schema.collations,
        domains=schema.domains,
        composite_types=schema.composite_types,
        ranges=schema.ranges,
    )
    return get_dialect("postgres").render(types_only)


def shape(schema: Schema) -> dict[str, dict[str, Any]]:
    """The parts DBML carries, per table (partitions are folded into their parent in DBML)."""
    out: dict[str, dict[str, Any]] = {}
    for t in schema.tables:
        if t.partition_of:
            continue
        out[t.qualified] = {
            "columns": [(c.name, c.nullable) for c in t.columns],
            "primary_key": t.primary_key.columns if t.primary_key else None,
            "foreign_keys": sorted(
                (
                    fk.name,
                    fk.columns,
                    f"{fk.ref_schema}.{fk.ref_table}",
                    fk.ref_columns,
                    fk.on_delete,
                    fk.on_update,
                )
                for fk in t.foreign_keys
            ),
            "unique": unique_keys(t),
        }
    return out


def unique_keys(table: Table) -> list[tuple[str, ...]]:
    """Unique column sets from constraints and plain unique indexes. A partial unique index
    counts as its columns: DBML has no partial indexes and keeps the predicate as a note."""
    keys = {u.columns for u in table.uniques}
    for index in table.indexes:
        if index.unique and not any(k.expression for k in index.keys):
            keys.add(tuple(k.column for k in index.keys))
    return sorted(keys)


@pytest.mark.parametrize("name", CASES)
def test_dbml2sql_rebuilds_the_schema(name: str, tmp_path: Path) -> None:
    schema = source_schema(name)
    dbml = render_dbml(schema)
    sql = to_sql(dbml, tmp_path)
    # dbml2sql creates every schema it sees; the prelude has already created them.
    sql = re.sub(r'^CREATE SCHEMA (".*?");$', r"CREATE SCHEMA IF NOT EXISTS \1;", sql, flags=re.M)
    engine = get_dialect("postgres").engine()
    with engine.scratch() as url:
        engine.run_script(url, prelude(schema), where="<prelude>")
        engine.run_script(url, sql, where=f"<dbml2sql of {name}>")
        rebuilt = introspect_url(url)
    assert shape(rebuilt) == shape(schema)
    assert {(e.schema, e.name, e.values) for e in rebuilt.enums} == {
        (e.schema, e.name, e.values) for e in schema.enums
    }
    for table in schema.tables:
        got = rebuilt.table(table.qualified)
        if table.partition_of:
            assert got is None
            continue
        assert got is not None
        if table.partitioning is None:
            assert got.comment == table.comment
        else:  # the note names the strategy and the partitions DBML cannot declare
            assert (
                got.comment is not None
                and f"partitioned by {table.partitioning.strategy}" in got.comment
            )
            children = [t.qualified for t in schema.tables if t.partition_of == table.qualified]
            assert all(child in got.comment for child in children)
        columns = {c.name: c.comment for c in table.columns if c.comment}
        assert {c.name: c.comment for c in got.columns if c.name in columns} == columns


def test_the_comparison_notices_a_lost_foreign_key(tmp_path: Path) -> None:
    schema = source_schema("tenancy_composite_fk")
    dbml = render_dbml(schema)
    broken = "\n".join(line for line in dbml.splitlines() if "invoices_project_fk" not in line)
    engine = get_dialect("postgres").engine()
    sql = to_sql(broken, tmp_path)
    sql = re.sub(r'^CREATE SCHEMA (".*?");$', r"CREATE SCHEMA IF NOT EXISTS \1;", sql, flags=re.M)
    with engine.scratch() as url:
        engine.run_script(url, prelude(schema), where="<prelude>")
        engine.run_script(url, sql, where="<dbml2sql>")
        rebuilt = shape(introspect_url(url))
    assert rebuilt != shape(schema)
    assert rebuilt["saas.invoices"]["foreign_keys"] == []


def test_syntax_errors_are_reported(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="syntax error"):
        to_sql("Table t {\n  id int [pk\n}\n", tmp_path)
