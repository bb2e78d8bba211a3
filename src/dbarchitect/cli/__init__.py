"""The `dbarch` command line: thin wrappers over the library, one module per command group."""

from __future__ import annotations

import sys

import typer

from dbarchitect import __version__
from dbarchitect.cli import check as check_cmd
from dbarchitect.cli import design as design_cmd
from dbarchitect.cli import diff as diff_cmd
from dbarchitect.cli import docs as docs_cmd
from dbarchitect.cli import inspect as inspect_cmd
from dbarchitect.cli import mcp as mcp_cmd
from dbarchitect.cli import migrate as migrate_cmd
from dbarchitect.cli import review as review_cmd
from dbarchitect.cli import secure as secure_cmd
from dbarchitect.cli import tune as tune_cmd
from dbarchitect.errors import DbarchError

app = typer.Typer(
    name="dbarch",
    help="A database architect's work, checked against real engines.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.command("inspect")(inspect_cmd.inspect)
app.command("review")(review_cmd.review)
app.command("rules")(review_cmd.rules)
app.command("check")(check_cmd.check)
app.command("diff")(diff_cmd.diff)
app.command("tune")(tune_cmd.tune)
app.command("design")(design_cmd.design)
app.command("docs")(docs_cmd.docs)
app.command("mcp")(mcp_cmd.mcp)

migrate_app = typer.Typer(
    help="Work with migration files: test that they undo cleanly.", no_args_is_help=True
)
migrate_app.command("test")(migrate_cmd.test)
app.add_typer(migrate_app, name="migrate")
app.add_typer(secure_cmd.app, name="secure")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"dbarch {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """dbarchitect: design, review, migrate, tune and secure databases."""


def main(argv: list[str] | None = None) -> None:
    """Console entry point: our errors become one line on stderr and exit status 2.

    Usage errors are the argument parser's (also status 2); anything else escaping is a bug
    and keeps its traceback.
    """
    try:
        app(args=argv, prog_name="dbarch")
    except DbarchError as exc:
        print(f"dbarch: error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        print("dbarch: interrupted", file=sys.stderr)
        sys.exit(130)
