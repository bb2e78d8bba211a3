"""The conventions hold on real engines: rows cannot cross tenants, soft-deleted rows leave
unique keys free, updated_at moves on UPDATE, enums and checks refuse bad values, defaults
come back as written, range partitions prune, and SQLite makes version-4 uuids."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dbarchitect.engines.base import Session
from tests.design.test_build_cases import (
    CATALOG,
    DIALECTS,
    EVENTS,
    TENANT,
    built,
    realized,
    writer,
)

O1, O2 = "00000000-0000-4000-8000-0000000000a1", "00000000-0000-4000-8000-0000000000a2"
M = [f"00000000-0000-4000-8000-00000000010{i}" for i in range(8)]
P = [f"00000000-0000-4000-8000-00000000020{i}" for i in range(4)]
T1 = "00000000-0000-4000-8000-000000000301"
UUID_V4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def _refused(session: Session, sql: str, pattern: str) -> None:
    with pytest.raises(Exception, match=pattern):
        session.execute(sql)


def _one(session: Session, sql: str) -> dict[str, object]:
    rows = session.fetch(sql)
    assert len(rows) == 1, rows
    return rows[0]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_tenant_conventions_hold(tmp_path: Path, dialect: str) -> None:
    schema = built(tmp_path, TENANT, dialect).schema
    with realized(schema) as (d, url), writer(d, url) as s:
        s.execute(f"INSERT INTO orgs (id, name) VALUES ('{O1}', 'one'), ('{O2}', 'two')")
        s.execute(
            "INSERT INTO members (id, org_id, email) VALUES "
            f"('{M[0]}', '{O1}', 'a@one'), ('{M[1]}', '{O2}', 'b@two'), "
            f"('{M[2]}', '{O1}', 'c@one')"
        )
        # Tenancy: a project may be owned by a member of its own tenant only.
        s.execute(
            f"INSERT INTO projects (id, org_id, name, owner_id) VALUES ('{P[0]}', '{O1}', "
            f"'p', '{M[0]}')"
        )
        _refused(
            s,
            f"INSERT INTO projects (id, org_id, name, owner_id) VALUES ('{P[1]}', '{O1}', "
            f"'q', '{M[1]}')",
            r"(?i)foreign key",
        )
        # Soft delete: the address is unique among live members of one tenant only.
        dup = f"INSERT INTO members (id, org_id, email) VALUES ('{{}}', '{O1}', 'dup@one')"
        s.execute(dup.format(M[3]))
        _refused(s, dup.format(M[4]), r"(?i)duplicate|unique")
        s.execute(f"UPDATE members SET deleted_at = CURRENT_TIMESTAMP WHERE id = '{M[3]}'")
        s.execute(dup.format(M[4]))
        _refused(s, dup.format(M[5]), r"(?i)duplicate|unique")
        s.execute(f"INSERT INTO members (id, org_id, email) VALUES ('{M[6]}', '{O2}', 'dup@one')")
        # Enum: an unknown role is refused.
        _refused(
            s,
            f"INSERT INTO members (id, org_id, email, role) VALUES ('{M[5]}', '{O1}', "
            "'e@one', 'owner')",
            r"(?i)enum|check constraint|truncated",
        )
        assert _one(s, f"SELECT role FROM members WHERE id = '{M[0]}'")["role"] == "user"
        # updated_at moves on UPDATE (created_at does not).
        past = "'2001-01-01 00:00:00'"
        s.execute(
            "INSERT INTO members (id, org_id, email, created_at, updated_at) VALUES "
            f"('{M[7]}', '{O1}', 'old@one', {past}, {past})"
        )
        before = _one(s, f"SELECT created_at, updated_at FROM members WHERE id = '{M[7]}'")
        assert before["created_at"] == before["updated_at"]
        assert str(before["updated_at"]).startswith("2001-01-01")
        s.execute(f"UPDATE members SET email = 'new@one' WHERE id = '{M[7]}'")
        after = _one(s, f"SELECT created_at, updated_at FROM members WHERE id = '{M[7]}'")
        assert after["created_at"] == before["created_at"]
        assert str(after["updated_at"])[:4] >= "2025"
        # A task assigned to a member: deleting the member clears the key, not the tenant.
        s.execute(
            f"INSERT INTO tasks (id, org_id, title, project_id, assignee_id) VALUES "
            f"('{T1}', '{O1}', 't', '{P[0]}', '{M[2]}')"
        )
        s.execute(f"DELETE FROM members WHERE id = '{M[2]}'")
        task = _one(s, f"SELECT org_id, assignee_id FROM tasks WHERE id = '{T1}'")
        assert task["assignee_id"] is None and str(task["org_id"]) == O1


@pytest.mark.parametrize("dialect", DIALECTS)
def test_catalog_defaults_and_checks_hold(tmp_path: Path, dialect: str) -> None:
    schema = built(tmp_path, CATALOG, dialect).schema
    table = "app.authors" if dialect == "postgres" else "authors"
    with realized(schema) as (d, url), writer(d, url) as s:
        s.execute(f"INSERT INTO {table} (email, name) VALUES ('ann@example.org', 'Ann')")
        row = _one(
            s,
            f"SELECT nickname, rating, score, level, code, mood, active, visits, token "
            f"FROM {table}",
        )
        assert row["nickname"] == "o'neil"
        assert float(str(row["rating"])) == -1.5
        assert float(str(row["score"])) == 2.0
        assert row["level"] == -3 and row["visits"] == 0
        assert row["code"] == "abc" and row["mood"] == "happy"
        assert row["active"] in (True, 1)
        assert UUID_V4.match(str(row["token"])) or dialect == "mysql"
        # Field checks, table checks and the enum refuse what the spec rules out.
        _refused(
            s,
            f"INSERT INTO {table} (email, name) VALUES ('no-at-sign', 'Bob')",
            r"(?i)check",
        )
        _refused(
            s,
            f"INSERT INTO {table} (email, name, code) VALUES ('c@example.org', 'C', 'zzz')",
            r"(?i)check",
        )
        _refused(
            s,
            f"INSERT INTO {table} (email, name, mood) VALUES ('d@example.org', 'D', 'meh')",
            r"(?i)enum|check|truncated",
        )
        _refused(
            s,
            f"INSERT INTO {table} (email, name, rating) VALUES ('e@example.org', 'E', 7)",
            r"(?i)check",
        )


def test_range_partitions_prune_on_postgres(tmp_path: Path) -> None:
    schema = built(tmp_path, EVENTS, "postgres").schema
    with realized(schema) as (d, url), writer(d, url) as s:
        s.execute("INSERT INTO sources (name) VALUES ('web')")
        s.execute(
            "INSERT INTO events (kind, happened_at, source_id) SELECT "
            "CASE WHEN g % 2 = 0 THEN 'click' ELSE 'view' END::events_kind, "
            "timestamptz '2025-03-01' + g * interval '1 day', 1 FROM generate_series(0, 99) g"
        )
        counts = {
            r["p"]: r["n"]
            for r in s.fetch(
                "SELECT tableoid::regclass::text AS p, count(*) AS n FROM events GROUP BY 1"
            )
        }
        assert counts == {
            "events_2025_03": 31,
            "events_2025_04": 30,
            "events_2025_05": 31,
            "events_default": 8,
        }
        plan = "\n".join(
            str(r["QUERY PLAN"])
            for r in s.fetch(
                "EXPLAIN SELECT count(*) FROM events WHERE happened_at >= '2025-04-10' "
                "AND happened_at < '2025-04-11'"
            )
        )
        assert re.findall(r"events_\w+", plan) == ["events_2025_04"], plan


def test_sqlite_makes_version_4_uuids(tmp_path: Path) -> None:
    schema = built(tmp_path, TENANT, "sqlite").schema
    with realized(schema) as (d, url), writer(d, url) as s:
        s.execute("INSERT INTO orgs (name) VALUES ('one'), ('two'), ('three')")
        ids = [str(r["id"]) for r in s.fetch("SELECT id FROM orgs")]
    assert len(set(ids)) == 3
    assert all(UUID_V4.match(i) for i in ids), ids
