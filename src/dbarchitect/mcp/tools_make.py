"""Making tools: design from a spec, prove and audit tenant isolation, write documents, run a
read-only query; and, only with --allow-writes, the two tools that change a database."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

from mcp.server.fastmcp import FastMCP
from pydantic import BaseModel

from dbarchitect.engines.url import DatabaseURL
from dbarchitect.errors import DbarchError, InputError
from dbarchitect.mcp.tools_common import (
    DESTRUCTIVE,
    READ,
    UNTRUSTED,
    WRITES_FILES,
    Databases,
    FindingOut,
    Findings,
    call,
    finding_out,
    findings_out,
)


class TargetOut(BaseModel):
    dialect: str
    ddl: str
    notes: list[str]
    findings: list[FindingOut]


class DesignOut(BaseModel):
    """A spec built, loaded on each target engine, introspected and reviewed."""

    name: str
    targets: list[TargetOut]


class OutcomeOut(BaseModel):
    object: str
    attack: str
    status: str
    sql: str
    evidence: str


class ProofOut(BaseModel):
    """Isolation attacked as tenant A on a scratch copy; leaks and errors listed."""

    role: str
    summary: dict[str, int]
    notes: list[str]
    leaks_and_errors: list[OutcomeOut]
    evidence_note: str = UNTRUSTED


class Written(BaseModel):
    paths: list[str]


class QueryOut(BaseModel):
    """Rows of a read-only query (rolled back), delimited as data."""

    note: str = UNTRUSTED
    columns: list[str]
    data: list[list[Any]]
    row_count: int
    truncated: bool
    limits: str | None = None


class Applied(BaseModel):
    statements: int
    hazards: list[FindingOut]


def realize_text(spec_yaml_text: str) -> DesignOut:
    """Realize a spec given as YAML text; messages name it `spec.yaml`."""
    from dbarchitect.design.load import load_spec
    from dbarchitect.design.run import realize

    with tempfile.TemporaryDirectory(prefix="dbarch-mcp-") as tmp:
        path = Path(tmp) / "spec.yaml"
        path.write_text(spec_yaml_text, encoding="utf-8")
        try:
            result = realize(load_spec(path))
        except DbarchError as exc:
            raise InputError(str(exc).replace(str(path), "spec.yaml")) from None
    return DesignOut(
        name=result.loaded.spec.name,
        targets=[
            TargetOut(
                dialect=t.dialect,
                ddl=t.ddl,
                notes=list(t.notes),
                findings=[
                    FindingOut(
                        rule=f.rule,
                        severity=f.severity,
                        kind=f.kind,
                        object=f.object,
                        message=f.message,
                        fix=f.fix,
                    )
                    for f in t.findings
                ],
            )
            for t in result.targets
        ],
    )


def _statements(url: DatabaseURL, sql: str) -> list[Any]:
    """`sql` split into the engine's statements; CONCURRENTLY runs outside a transaction."""
    from dbarchitect.migrate.migration import Statement

    if url.dialect == "postgres":
        from dbarchitect.migrate.safety.parse import parse_text

        texts = [s.text for s in parse_text(sql, "sql").statements]
    else:
        from dbarchitect.migrate.safety.sqlglot_parse import parse_sql_text

        texts = [s.text for s in parse_sql_text(sql, "sql", url.dialect).statements]
    if not texts:
        raise InputError("sql: no statements")
    concurrently = re.compile(r"\bconcurrently\b", re.IGNORECASE)
    return [Statement(sql=t, transactional=not concurrently.search(t)) for t in texts]


def register(server: FastMCP, dbs: Databases, *, allow_writes: bool) -> None:
    """Add design, secure_audit, secure_test, docs and query; the write tools if allowed."""

    @server.tool(
        annotations=READ,
        description="Design from a YAML spec (docs/design-spec.md): DDL per target engine, "
        "each loaded on the engine and reviewed. Writes no files.",
    )
    async def design(spec_yaml_text: str) -> DesignOut:
        return await call(dbs, lambda: realize_text(spec_yaml_text))

    @server.tool(
        annotations=READ,
        description="Audit tenant isolation of a PostgreSQL database (RLS, grants, functions): "
        "findings with SQL fixes.",
    )
    async def secure_audit(database: str = "default", tenant_column: str | None = None) -> Findings:
        from dbarchitect.security.audit import audit_url

        url = dbs.url(database)
        found = await call(dbs, lambda: audit_url(url, tenant_column=tenant_column))
        return findings_out(found, dbs, str(url))

    @server.tool(
        annotations=READ,
        description="Prove tenant isolation by attacking a scratch copy of a PostgreSQL "
        "database as tenant A; reports leaks.",
    )
    async def secure_test(database: str = "default", tenant_column: str | None = None) -> ProofOut:
        from dbarchitect.security.prove import prove

        source = dbs.url(database).render(redact=False)
        report = await call(dbs, lambda: prove(source, tenant_column))
        summary = {s: report.count(s) for s in ("blocked", "leaked", "not applicable", "error")}
        shown = [o for o in report.outcomes if o.status in ("leaked", "error")]
        return ProofOut(
            role=report.role,
            summary=summary,
            notes=[dbs.scrub(n) for n in report.notes],
            leaks_and_errors=[
                OutcomeOut(
                    object=o.object,
                    attack=o.attack,
                    status=o.status,
                    sql=o.sql,
                    evidence=dbs.scrub(o.evidence),
                )
                for o in shown
            ],
        )

    @server.tool(
        annotations=WRITES_FILES,
        description="Write design, optimization and operations docs plus an HTML site with ERD "
        "into out_dir; returns the paths.",
    )
    async def docs(out_dir: str, source: str = "default") -> Written:
        from dbarchitect.cli.docs import gather, publish

        item = dbs.source(source)
        out = Path(out_dir)
        if out.exists() and not out.is_dir():
            raise InputError(f"{out}: exists and is not a directory")

        def run() -> list[Path]:
            schema, stats, found, _ = gather([item], dialect=None, review=True)
            return publish(schema, out, findings=found, stats=stats, source=dbs.shown(source))

        return Written(paths=[str(p) for p in await call(dbs, run)])

    @server.tool(
        annotations=READ,
        description="Run one read-only SQL statement (rolled back, time and row limits); rows "
        "are returned as data.",
    )
    async def query(sql: str, database: str = "default", max_rows: int = 100) -> QueryOut:
        from dbarchitect.mcp.query import run_query

        url = dbs.url(database)
        result = await call(dbs, lambda: run_query(url, sql, max_rows=max_rows))
        return QueryOut(
            columns=result.columns,
            data=result.rows,
            row_count=result.row_count,
            truncated=result.truncated,
            limits=result.note,
        )

    if not allow_writes:
        return

    @server.tool(
        annotations=DESTRUCTIVE,
        description="WRITES: run migration SQL on the database (transactional groups; "
        "CONCURRENTLY alone). Returns its hazards.",
    )
    async def apply_migration(sql: str, database: str = "default") -> Applied:
        from dbarchitect.mcp.tools_change import hazards
        from dbarchitect.migrate.apply import apply_statements

        url = dbs.url(database)

        def run() -> Applied:
            stmts = _statements(url, sql)
            found = hazards(sql, url.dialect, None)
            apply_statements(url, stmts, label="sql")
            return Applied(statements=len(stmts), hazards=[finding_out(f, dbs) for f in found])

        return await call(dbs, run)

    @server.tool(
        annotations=DESTRUCTIVE,
        description="WRITES: run one CREATE INDEX statement (e.g. from tune's advice).",
    )
    async def create_index(ddl: str, database: str = "default") -> Applied:
        from dbarchitect.migrate.apply import apply_statements

        url = dbs.url(database)

        def run() -> Applied:
            stmts = _statements(url, ddl)
            if len(stmts) != 1 or not re.match(
                r"\s*create\s+(unique\s+)?index\b", stmts[0].sql, re.IGNORECASE
            ):
                raise InputError("ddl: expected exactly one CREATE INDEX statement")
            apply_statements(url, stmts, label="ddl")
            return Applied(statements=1, hazards=[])

        return await call(dbs, run)
