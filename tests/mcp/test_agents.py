"""The Claude Code sub-agent definition names only tools the server really offers."""

from __future__ import annotations

from pathlib import Path

import anyio
import yaml
from mcp.shared.memory import create_connected_server_and_client_session

from dbarchitect.engines.url import parse_url
from dbarchitect.mcp.server import build_server

ROOT = Path(__file__).resolve().parents[2]
AGENT = ROOT / "agents" / "database-architect.md"
CLAUDE_TOOLS = {"Read", "Grep", "Glob", "Edit", "Write"}


def front_matter(path: Path) -> dict[str, object]:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("---\n")
    head, _, body = text[4:].partition("\n---\n")
    assert body.strip(), "the agent needs instructions after its front matter"
    data = yaml.safe_load(head)
    assert isinstance(data, dict)
    return data


async def _read_only_tools(tmp: Path) -> set[str]:
    server = build_server({"default": parse_url(f"sqlite:///{tmp / 'x.db'}")}, allow_writes=False)
    async with create_connected_server_and_client_session(server) as client:
        listed = await client.list_tools()
    return {t.name for t in listed.tools if t.annotations and t.annotations.readOnlyHint}


def test_agent_tools_are_the_servers_read_only_tools(tmp_path: Path) -> None:
    meta = front_matter(AGENT)
    assert meta["name"] == "database-architect"
    description = str(meta["description"])
    assert "Examples:" in description
    tools = {t.strip() for t in str(meta["tools"]).split(",")}
    named = {t.removeprefix("mcp__dbarch__") for t in tools if t.startswith("mcp__dbarch__")}
    assert tools - {f"mcp__dbarch__{t}" for t in named} <= CLAUDE_TOOLS
    offered = anyio.run(_read_only_tools, tmp_path)
    # Every tool the agent names exists and only reads; every reading tool is available to it.
    assert named <= offered | {"docs"}
    assert offered <= named
    body = AGENT.read_text(encoding="utf-8")
    for tool in sorted(named):
        assert f"`{tool}`" in body, f"the instructions never say when to use {tool}"
