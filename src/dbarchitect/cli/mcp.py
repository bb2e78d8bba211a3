"""`dbarch mcp`: serve the architect's tools to AI agents (stdio, or streamable HTTP)."""

from __future__ import annotations

import contextlib
import ipaddress
import os
from typing import Annotated

import typer

from dbarchitect.engines.url import DatabaseURL, parse_url
from dbarchitect.errors import InputError


def databases(url: str | None, named: list[str]) -> dict[str, DatabaseURL]:
    """`default` from --url or $DATABASE_URL (if either is given), plus each NAME=URL."""
    out: dict[str, DatabaseURL] = {}
    if url is not None or os.environ.get("DATABASE_URL"):
        out["default"] = parse_url(url)
    for item in named:
        name, sep, value = item.partition("=")
        if not sep or not name or not value:
            raise InputError(f"--db {name or item}: expected NAME=URL")
        if name in out:
            raise InputError(f"--db {name}: named twice")
        out[name] = parse_url(value)
    if not out:
        raise InputError("no database: give --url, --db NAME=URL or set DATABASE_URL")
    return out


def listen_address(text: str, *, public: bool) -> tuple[str, int]:
    """HOST:PORT or :PORT (host 127.0.0.1). A non-loopback host needs --public."""
    host, sep, port_text = text.rpartition(":")
    if not sep or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise InputError(f"--http {text}: expected HOST:PORT such as 127.0.0.1:8765")
    host = host.strip("[]") or "127.0.0.1"
    loopback = host == "localhost"
    with contextlib.suppress(ValueError):  # a name, not an address
        loopback = loopback or ipaddress.ip_address(host).is_loopback
    if not loopback and not public:
        raise InputError(
            f"--http {text}: {host} is not a loopback address; the tools read your databases, "
            "so add --public to expose them beyond this machine"
        )
    return host, int(port_text)


def mcp(
    url: Annotated[
        str | None,
        typer.Option("--url", help="The `default` database (default: $DATABASE_URL)."),
    ] = None,
    db: Annotated[
        list[str] | None,
        typer.Option("--db", help="NAME=URL: another database the tools can name; repeatable."),
    ] = None,
    http: Annotated[
        str | None,
        typer.Option(
            "--http",
            help="Serve streamable HTTP on HOST:PORT (path /mcp) instead of stdio. Bind to "
            "loopback (127.0.0.1); any other host is refused unless --public is given.",
        ),
    ] = None,
    public: Annotated[
        bool,
        typer.Option("--public", help="Allow --http on a non-loopback host (no authentication!)."),
    ] = False,
    allow_writes: Annotated[
        bool,
        typer.Option(
            "--allow-writes",
            help="Also offer apply_migration and create_index, which change the database.",
        ),
    ] = False,
) -> None:
    """Serve dbarchitect's tools over the Model Context Protocol (stdio by default)."""
    from dbarchitect.mcp.server import build_server

    dbs = databases(url, db or [])
    if http is None:
        build_server(dbs, allow_writes=allow_writes).run("stdio")
        return
    host, port = listen_address(http, public=public)
    build_server(dbs, allow_writes=allow_writes, host=host, port=port).run("streamable-http")
