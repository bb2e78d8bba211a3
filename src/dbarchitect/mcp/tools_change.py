"""Judgement tools: review a schema, diff two schemas into a verified migration, check a
migration's hazards, explain a query's plan and tune a workload. Nothing here writes."""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from mcp.server.fastmcp import FastMCP
from pydantic import BaseModel

from dbarchitect.engines.url import DatabaseURL
from dbarchitect.errors import InputError
from dbarchitect.mcp.tools_common import (
    READ,
    Data,
    Databases,
    FindingOut,
    Findings,
    call,
    finding_out,
    findings_out,
)
from dbarchitect.model import Schema
from dbarchitect.review.finding import Finding


class MigrationOut(BaseModel):
    """A migration FROM → TO: verified by applying up and down on a scratch copy."""

    dialect: str
    empty: bool
    verified: bool
    up: list[str]
    down: list[str]
    hazards: list[FindingOut]
    hints: list[str]
    lossy: list[str]


class Gain(BaseModel):
    query: str
    cost_before: float
    cost_after: float


class IndexOut(BaseModel):
    table: str
    columns: list[str]
    ddl: str
    size_bytes: int
    judged_by: str
    gains: list[Gain]


class TuneOut(BaseModel):
    """Index advice costed by what-if (HypoPG) or on a copy; nothing applied."""

    analysed: int
    base_cost: float
    advice: list[IndexOut]
    findings: list[FindingOut]
    skipped: list[str]


class ExplainOut(BaseModel):
    """Findings on a query's plan; the plan itself is data from the database."""

    findings: list[FindingOut]
    plan: Data


def hazards(
    sql: str, dialect: str, schema: Schema | None, where: str = "migration"
) -> list[Finding]:
    """What each statement of `sql` will do to production, by the dialect's own rules."""
    if dialect == "postgres":
        from dbarchitect.migrate.safety.check import check_statements
        from dbarchitect.migrate.safety.parse import parse_text

        return check_statements([parse_text(sql, where)], schema=schema)
    from dbarchitect.migrate.safety.sqlglot_parse import parse_sql_text

    parsed = [parse_sql_text(sql, where, dialect)]
    if dialect == "mysql":
        from dbarchitect.dialects.mysql.migration_safety import check_mysql

        return check_mysql(parsed, schema=schema)
    from dbarchitect.dialects.sqlite.migration_safety import check_sqlite

    return check_sqlite(parsed, schema=schema)


def make_diff(before_src: str, after_src: str) -> MigrationOut:
    """The migration between two sources, along the path `dbarch diff` takes."""
    from dbarchitect.cli.diff import EMPTY, _declared_dialect, choose_dialect, load_side
    from dbarchitect.migrate.migration import make_migration
    from dbarchitect.migrate.verify import verify

    sides = {
        where: found
        for where, item in (("from", before_src), ("to", after_src))
        if item != EMPTY and (found := _declared_dialect(item)) is not None
    }
    dialect = choose_dialect(None, sides)
    before, origin = load_side(before_src, dialect=dialect, schemas=None)
    after, _ = load_side(after_src, dialect=dialect, schemas=None)
    migration = make_migration(before, after)
    if not migration.empty:
        verify(migration, origin=origin, after=after)
    up = "".join(s.sql.rstrip().rstrip(";") + ";\n" for s in migration.up)
    risks = hazards(up, dialect, before, "up") if up.strip() else []
    return _with_hazards(migration, dialect, risks)


def _with_hazards(migration: Any, dialect: str, found: list[Finding]) -> MigrationOut:
    return MigrationOut(
        dialect=dialect,
        empty=migration.empty,
        verified=not migration.empty,
        up=[s.sql for s in migration.up],
        down=[s.sql for s in migration.down],
        hazards=[FindingOut(**_plain(f)) for f in sorted(found, key=Finding.sort_key)],
        hints=list(migration.hints),
        lossy=list(migration.lossy),
    )


def _plain(f: Finding) -> dict[str, Any]:
    return {
        "rule": f.rule,
        "severity": f.severity,
        "kind": f.kind,
        "object": f.object,
        "message": f.message,
        "fix": f.fix,
        "file": f.file,
        "line": f.line,
    }


def explain_sql(url: DatabaseURL, sql: str) -> tuple[list[Finding], dict[str, Any]]:
    """Plan `sql` (EXPLAIN without ANALYZE, read-only) and the findings the tuner draws."""
    from dbarchitect.dialects import get_dialect
    from dbarchitect.tune.model import Query

    dialect = get_dialect(url.dialect)
    with dialect.engine().connect(url, read_only=True) as session:
        schema = dialect.introspect(session)
    tuner = dialect.tuner(url, schema, allow_writes=False)
    try:
        query = Query(fingerprint=tuner.fingerprint(sql), text=sql, source="sql")
        shape = tuner.shape(sql)
        plan = tuner.plan(tuner.plannable(sql))
        found = tuner.plan_findings(query, plan, analyzed=False)
    finally:
        tuner.close()
    confirmed = {f.rule for f in found}
    found += [
        f if f.object else replace(f, object="sql")
        for f in shape.findings
        if f.rule not in confirmed
    ]
    return found, plan


def run_tune(url: DatabaseURL, workload_sql: str | None, budget: str) -> Any:
    """`dbarch tune` on `url`: the workload text (else the database's own record)."""
    from dbarchitect.cli.tune import parse_size
    from dbarchitect.tune.advise import TuneOptions, tune

    options = TuneOptions(budget_bytes=parse_size(budget, option="budget"))
    if not workload_sql:
        return tune(url, [], options)
    with tempfile.TemporaryDirectory(prefix="dbarch-mcp-") as tmp:
        path = Path(tmp) / "workload.sql"
        path.write_text(workload_sql, encoding="utf-8")
        return tune(url, [path], options)


def register(server: FastMCP, dbs: Databases) -> None:
    """Add review, diff, check, explain and tune to `server`."""

    @server.tool(
        annotations=READ,
        description="Review a schema (database name or SQL/JSON file): design findings with fixes.",
    )
    async def review(source: str = "default") -> Findings:
        from dbarchitect.review import load_config
        from dbarchitect.review.source import review_source

        item = dbs.source(source)
        _, found = await call(dbs, lambda: review_source([item], load_config(None)))
        return findings_out(found, dbs, dbs.shown(source))

    @server.tool(
        annotations=READ,
        description="Migration from one schema to another (database names, SQL/JSON files or "
        "'empty'): up/down SQL verified on a scratch copy, with hazards.",
    )
    async def diff(from_source: str, to_source: str) -> MigrationOut:
        before, after = dbs.source(from_source), dbs.source(to_source)
        return await call(dbs, lambda: make_diff(before, after))

    @server.tool(
        annotations=READ,
        description="Hazards of migration SQL (locks, rewrites, data loss); with a database, "
        "judged against its schema.",
    )
    async def check(
        migration_sql: str, database: str | None = None, dialect: str = "postgres"
    ) -> Findings:
        from dbarchitect.sources import introspect_url

        url = dbs.url(database) if database is not None else None

        def run() -> list[Finding]:
            schema = introspect_url(url) if url is not None else None
            chosen = url.dialect if url is not None else dialect
            if chosen not in ("postgres", "mysql", "sqlite"):
                raise InputError(f"dialect {chosen!r}: expected postgres, mysql or sqlite")
            return hazards(migration_sql, chosen, schema)

        return findings_out(await call(dbs, run), dbs, "migration")

    @server.tool(
        annotations=READ,
        description="EXPLAIN a query (not run) and report plan findings; the plan is data.",
    )
    async def explain(sql: str, database: str = "default") -> ExplainOut:
        url = dbs.url(database)
        found, plan = await call(dbs, lambda: explain_sql(url, sql))
        return ExplainOut(findings=[finding_out(f, dbs) for f in found], plan=Data(data=plan))

    @server.tool(
        annotations=READ,
        description="Index advice for a workload (SQL text; default: pg_stat_statements), "
        "costed by HypoPG what-if within budget (e.g. 500MB). Applies nothing.",
    )
    async def tune(
        database: str = "default", workload_sql: str | None = None, budget: str = "500MB"
    ) -> TuneOut:
        url = dbs.url(database)
        result = await call(dbs, lambda: run_tune(url, workload_sql, budget))
        return TuneOut(
            analysed=result.analysed,
            base_cost=result.base_cost,
            advice=[
                IndexOut(
                    table=a.candidate.table,
                    columns=list(a.candidate.columns),
                    ddl=a.ddl,
                    size_bytes=a.size_bytes,
                    judged_by=a.judged_by,
                    gains=[
                        Gain(
                            query=g.fingerprint, cost_before=g.cost_before, cost_after=g.cost_after
                        )
                        for g in a.gains
                    ],
                )
                for a in result.advice
            ],
            findings=[finding_out(f, dbs) for f in result.findings],
            skipped=[f"{s.source}: {s.reason}" for s in result.workload.skipped],
        )
