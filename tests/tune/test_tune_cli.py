"""`dbarch tune` end to end on a scratch PostgreSQL with data where the right index is known:
the advisor finds it, --verify measures the drop, runs repeat exactly, bad input is one line,
and the user's database is left as it was."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from dbarchitect.engines.postgres import PostgresEngine, conninfo
from dbarchitect.engines.url import DatabaseURL

SETUP = """
CREATE EXTENSION hypopg;
CREATE TABLE customers (id bigint PRIMARY KEY, name text NOT NULL, region text NOT NULL);
CREATE TABLE orders (
    id bigint PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES customers,
    status text NOT NULL,
    created_at timestamptz NOT NULL,
    total numeric(12,2) NOT NULL,
    note text
);
INSERT INTO customers
SELECT g, 'customer ' || g, 'region ' || (g % 7) FROM generate_series(1, 5000) g;
INSERT INTO orders
SELECT g, 1 + (g * 7919) % 5000,
       CASE WHEN g % 100 = 0 THEN 'Refunded' ELSE 'Shipped' END,
       timestamptz '2024-01-01' + g * interval '1 minute', (g % 1000) / 10.0, NULL
FROM generate_series(1, 150000) g;
ANALYZE;
"""

WORKLOAD = """-- calls: 500
SELECT id, total FROM orders WHERE customer_id = 4242 ORDER BY created_at DESC LIMIT 10;

-- calls: 20
SELECT o.id, c.name FROM orders o JOIN customers c ON c.id = o.customer_id
WHERE o.status = 'Refunded' AND c.region = 'region 3';

SELECT FROM WHERE;

SELECT * FROM no_such_table WHERE id = 1;
"""


def dbarch(*args: str, seed: str = "0") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dbarchitect", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONHASHSEED": seed},
        check=False,
        timeout=300,
    )


@pytest.fixture(scope="module")
def shop() -> Iterator[DatabaseURL]:
    with PostgresEngine().scratch() as url:
        with psycopg.connect(conninfo(url), autocommit=True) as conn:
            conn.execute(SETUP)
        yield url


@pytest.fixture
def workload(tmp_path: Path) -> Path:
    path = tmp_path / "workload.sql"
    path.write_text(WORKLOAD, encoding="utf-8")
    return path


def indexes(url: DatabaseURL) -> list[str]:
    with psycopg.connect(conninfo(url)) as conn:
        rows = conn.execute("SELECT indexdef FROM pg_indexes WHERE schemaname = 'public'")
        return sorted(r[0] for r in rows)


def tune_json(url: DatabaseURL, workload: Path, *extra: str, seed: str = "0") -> dict[str, Any]:
    proc = dbarch(
        "tune", url.render(redact=False), "-w", str(workload), "-f", "json", *extra, seed=seed
    )
    assert proc.returncode == 0, proc.stderr
    doc: dict[str, Any] = json.loads(proc.stdout)
    return doc


def test_finds_the_known_index_and_changes_nothing(shop: DatabaseURL, workload: Path) -> None:
    before = indexes(shop)
    doc = tune_json(shop, workload)
    assert indexes(shop) == before
    lookup = doc["workload"]["queries"][0]
    assert "customer_id = 4242" in lookup["text"] and lookup["calls"] == 500
    first = doc["advice"][0]
    assert first["candidate"]["table"] == "public.orders"
    assert first["candidate"]["columns"][0] == "customer_id"
    assert first["ddl"].startswith("CREATE INDEX CONCURRENTLY ")
    gain = next(g for g in first["gains"] if g["fingerprint"] == lookup["fingerprint"])
    assert gain["cost_after"] < gain["cost_before"] / 10
    assert 0 < first["size_bytes"] < 50_000_000
    assert doc["curve"] and doc["curve"][-1]["cost"] < doc["base_cost"]
    assert 0 < doc["whatif_calls"] <= 2000
    reasons = {s["source"]: s["reason"] for s in doc["workload"]["skipped"]}
    assert any(src.endswith("workload.sql:8") for src in reasons), reasons
    assert any("no_such_table" in r for r in reasons.values()), reasons


def test_verify_measures_the_drop(shop: DatabaseURL, workload: Path) -> None:
    before = indexes(shop)
    doc = tune_json(shop, workload, "--verify")
    assert indexes(shop) == before
    lookup = doc["workload"]["queries"][0]["fingerprint"]
    timing = next(t for t in doc["timings"] if t["fingerprint"] == lookup)
    assert timing["ms_after"] < timing["ms_before"]
    assert timing["cost_after"] < timing["cost_before"]


def test_same_advice_whatever_the_hash_seed(shop: DatabaseURL, workload: Path) -> None:
    one = dbarch("tune", shop.render(redact=False), "-w", str(workload), "-f", "json", seed="1")
    two = dbarch("tune", shop.render(redact=False), "-w", str(workload), "-f", "json", seed="4242")
    assert one.returncode == two.returncode == 0, one.stderr + two.stderr
    assert one.stdout == two.stdout


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_text_and_markdown(shop: DatabaseURL, workload: Path, fmt: str) -> None:
    proc = dbarch("tune", shop.render(redact=False), "-w", str(workload), "-f", fmt)
    assert proc.returncode == 0, proc.stderr
    assert "CREATE INDEX CONCURRENTLY" in proc.stdout
    assert "customer_id" in proc.stdout
    assert "workload.sql:8" in proc.stdout  # the skipped statement, with its reason


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["-w", "no/such/workload.sql"], "no/such/workload.sql"),
        (["--budget", "lots"], "--budget"),
        (["--on-target"], "--on-target"),
    ],
)
def test_bad_input_is_one_line(shop: DatabaseURL, args: list[str], needle: str) -> None:
    proc = dbarch("tune", shop.render(redact=False), *args)
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert needle in proc.stderr and "Traceback" not in proc.stderr


def test_without_hypopg_says_how(pg_url: DatabaseURL, workload: Path) -> None:
    with psycopg.connect(conninfo(pg_url), autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint,"
            " created_at timestamptz, total numeric)"
        )
    proc = dbarch("tune", pg_url.render(redact=False), "-w", str(workload))
    assert proc.returncode == 2, proc.stderr
    assert "hypopg" in proc.stderr.lower()
    assert len(proc.stderr.strip().splitlines()) == 1
