"""Write a Migration out: SQL text, a numbered up/down pair, an Alembic revision, a Diesel
migration directory, or JSON.

Transactional statements are grouped in BEGIN … COMMIT blocks and statements that cannot run
in a transaction stand between them, in every format that runs files itself. Diesel runs each
file in its own transaction unless told otherwise, so its files hold no BEGIN/COMMIT of their
own unless a non-transactional statement switches that off.
"""

from __future__ import annotations

import ast
import json
import re
import uuid
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from dbarchitect.errors import InputError
from dbarchitect.migrate.apply import first_line, groups
from dbarchitect.migrate.migration import Migration, Statement

Direction = Literal["up", "down"]


def statements(migration: Migration, direction: Direction) -> tuple[Statement, ...]:
    """The statements of one direction."""
    return migration.up if direction == "up" else migration.down


def _terminated(sql: str) -> str:
    text = sql.strip()
    return text if text.endswith(";") else text + ";"


def header(migration: Migration, direction: Direction) -> list[str]:
    """Comment lines: what the migration does, what it loses, hints, what runs outside a
    transaction."""
    stmts = statements(migration, direction)
    lines = [f"-- dbarch diff ({migration.dialect}): {direction}, {len(stmts)} statement(s)"]
    lossy: list[str] = []
    for stmt in stmts:
        op = stmt.operation
        if op is not None and op.lossy:
            line = f"{op.describe()}: {op.lossy}"
            if line not in lossy:
                lossy.append(line)
    lines += [f"-- LOSSY: {line}" for line in lossy]
    if direction == "up":
        lines += [f"-- hint: {hint}" for hint in migration.hints]
    lines += [f"-- not in a transaction: {first_line(s.sql)}" for s in stmts if not s.transactional]
    return lines


def _body(stmts: Sequence[Statement], *, blocks: bool) -> list[str]:
    out: list[str] = []
    for transactional, run in groups(stmts):
        if out:
            out.append("")
        if transactional and blocks:
            out.append("BEGIN;")
        out += [_terminated(stmt.sql) for _, stmt in run]
        if transactional and blocks:
            out.append("COMMIT;")
    return out


def render_sql(migration: Migration, direction: Direction = "up") -> str:
    """One direction as a SQL script: header comment, then BEGIN … COMMIT blocks."""
    stmts = statements(migration, direction)
    if not stmts:
        return "-- no changes\n"
    return "\n".join([*header(migration, direction), "", *_body(stmts, blocks=True)]) + "\n"


def default_name(migration: Migration) -> str:
    """A file-name-friendly name from the operations: `add_column_orders_note`, `alter_orders`
    when every operation touches one table, else `migration`."""
    ops = migration.operations
    if len(ops) == 1:
        op = ops[0]
        verb = {"create": "add" if op.owner else "create"}.get(op.action, op.action)
        parts = [verb, op.kind]
        if op.owner:
            parts.append(op.owner.rsplit(".", 1)[-1])
        parts.append(getattr(op.subject, "name", "") or op.kind)
        return slug("_".join(parts))
    tables = {op.owner or (op.name if op.kind == "table" else "") for op in ops}
    if len(tables) == 1 and "" not in tables:
        return slug("alter_" + next(iter(tables)).rsplit(".", 1)[-1])
    return "migration"


def slug(text: str) -> str:
    """Lower-case letters, digits and underscores, at most 60 characters."""
    cleaned = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return cleaned[:60].rstrip("_") or "migration"


_NUMBERED = re.compile(r"^(\d+)_")


def next_stem(out: Path, name: str) -> str:
    """`NNN_name` for a new migration in `out` (created if missing), NNN the next number
    after the numbered files already there (same width, at least 3 digits)."""
    out.mkdir(parents=True, exist_ok=True)
    found = [_NUMBERED.match(p.name) for p in out.iterdir()]
    numbers = [m.group(1) for m in found if m]
    width = max([3, *(len(n) for n in numbers)])
    number = max((int(n) for n in numbers), default=0) + 1
    return f"{number:0{width}d}_{slug(name)}"


def write_pair(migration: Migration, out: Path, name: str) -> list[Path]:
    """NNN_name.up.sql and NNN_name.down.sql in `out` (see next_stem)."""
    stem = next_stem(out, name)
    paths = [out / f"{stem}.up.sql", out / f"{stem}.down.sql"]
    directions: tuple[Direction, ...] = ("up", "down")
    for path, direction in zip(paths, directions, strict=True):
        path.write_text(render_sql(migration, direction), encoding="utf-8")
    return paths


def write_diesel(migration: Migration, out: Path, name: str, now: datetime) -> list[Path]:
    """out/migrations/YYYY-MM-DD-HHMMSS_name/{up.sql,down.sql} (+ metadata.toml turning
    Diesel's per-file transaction off when a statement cannot run in one)."""
    folder = out / "migrations" / f"{now:%Y-%m-%d-%H%M%S}_{slug(name)}"
    if folder.exists():
        raise InputError(f"{folder}: already exists")
    folder.mkdir(parents=True)
    outside = any(not s.transactional for s in (*migration.up, *migration.down))
    paths: list[Path] = []
    directions: tuple[Direction, ...] = ("up", "down")
    for direction in directions:
        stmts = statements(migration, direction)
        lines = header(migration, direction) if stmts else ["-- no changes"]
        text = "\n".join([*lines, "", *_body(stmts, blocks=outside)]).rstrip() + "\n"
        path = folder / f"{direction}.sql"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    if outside:
        meta = folder / "metadata.toml"
        meta.write_text("run_in_transaction = false\n", encoding="utf-8")
        paths.append(meta)
    return paths


def alembic_head(directory: Path) -> str | None:
    """The revision a new Alembic revision in `directory` revises: the single head of the
    chain its files form (None when there are no revisions yet)."""
    revisions: dict[str, Path] = {}
    parents: set[str] = set()
    for path in sorted(directory.glob("*.py")):
        values = _revision_of(path)
        if values is None:
            continue
        revision, down = values
        revisions[revision] = path
        parents.update(down)
    heads = sorted(set(revisions) - parents)
    if len(heads) > 1:
        listed = ", ".join(f"{h} ({revisions[h].name})" for h in heads)
        raise InputError(f"{directory}: several Alembic heads ({listed}); merge them first")
    if revisions and not heads:
        raise InputError(f"{directory}: the Alembic revisions form a cycle")
    return heads[0] if heads else None


def _revision_of(path: Path) -> tuple[str, tuple[str, ...]] | None:
    """(revision, down_revisions) from a revision file's module-level assignments."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (SyntaxError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{path}: not a readable Python file ({exc})") from None
    found: dict[str, Any] = {}
    for node in tree.body:
        target: ast.expr | None = None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        if isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
            try:
                found[target.id] = ast.literal_eval(value)
            except ValueError:
                raise InputError(f"{path}:{node.lineno}: {target.id} is not a literal") from None
    revision = found.get("revision")
    if not isinstance(revision, str):
        return None  # env.py, helpers: not a revision
    down = found.get("down_revision")
    if down is None:
        return revision, ()
    if isinstance(down, str):
        return revision, (down,)
    return revision, tuple(str(d) for d in down)


# SQLAlchemy's text() reads `:name` as a bind parameter; a backslash keeps it literal.
_BIND = re.compile(r"(?<![:\w\\]):(?=\w)")


def _op_lines(stmts: Sequence[Statement]) -> list[str]:
    if not stmts:
        return ["    pass"]
    out: list[str] = []
    for transactional, run in groups(stmts):
        indent = "    "
        if not transactional:
            out.append("    with op.get_context().autocommit_block():")
            indent = "        "
        for _, stmt in run:
            sql = _BIND.sub(r"\\:", stmt.sql.strip())
            out.append(f"{indent}op.execute({sql!r})")
    return out


def render_alembic(
    migration: Migration, *, revision: str, down_revision: str | None, name: str, now: datetime
) -> str:
    """The text of an Alembic revision module running the migration's statements."""
    notes = [line.removeprefix("-- ") for line in header(migration, "up")[1:]]
    doc = [
        f"{name}",
        "",
        f"Revision ID: {revision}",
        f"Revises: {down_revision or ''}",
        f"Create Date: {now:%Y-%m-%d %H:%M:%S}",
        "",
        f"Generated by dbarch diff ({migration.dialect}).",
        *notes,
    ]
    docstring = '"""' + "\n".join(doc).replace("\\", "\\\\").replace('"""', "'''") + '\n"""'
    lines = [
        docstring,
        "",
        "from alembic import op",
        "",
        f"revision = {revision!r}",
        f"down_revision = {down_revision!r}",
        "branch_labels = None",
        "depends_on = None",
        "",
        "",
        "def upgrade() -> None:",
        *_op_lines(migration.up),
        "",
        "",
        "def downgrade() -> None:",
        *_op_lines(migration.down),
    ]
    return "\n".join(lines) + "\n"


def write_alembic(migration: Migration, directory: Path, name: str, now: datetime) -> Path:
    """A new revision file in `directory` chained after its current head."""
    if not directory.is_dir():
        raise InputError(f"{directory}: no such directory (the Alembic versions directory)")
    down = alembic_head(directory)
    revision = uuid.uuid4().hex[:12]
    path = directory / f"{revision}_{slug(name)}.py"
    text = render_alembic(migration, revision=revision, down_revision=down, name=name, now=now)
    path.write_text(text, encoding="utf-8")
    return path


def render_json(migration: Migration) -> str:
    """The migration as data: operations (with the statements each produced) and both
    directions' statements."""

    def stmt(s: Statement) -> dict[str, Any]:
        return {"sql": s.sql, "transactional": s.transactional}

    ops = []
    for op in migration.operations:
        ops.append(
            {
                "action": op.action,
                "kind": op.kind,
                "owner": op.owner,
                "name": op.name,
                "lossy": op.lossy,
                "statements": [stmt(s) for s in migration.up if s.operation == op],
            }
        )
    data = {
        "dialect": migration.dialect,
        "empty": migration.empty,
        "operations": ops,
        "up": [stmt(s) for s in migration.up],
        "down": [stmt(s) for s in migration.down],
        "hints": list(migration.hints),
        "lossy": list(migration.lossy),
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


__all__ = [
    "alembic_head",
    "default_name",
    "header",
    "next_stem",
    "render_alembic",
    "render_json",
    "render_sql",
    "slug",
    "write_alembic",
    "write_diesel",
    "write_pair",
]
