"""PostgreSQL catalog → Schema, in a fixed number of bulk queries (one per object kind).

The queries live in queries/*.sql. A line ending in `-- pg>=N` or `-- pg<N` is kept only for
servers of that version (server_version_num), so one file serves several majors. All queries
run in one REPEATABLE READ snapshot with search_path = pg_catalog (so every user object comes
back schema-qualified) and TimeZone = UTC (so timestamptz literals print the same everywhere).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from importlib import resources
from typing import Any

from dbarchitect.dialects.postgres.build import build_schema
from dbarchitect.engines.base import Session
from dbarchitect.model import Schema

Row = dict[str, Any]

QUERIES = (
    "namespaces",
    "extensions",
    "collations",
    "ts_configs",
    "types",
    "sequences",
    "relations",
    "columns",
    "constraints",
    "indexes",
    "triggers",
    "policies",
    "functions",
    "grants",
    "default_privileges",
    "dependencies",
)
_VERSION_TAG = re.compile(r"--\s*(pg[<>=].*)$")
SETTINGS = {
    "search_path": "pg_catalog",
    "TimeZone": "UTC",
    "DateStyle": "ISO, YMD",
    "IntervalStyle": "postgres",
    "extra_float_digits": "3",
}


@cache
def load_query(name: str, version: int) -> str:
    """The text of queries/<name>.sql with lines for other server versions removed."""
    text = resources.files(__package__).joinpath("queries", f"{name}.sql").read_text("utf-8")
    out = []
    for line in text.splitlines():
        m = _VERSION_TAG.search(line)
        if m and not all(_holds(cond, version) for cond in m.group(1).split()):
            continue
        out.append(_VERSION_TAG.sub("", line).rstrip() if m else line)
    return "\n".join(out)


def _holds(cond: str, version: int) -> bool:
    m = re.fullmatch(r"pg(>=|<)(\d+)", cond)
    if not m:
        raise ValueError(f"bad version tag {cond!r}")
    n = int(m.group(2))
    return version >= n if m.group(1) == ">=" else version < n


def fetch_catalog(session: Session, schemas: Sequence[str] | None) -> dict[str, list[Row]]:
    """Run every catalog query in one snapshot; the raw rows, keyed by query name."""
    version = session.server_version
    params = {"schemas": list(schemas) if schemas else None}
    settings = ", ".join(f"set_config(%(k{i})s, %(v{i})s, true)" for i in range(len(SETTINGS)))
    values = {}
    for i, (key, value) in enumerate(SETTINGS.items()):
        values[f"k{i}"], values[f"v{i}"] = key, value
    with session.transaction():
        session.fetch(f"SELECT {settings}", values)
        return {name: session.fetch(load_query(name, version), params) for name in QUERIES}


def introspect(session: Session, schemas: Sequence[str] | None = None) -> Schema:
    """The Schema of the database behind `session` (all user schemas, or only `schemas`)."""
    return build_schema(fetch_catalog(session, schemas))
