"""`dbarch secure …`: audit tenant isolation, generate row level security, prove it by attack,
add an audit trail, find personal data. PostgreSQL; the source database is only read."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from dbarchitect.cli.output import exit_on
from dbarchitect.engines.url import looks_like_url, parse_url
from dbarchitect.model import Schema

app = typer.Typer(
    help="Row level security audited, generated and proven; audit trails; personal data.",
    no_args_is_help=True,
)

Source = Annotated[list[str], typer.Argument(help="A PostgreSQL URL, SQL files, a spec or models.")]
TenantColumn = Annotated[
    str | None,
    typer.Option("--tenant-column", "-t", help="The tenant column [default: guessed]."),
]
Setting = Annotated[
    str, typer.Option("--setting", help="The setting that holds the current tenant.")
]


class FindingFormat(StrEnum):
    text = "text"
    json = "json"
    sarif = "sarif"


class ProofFormat(StrEnum):
    text = "text"
    json = "json"


def _shown(sources: list[str]) -> str:
    return str(parse_url(sources[0])) if looks_like_url(sources[0]) else " ".join(sources)


def _schema(sources: list[str]) -> Schema:
    from dbarchitect.sources import load_schema

    return load_schema(sources)


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")


@app.command("audit")
def audit(
    source: Source,
    tenant_column: TenantColumn = None,
    setting: Setting = "app.tenant_id",
    app_role: Annotated[
        str | None,
        typer.Option("--app-role", help="The application's role [default: the connected user]."),
    ] = None,
    fmt: Annotated[FindingFormat, typer.Option("--format", "-f")] = FindingFormat.text,
    fail_on: Annotated[
        str, typer.Option("--fail-on", help="Exit 1 at this severity: error, warning, info, never.")
    ] = "error",
    output: Annotated[Path | None, typer.Option("--output", "-o")] = None,
) -> None:
    """Every way tenant data can leak or move, per object, with the fix as SQL."""
    from dbarchitect.report.findings import render_findings
    from dbarchitect.security.audit import audit_schema, audit_url, report_rules

    if len(source) == 1 and looks_like_url(source[0]):
        findings = audit_url(
            source[0], tenant_column=tenant_column, app_role=app_role, setting=setting
        )
    else:
        findings = audit_schema(_schema(source), tenant_column=tenant_column, setting=setting)
    text = render_findings(findings, fmt.value, rules=report_rules(), source=_shown(source))
    _emit(text, output)
    exit_on(findings, fail_on)


@app.command("rls")
def rls(
    source: Source,
    tenant_column: TenantColumn = None,
    setting: Setting = "app.tenant_id",
    role_prefix: Annotated[
        str,
        typer.Option("--role-prefix", help="Roles <prefix>_owner, _user, _readonly and _admin."),
    ] = "app",
    helper_schema: Annotated[
        str | None, typer.Option("--helper-schema", help="Where current_tenant() goes.")
    ] = None,
    no_force: Annotated[
        bool, typer.Option("--no-force", help="Enable RLS without FORCE (owners bypass it).")
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Write NNN_secure_rls.sql and its .down.sql here."),
    ] = None,
) -> None:
    """The migration that enables and forces RLS with per-command policies, roles, grants,
    tenant-scoped foreign keys and the indexes the policies need. Nothing is applied."""
    from dbarchitect.security.rls import RoleNames, generate
    from dbarchitect.security.tenancy import find_tenancy

    schema = _schema(source)
    tenancy = find_tenancy(schema, tenant_column, setting=setting)
    roles = RoleNames(
        owner=f"{role_prefix}_owner",
        app=f"{role_prefix}_user",
        readonly=f"{role_prefix}_readonly",
        admin=f"{role_prefix}_admin",
    )
    plan = generate(schema, tenancy, roles=roles, force=not no_force, helper_schema=helper_schema)
    for note in plan.notes:
        typer.echo(f"note: {note}", err=True)
    _write_pair(plan.up, plan.down, out, "secure_rls")


@app.command("test")
def test(
    source: Source,
    tenant_column: TenantColumn = None,
    setting: Setting = "app.tenant_id",
    app_role: Annotated[
        str | None,
        typer.Option("--app-role", help="Attack with this role's rights [default: found]."),
    ] = None,
    as_owner: Annotated[
        bool, typer.Option("--as-owner", help="Attack as the tables' owner instead.")
    ] = False,
    as_tenant_sql: Annotated[
        str | None,
        typer.Option("--as-tenant-sql", help="SQL that makes the session tenant {tenant}."),
    ] = None,
    rows: Annotated[int, typer.Option("--rows", help="Rows per tenant and table.", min=1)] = 20,
    fmt: Annotated[ProofFormat, typer.Option("--format", "-f")] = ProofFormat.text,
    pgtap: Annotated[
        Path | None, typer.Option("--pgtap", help="Also write the attacks as a pgTAP file.")
    ] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o")] = None,
) -> None:
    """Attack isolation on a scratch copy as tenant A: read, count, change, insert and move
    tenant B's rows, through tables, views, functions, joins and constraint errors. Exit 1
    when anything leaks."""
    from dbarchitect.security.prove import prove
    from dbarchitect.security.prove_pgtap import write_pgtap

    report = prove(
        source if len(source) > 1 else source[0],
        tenant_column,
        as_owner=as_owner,
        rows_per_tenant=rows,
        app_role=app_role,
        setting=setting,
        as_tenant_sql=as_tenant_sql,
    )
    if pgtap is not None:
        write_pgtap(report, pgtap)
    text = report.to_json() + "\n" if fmt is ProofFormat.json else report.render_text()
    _emit(text, output)
    if report.leaks:
        raise typer.Exit(1)


@app.command("audit-log")
def audit_log(
    source: Source,
    table: Annotated[
        list[str] | None,
        typer.Option("--table", help="Audit these tables [default: every keyed table]."),
    ] = None,
    tenant_column: TenantColumn = None,
    audit_schema: Annotated[str, typer.Option("--audit-schema")] = "audit",
    months: Annotated[int, typer.Option("--months", help="Monthly partitions to create.")] = 12,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Write NNN_audit_log.sql and its .down.sql here."),
    ] = None,
) -> None:
    """An audit table partitioned by month and the triggers that fill it (who, when, tenant,
    operation, old and new row as jsonb)."""
    from dbarchitect.errors import InputError
    from dbarchitect.security.auditlog import audit_log as plan_audit_log
    from dbarchitect.security.tenancy import find_tenancy

    schema = _schema(source)
    try:
        tenancy = find_tenancy(schema, tenant_column)
    except InputError:
        if tenant_column is not None:
            raise
        tenancy = None  # no tenant column: the trail records no tenant
    plan = plan_audit_log(
        schema, table or None, tenancy=tenancy, audit_schema=audit_schema, months=months
    )
    for note in plan.notes:
        typer.echo(f"note: {note}", err=True)
    _write_pair(plan.up, plan.down, out, "audit_log")


def _write_pair(up: str, down: str, out: Path | None, name: str) -> None:
    """Print the up migration, or write NNN_name.sql and NNN_name.down.sql into `out`."""
    if out is None:
        typer.echo(up, nl=False)
        return
    from dbarchitect.migrate.output import next_stem

    stem = next_stem(out, name)
    paths = (out / f"{stem}.sql", out / f"{stem}.down.sql")
    for path, text in zip(paths, (up, down), strict=True):
        path.write_text(text, encoding="utf-8")
    typer.echo("\n".join(str(p) for p in paths))


@app.command("pii")
def pii(
    source: Source,
    fmt: Annotated[FindingFormat, typer.Option("--format", "-f")] = FindingFormat.text,
    retention_days: Annotated[int, typer.Option("--retention-days")] = 365,
    output: Annotated[Path | None, typer.Option("--output", "-o")] = None,
) -> None:
    """Columns that likely hold personal data (names, patterns and, on a live database, a
    sample of values), with column privileges, encryption, masking and retention as SQL."""
    from dbarchitect.report.findings import render_findings
    from dbarchitect.security.audit import report_rules
    from dbarchitect.security.pii_advice import pii_advice

    if len(source) == 1 and looks_like_url(source[0]):
        from dbarchitect.sources import live_inputs

        with live_inputs(parse_url(source[0])) as (schema, _stats, sampler):
            findings = pii_advice(schema, sampler=sampler, retention_days=retention_days)
    else:
        findings = pii_advice(_schema(source), retention_days=retention_days)
    text = render_findings(findings, fmt.value, rules=report_rules(), source=_shown(source))
    _emit(text, output)
    exit_on(findings, "error")
