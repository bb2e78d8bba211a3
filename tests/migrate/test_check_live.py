"""`dbarch check --url`: blast radius from live sizes, and assumptions checked on live rows.

Every case runs the CLI against a scratch PostgreSQL holding real rows that break or satisfy
the migration's assumptions; the database must come out unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dbarchitect.cli import main
from dbarchitect.dialects import get_dialect
from dbarchitect.engines.postgres import connect
from dbarchitect.engines.url import DatabaseURL, parse_url
from dbarchitect.migrate.safety.effects import Effect
from dbarchitect.migrate.safety.live import Relation, blast_radius

SETUP = """
CREATE TABLE customers (id bigint PRIMARY KEY, email text);
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint, total numeric, note text,
                     code text);
CREATE TABLE lines (order_id bigint, qty int);
INSERT INTO customers SELECT g, 'c' || g FROM generate_series(1, 100) g;
INSERT INTO customers VALUES (101, 'c1');
INSERT INTO orders SELECT g, 1 + g % 100, g, CASE WHEN g % 7 = 0 THEN NULL ELSE 'n' END, 'k' || g
  FROM generate_series(1, 20000) g;
INSERT INTO orders VALUES (20001, 999, -5, 'n', 'k1');
INSERT INTO lines SELECT g, 1 FROM generate_series(1, 500) g;
CREATE INDEX orders_note_idx ON orders (note);
ANALYZE;
"""


@pytest.fixture
def live(pg_url: DatabaseURL) -> str:
    get_dialect("postgres").engine().run_script(pg_url, SETUP, where="setup.sql")
    return pg_url.render(redact=False)


def check(url: str, tmp_path: Path, sql: str, capsys: pytest.CaptureFixture[str]) -> list[Any]:
    mig = tmp_path / "m.sql"
    mig.write_text(sql)
    with pytest.raises(SystemExit) as exc:
        main(["check", str(mig), "--url", url, "--format", "json", "--fail-on", "never"])
    out, err = capsys.readouterr()
    assert exc.value.code in (0, None), err
    data = json.loads(out)
    findings: list[Any] = data["findings"] if isinstance(data, dict) else data
    return findings


def lines_of(findings: list[Any], rule: str) -> set[int]:
    return {int(f["line"]) for f in findings if f["rule"] == rule}


def constraint_count(url: str) -> int:
    with connect(parse_url(url), read_only=True) as s:
        return int(s.fetch("SELECT count(*) AS n FROM pg_constraint")[0]["n"])


VIOLATING = """ALTER TABLE orders ADD CONSTRAINT orders_total_pos CHECK (total >= 0);
ALTER TABLE orders ALTER COLUMN note SET NOT NULL;
ALTER TABLE customers ADD CONSTRAINT customers_email_key UNIQUE (email);
ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers;
ALTER TABLE orders ADD COLUMN flag int NOT NULL;
ALTER TABLE orders ADD CONSTRAINT orders_code_nv CHECK (code LIKE 'x%') NOT VALID;
ALTER TABLE orders VALIDATE CONSTRAINT orders_code_nv;
CREATE UNIQUE INDEX CONCURRENTLY orders_code_key ON orders (code);
"""


def test_rows_that_violate_each_constraint_are_counted(
    live: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = constraint_count(live)
    findings = check(live, tmp_path, VIOLATING, capsys)
    rows = {
        int(f["line"]): f for f in findings if f["rule"] == "assumption-rows-violate-constraint"
    }
    assert set(rows) == {1, 2, 3, 4, 5, 7, 8}  # line 6 is NOT VALID: existing rows not checked
    assert rows[1]["severity"] == "error"
    assert "1 existing row of public.orders fail CHECK" in rows[1]["message"]
    assert "at least 1000 existing rows" in rows[2]["message"]  # 2857 NULL notes, bounded
    assert "1 existing row of public.customers share a value of (email)" in rows[3]["message"]
    assert "reference (customer_id) values missing from public.customers" in rows[4]["message"]
    assert "NOT NULL column flag" in rows[5]["message"]
    assert constraint_count(live) == before  # the migration was never run


SATISFIED = """ALTER TABLE orders ADD CONSTRAINT orders_id_pos CHECK (id > 0);
ALTER TABLE orders ALTER COLUMN code SET NOT NULL;
ALTER TABLE customers ADD CONSTRAINT customers_id_email_key UNIQUE (id, email);
ALTER TABLE lines ADD CONSTRAINT lines_order_fk FOREIGN KEY (order_id) REFERENCES orders (id);
ALTER TABLE lines ADD COLUMN flag int NOT NULL DEFAULT 0;
ALTER TABLE orders ADD CONSTRAINT orders_code_nv CHECK (code LIKE 'x%') NOT VALID;
UPDATE orders SET note = '' WHERE note IS NULL;
ALTER TABLE orders ALTER COLUMN note SET NOT NULL;
DELETE FROM orders WHERE customer_id NOT IN (SELECT id FROM customers);
ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers;
"""


def test_rows_that_satisfy_the_constraints_are_not_flagged(
    live: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    findings = check(live, tmp_path, SATISFIED, capsys)
    assert not [f for f in findings if f["rule"].startswith("assumption-")], findings
    # the static hazards are still there, now with their blast radius
    assert lines_of(findings, "add-check-validates") >= {1}


OBJECTS = """ALTER TABLE nosuch ADD COLUMN a int;
ALTER TABLE IF EXISTS nosuch ADD COLUMN a int;
ALTER TABLE orders DROP COLUMN nosuch;
ALTER TABLE orders DROP COLUMN IF EXISTS nosuch;
DROP INDEX nosuch_idx;
DROP INDEX IF EXISTS nosuch_idx;
CREATE TABLE orders (id int);
CREATE TABLE IF NOT EXISTS orders (id int);
CREATE INDEX orders_note_idx ON orders (code);
ALTER TABLE orders ADD COLUMN note text;
ALTER TABLE orders ADD COLUMN IF NOT EXISTS note text;
ALTER TABLE orders ADD CONSTRAINT orders_pkey UNIQUE (code);
CREATE TABLE fresh (a int);
ALTER TABLE fresh ADD COLUMN b int;
DROP TABLE lines;
ALTER TABLE lines ADD COLUMN x int;
ALTER TABLE orders RENAME COLUMN nosuch TO other;
ALTER TABLE orders RENAME COLUMN total TO code;
ALTER TABLE orders ALTER COLUMN missing_col SET NOT NULL;
ALTER TABLE orders ADD CONSTRAINT orders_fk FOREIGN KEY (id) REFERENCES nowhere (id);
ALTER TABLE orders ADD COLUMN fresh_col int;
ALTER TABLE orders DROP COLUMN fresh_col;
"""


def test_missing_objects_and_taken_names(
    live: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    findings = check(live, tmp_path, OBJECTS, capsys)
    assert lines_of(findings, "assumption-object-missing") == {1, 3, 5, 16, 17, 19, 20}
    assert lines_of(findings, "assumption-name-taken") == {7, 9, 10, 12, 18}
    [missing] = [f for f in findings if f["rule"] == "assumption-object-missing" and f["line"] == 3]
    assert "column public.orders.nosuch does not exist" in missing["message"]
    [taken] = [f for f in findings if f["rule"] == "assumption-name-taken" and f["line"] == 9]
    assert "relation public.orders_note_idx already exists" in taken["message"]


def test_hazards_carry_blast_radius_and_duration(
    live: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sql = (
        "SET lock_timeout = '2s';\n"
        "ALTER TABLE orders ALTER COLUMN total TYPE text;\n"
        "CREATE INDEX orders_code_idx ON orders (code);\n"
        "ALTER TABLE orders RENAME COLUMN code TO ref;\n"
    )
    findings = check(live, tmp_path, sql, capsys)
    [rewrite] = [f for f in findings if f["rule"] == "column-type-rewrite"]
    assert "(public.orders: ~20.0k rows, " in rewrite["message"]
    assert (
        "a rewrite (" in rewrite["message"]
        and "with indexes) at ~100 MB/s takes <1 s" in (rewrite["message"])
    )
    assert rewrite["message"].endswith("under ACCESS EXCLUSIVE)")
    [index] = [f for f in findings if f["rule"] == "create-index-without-concurrently"]
    assert "a scan at ~300 MB/s takes <1 s under SHARE)" in index["message"]
    [rename] = [f for f in findings if f["rule"] == "rename-column"]
    assert rename["message"].endswith(" kB)") and "~20.0k rows" in rename["message"]


def test_blast_radius_wording_for_a_large_table() -> None:
    rel = Relation("public.orders", "r", 1_234_567, 340 * 2**20, 340 * 2**20)
    effect = Effect(locks={"public.orders": "AccessExclusiveLock"}, rewrites=frozenset([rel.name]))
    assert blast_radius(rel, effect) == (
        "public.orders: ~1.2M rows, 340 MB; a rewrite at ~100 MB/s takes ~3 s under ACCESS "
        "EXCLUSIVE"
    )
    big = Relation("public.events", "r", None, 50 * 2**30, 80 * 2**30)
    scan = Effect(locks={"public.events": "ShareLock"}, scans=frozenset([big.name]))
    assert blast_radius(big, scan) == (
        "public.events: rows unknown, 50 GB; a scan at ~300 MB/s takes ~3 min under SHARE"
    )
