"""`dbarch mcp`'s server driven by the SDK's own client in memory, on real engines."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.client.session import ClientSession
from mcp.shared.memory import create_connected_server_and_client_session
from mcp.types import CallToolResult

from dbarchitect.dialects import get_dialect
from dbarchitect.engines.url import DatabaseURL, parse_url
from dbarchitect.mcp.server import build_server
from dbarchitect.review import load_config
from dbarchitect.review.source import review_url

ROOT = Path(__file__).resolve().parents[2]
SHOP = (ROOT / "examples" / "shop.sql").read_text(encoding="utf-8")
READ_TOOLS = {
    "list_objects",
    "describe",
    "inspect",
    "review",
    "diff",
    "check",
    "explain",
    "tune",
    "design",
    "secure_audit",
    "secure_test",
    "query",
}
WRITE_TOOLS = {"apply_migration", "create_index"}

SPEC = """
name: tiny
targets: [postgres, sqlite, mysql]
entities:
  authors:
    fields:
      name: string(100) unique
  books:
    fields:
      title: string(200)
relationships:
  - from: books
    to: authors
    on_delete: cascade
"""

SEED = """
CREATE EXTENSION hypopg;
CREATE TABLE events (id bigint PRIMARY KEY, user_id int NOT NULL, kind text NOT NULL,
                     payload text);
INSERT INTO events SELECT g, g % 5000, 'k' || (g % 7), repeat('x', 40)
FROM generate_series(1, 60000) g;
ANALYZE events;
"""


def run(databases: dict[str, DatabaseURL], steps: Any, *, allow_writes: bool = False) -> Any:
    """Run `steps(client)` against a fresh in-memory server and return what it returns."""
    server = build_server(databases, allow_writes=allow_writes)

    async def main() -> Any:
        async with create_connected_server_and_client_session(server._mcp_server) as client:
            return await steps(client)

    return anyio.run(main)


def ok(result: CallToolResult) -> dict[str, Any]:
    """The structured result of a call that must have succeeded."""
    text = result.content[0].text if result.content else ""  # type: ignore[union-attr]
    assert not result.isError, text
    assert result.structuredContent is not None
    return result.structuredContent


def error_text(result: CallToolResult) -> str:
    assert result.isError
    return result.content[0].text  # type: ignore[union-attr]


@pytest.fixture
def shop(pg_url: DatabaseURL) -> Iterator[DatabaseURL]:
    get_dialect("postgres").engine().run_script(pg_url, SHOP, where="shop.sql")
    yield pg_url


def test_tools_listed_with_annotations_and_schemas(sqlite_url: DatabaseURL) -> None:
    async def steps(client: ClientSession) -> Any:
        return (await client.list_tools()).tools

    tools = {t.name: t for t in run({"default": sqlite_url}, steps)}
    assert set(tools) == READ_TOOLS | {"docs"}
    for name, tool in tools.items():
        a = tool.annotations
        assert a is not None and a.openWorldHint is False, name
        assert a.destructiveHint is False, name
        assert a.readOnlyHint is (name != "docs"), name
        assert tool.outputSchema is not None, name  # structured output
        assert tool.description and len(tool.description) < 170, name
    props = tools["query"].inputSchema["properties"]
    assert set(props) == {"sql", "database", "max_rows"}
    assert props["database"]["default"] == "default"
    assert tools["describe"].inputSchema["required"] == ["object"]

    written = {t.name: t for t in run({"default": sqlite_url}, steps, allow_writes=True)}
    assert set(written) == READ_TOOLS | {"docs"} | WRITE_TOOLS
    for name in WRITE_TOOLS:
        a = written[name].annotations
        assert a is not None
        assert (a.destructiveHint, a.readOnlyHint, a.openWorldHint) == (True, False, False)


def test_postgres_schema_tools(shop: DatabaseURL) -> None:
    async def steps(client: ClientSession) -> Any:
        listed = ok(await client.call_tool("list_objects", {"schema": "shop"}))
        tables = ok(await client.call_tool("list_objects", {"kind": "table"}))
        desc = ok(await client.call_tool("describe", {"object": "shop.customer"}))
        page1 = ok(await client.call_tool("inspect", {"page_size": 1}))
        page2 = ok(await client.call_tool("inspect", {"page": 2, "page_size": 1}))
        missing = await client.call_tool("describe", {"object": "shop.nope"})
        rows = ok(
            await client.call_tool(
                "query", {"sql": "SELECT n, 'row ' || n AS label FROM generate_series(1, 5) n"}
            )
        )
        refused = await client.call_tool("query", {"sql": "DELETE FROM shop.customer"})
        return listed, tables, desc, page1, page2, missing, rows, refused

    listed, tables, desc, page1, page2, missing, rows, refused = run({"default": shop}, steps)
    assert rows["columns"] == ["n", "label"]
    assert rows["data"] == [[n, f"row {n}"] for n in range(1, 6)]
    assert rows["row_count"] == 5 and not rows["truncated"]
    assert "untrusted" in rows["note"].lower()
    assert "\n" not in error_text(refused) and "read" in error_text(refused).lower()
    kinds = {(o["kind"], o["name"]) for o in listed["objects"]}
    assert {("table", "shop.customer"), ("enum", "shop.order_status")} <= kinds
    assert {("domain", "shop.email")} <= kinds
    assert {o["kind"] for o in tables["objects"]} == {"table"}
    assert desc["kind"] == "table" and desc["name"] == "shop.customer"
    assert [c["name"] for c in desc["columns"]][:3] == ["customer_id", "email", "full_name"]
    assert any(c == "primary key customer_pkey (customer_id)" for c in desc["constraints"]), desc[
        "constraints"
    ]
    assert desc["comment"] == "People who can place orders"
    n = len(tables["objects"])
    assert page1["pages"] == n == page1["tables_total"] and n >= 3
    assert len(page1["canonical"]["tables"]) == 1 and page1["canonical"]["enums"]
    assert len(page2["canonical"]["tables"]) == 1 and not page2["canonical"].get("enums")
    assert page1["canonical"]["tables"][0] != page2["canonical"]["tables"][0]
    assert "no such table, view or function" in error_text(missing)


def test_postgres_review_check_explain_design(shop: DatabaseURL, tmp_path: Path) -> None:
    async def steps(client: ClientSession) -> Any:
        review = ok(await client.call_tool("review", {}))
        check = ok(
            await client.call_tool(
                "check",
                {
                    "migration_sql": "ALTER TABLE shop.customer ALTER COLUMN full_name TYPE int "
                    "USING 0;\nCREATE INDEX ON shop.product (sku);",
                    "database": "default",
                },
            )
        )
        explain = ok(
            await client.call_tool(
                "explain", {"sql": "SELECT * FROM shop.customer WHERE lower(full_name) LIKE '%a'"}
            )
        )
        design = ok(await client.call_tool("design", {"spec_yaml_text": SPEC}))
        bad_design = await client.call_tool("design", {"spec_yaml_text": "name: [x"})
        docs = ok(await client.call_tool("docs", {"out_dir": str(tmp_path / "docs")}))
        audit = await client.call_tool("secure_audit", {})
        return review, check, explain, design, bad_design, docs, audit

    review, check, explain, design, bad_design, docs, audit = run({"default": shop}, steps)
    _, expected = review_url(shop, load_config(None))
    got = {(f["rule"], f["object"]) for f in review["findings"]}
    assert got == {(f.rule, f.object) for f in expected} and got
    assert review["source"] == str(shop)
    assert review["counts"]["warning"] == sum(f.severity == "warning" for f in expected)
    rules = {f["rule"] for f in check["findings"]}
    assert any("rewrite" in r for r in rules), rules  # a type change rewrites the table
    assert any("concurrently" in r or "index" in r for r in rules), rules
    assert explain["plan"]["data"]["Plan"]["Node Type"]
    assert "untrusted" in explain["plan"]["note"].lower()
    assert {f["rule"] for f in explain["findings"]} & {"tune/select-star", "tune/leading-wildcard"}
    targets = {t["dialect"]: t["ddl"] for t in design["targets"]}
    assert set(targets) == {"postgres", "sqlite", "mysql"}
    assert all("CREATE TABLE" in ddl and "books" in ddl for ddl in targets.values())
    message = error_text(bad_design)
    assert "spec.yaml" in message and "\n" not in message and "Traceback" not in message
    names = {Path(p).name for p in docs["paths"]}
    assert "database-design.md" in names and "index.html" in names
    assert "no tenant column found" in error_text(audit)  # shop has no tenants


def test_postgres_diff_then_apply(shop: DatabaseURL, tmp_path: Path) -> None:
    wanted = tmp_path / "wanted.sql"
    wanted.write_text(SHOP + "\nALTER TABLE shop.customer ADD COLUMN nickname text;\n")

    async def steps(client: ClientSession) -> Any:
        diff = ok(
            await client.call_tool("diff", {"from_source": "default", "to_source": str(wanted)})
        )
        same = ok(
            await client.call_tool("diff", {"from_source": "default", "to_source": "default"})
        )
        up = "\n".join(s.rstrip().rstrip(";") + ";" for s in diff["up"])
        applied = ok(await client.call_tool("apply_migration", {"sql": up}))
        index = ok(
            await client.call_tool(
                "create_index",
                {"ddl": "CREATE INDEX CONCURRENTLY nick_idx ON shop.customer (nickname)"},
            )
        )
        refused = await client.call_tool("create_index", {"ddl": "DROP TABLE shop.customer"})
        desc = ok(await client.call_tool("describe", {"object": "shop.customer"}))
        again = ok(
            await client.call_tool("diff", {"from_source": "default", "to_source": str(wanted)})
        )
        return diff, same, applied, index, refused, desc, again

    diff, same, applied, index, refused, desc, again = run(
        {"default": shop}, steps, allow_writes=True
    )
    assert diff["verified"] and not diff["empty"]
    assert any("nickname" in s for s in diff["up"]) and any("nickname" in s for s in diff["down"])
    assert same["empty"] and same["up"] == []
    assert applied["statements"] == len(diff["up"])
    assert index["statements"] == 1
    assert "exactly one CREATE INDEX" in error_text(refused)
    assert "nickname" in [c["name"] for c in desc["columns"]]
    assert any("nick_idx" in i for i in desc["indexes"])
    # Now the database has the column: only the extra index separates it from the file.
    assert not any("ADD COLUMN" in s for s in again["up"])


def test_postgres_tune_and_secure_test(pg_url: DatabaseURL) -> None:
    engine = get_dialect("postgres").engine()
    engine.run_script(pg_url, SEED, where="seed.sql")
    fixture = ROOT / "tests" / "fixtures" / "security" / "clean.sql"
    engine.run_script(pg_url, fixture.read_text(encoding="utf-8"), where="clean.sql")
    workload = "-- calls: 100\nSELECT * FROM events WHERE user_id = 42;\n"

    async def steps(client: ClientSession) -> Any:
        tune = ok(await client.call_tool("tune", {"workload_sql": workload, "budget": "50MB"}))
        bad = await client.call_tool("tune", {"workload_sql": workload, "budget": "lots"})
        proof = ok(await client.call_tool("secure_test", {"tenant_column": "tenant_id"}))
        audit = ok(await client.call_tool("secure_audit", {"tenant_column": "tenant_id"}))
        return tune, bad, proof, audit

    tune, bad, proof, audit = run({"default": pg_url}, steps)
    # clean.sql has no row level security yet: the audit says so, per tenant table.
    assert audit["counts"]["error"] > 0
    assert any("tenants" in f["object"] or "users" in f["object"] for f in audit["findings"])
    assert tune["analysed"] == 1
    first = tune["advice"][0]
    assert first["table"].endswith("events") and first["columns"][0] == "user_id"
    assert "CREATE INDEX" in first["ddl"]
    assert first["gains"][0]["cost_after"] < first["gains"][0]["cost_before"]
    assert "budget 'lots'" in error_text(bad)
    assert proof["summary"]["blocked"] > 0 or proof["summary"]["leaked"] > 0
    assert proof["summary"]["leaked"] == len(
        [o for o in proof["leaks_and_errors"] if o["status"] == "leaked"]
    )
    # Nothing was written by tune: no index on events but its key.
    with engine.connect(pg_url) as session:
        rows = session.fetch("SELECT indexname FROM pg_indexes WHERE tablename = 'events'")
    assert [r["indexname"] for r in rows] == ["events_pkey"]


def test_sqlite_tools(sqlite_url: DatabaseURL) -> None:
    engine = get_dialect("sqlite").engine()
    engine.run_script(
        sqlite_url,
        "CREATE TABLE users (id integer PRIMARY KEY, email text NOT NULL, name text);"
        "CREATE TABLE posts (id integer PRIMARY KEY, user_id integer REFERENCES users(id),"
        " body text);"
        "INSERT INTO users VALUES (1, 'a@x', 'Ann'), (2, 'b@x', 'Bob');",
    )

    async def steps(client: ClientSession) -> Any:
        listed = ok(await client.call_tool("list_objects", {}))
        desc = ok(await client.call_tool("describe", {"object": "posts"}))
        review = ok(await client.call_tool("review", {}))
        check = ok(
            await client.call_tool(
                "check", {"migration_sql": "DROP TABLE posts;", "database": "default"}
            )
        )
        explain = ok(
            await client.call_tool("explain", {"sql": "SELECT * FROM posts WHERE user_id = 1"})
        )
        audit = await client.call_tool("secure_audit", {})
        unknown = await client.call_tool("list_objects", {"database": "nope"})
        url_given = await client.call_tool("review", {"source": "postgresql://u:p@h/db"})
        rows = ok(
            await client.call_tool(
                "query", {"sql": "SELECT id, email, name FROM users ORDER BY id", "max_rows": 1}
            )
        )
        return listed, desc, review, check, explain, audit, unknown, url_given, rows

    listed, desc, review, check, explain, audit, unknown, url_given, rows = run(
        {"default": sqlite_url}, steps
    )
    assert rows["columns"] == ["id", "email", "name"]
    assert rows["data"] == [[1, "a@x", "Ann"]] and rows["truncated"]
    assert {o["name"] for o in listed["objects"] if o["kind"] == "table"} == {"users", "posts"}
    assert any(c.startswith("foreign key") and "users" in c for c in desc["constraints"])
    assert ("fk-without-index", "posts.posts_user_id_fkey") in {
        (f["rule"], f["object"]) for f in review["findings"]
    }
    assert check["findings"] and check["findings"][0]["severity"] in ("error", "warning")
    assert explain["plan"]["data"] is not None
    for result in (audit, unknown, url_given):
        text = error_text(result)
        assert "\n" not in text and "Traceback" not in text
    assert "unknown database 'nope' (configured: default)" in error_text(unknown)
    assert "configured database name" in error_text(url_given)


def test_secrets_redacted_in_errors(sqlite_url: DatabaseURL) -> None:
    secret = parse_url("postgresql://someone:s3cr3t-pw@127.0.0.1:1/nowhere")

    async def steps(client: ClientSession) -> Any:
        return await client.call_tool("list_objects", {"database": "remote"})

    result = run({"default": sqlite_url, "remote": secret}, steps)
    text = error_text(result)
    assert "s3cr3t-pw" not in text and "\n" not in text
    assert json.dumps(result.model_dump()).count("s3cr3t") == 0
