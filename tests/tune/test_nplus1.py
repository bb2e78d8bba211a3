"""N+1 detection: real logs of a loop run on PostgreSQL (fixtures and live), negative logs that
must stay quiet, and the batched statements checked against what the loop returned."""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

import psycopg
import pytest

from dbarchitect.dialects.postgres.tune.fingerprint import batched, fingerprint
from dbarchitect.engines.postgres import conninfo
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.tune.model import LogEvent
from dbarchitect.tune.nplus1 import find_nplus1
from dbarchitect.tune.pglog import read_pg_log
from tests.tune.helpers import LOGS, gen, server_log_of

ANY_FORM = "SELECT order_id, id, sku, qty FROM order_items WHERE order_id = ANY($1)"
JOINED = (
    "SELECT order_id, id, sku, qty FROM order_items WHERE order_id IN (SELECT p.id FROM "
    "(SELECT id, status FROM orders WHERE customer_id = $1 ORDER BY id) AS p)"
)


def test_real_nplus1_log() -> None:
    _, events = read_pg_log(LOGS / "nplus1.log", fingerprint)
    found = find_nplus1(events, fingerprint, batch=batched)
    assert len(found) == 1
    n = found[0]
    assert (n.parent, n.child) == (fingerprint(gen.PARENT_SQL), fingerprint(gen.CHILD_SQL))
    # Two customers, five orders each: two bursts, ten round trips.
    assert (n.repeats, n.bursts) == (10, 2)
    assert n.child_text == gen.CHILD_SQL
    assert (n.batched, n.joined) == (ANY_FORM, JOINED)
    assert 0 <= n.window_ms < 1000
    # The session is the %c session id; the source is the parent's execute line.
    assert len(n.session.split(".")[0]) == 8
    line = int(n.source.split(":")[1])
    text = (LOGS / "nplus1.log").read_text(encoding="utf-8").splitlines()[line - 1]
    assert "execute <unnamed>: " + gen.PARENT_SQL in text


def test_negative_log_stays_quiet_for_the_right_reasons() -> None:
    _, events = read_pg_log(LOGS / "nplus1_negative.log", fingerprint)
    assert find_nplus1(events, fingerprint) == []
    # With a longer window the loop run 1.2 s apart is one: the window is what kept it out.
    wide = find_nplus1(events, fingerprint, max_gap_ms=1500)
    assert [(n.repeats, n.bursts) for n in wide] == [(6, 1)]
    # Two per session in three interleaved sessions: only a per-session count of 2 finds them.
    low = find_nplus1(events, fingerprint, min_repeats=2)
    assert [(n.repeats, n.bursts) for n in low] == [(6, 3)]
    # The same key eight times in a row is polling: never reported, whatever the settings.
    both = find_nplus1(events, fingerprint, min_repeats=2, max_gap_ms=1500)
    assert [(n.repeats, n.bursts) for n in both] == [(12, 4)]
    polled = [e for e in events if e.text == gen.CHILD_SQL and e.params == ("'1'",)]
    assert len(polled) == 8 and len({e.session for e in polled}) == 1


def test_live_loop_on_the_scratch_cluster(shop_url: DatabaseURL, tmp_path: Path) -> None:
    def connect() -> psycopg.Connection[tuple[object, ...]]:
        conn = psycopg.connect(conninfo(shop_url), autocommit=True)
        conn.execute("SET log_min_duration_statement = 0")
        return conn

    path = server_log_of(lambda: gen.nplus1(connect), tmp_path, "live.log")
    _, events = read_pg_log(path, fingerprint)
    found = find_nplus1(events, fingerprint, batch=batched)
    assert [(n.repeats, n.bursts, n.batched, n.joined) for n in found] == [
        (10, 2, ANY_FORM, JOINED)
    ]
    assert found[0].session.isdigit()  # the default prefix has the process id only


def test_batched_statements_return_what_the_loop_returned(shop_url: DatabaseURL) -> None:
    with psycopg.connect(conninfo(shop_url), autocommit=True) as conn:
        for customer in gen.NPLUS1_CUSTOMERS:
            orders = conn.execute(gen.PARENT_SQL.replace("$1", "%s"), (customer,)).fetchall()
            looped = sorted(
                (order_id, *row)
                for order_id, _ in orders
                for row in conn.execute(gen.CHILD_SQL.replace("$1", "%s"), (order_id,)).fetchall()
            )
            assert len(looped) == 20
            keys = [order_id for order_id, _ in orders]
            any_rows = conn.execute(ANY_FORM.replace("$1", "%s"), (keys,)).fetchall()
            joined_rows = conn.execute(JOINED.replace("$1", "%s"), (customer,)).fetchall()
            assert sorted(any_rows) == looped
            assert sorted(joined_rows) == looped


# ---------------------------------------------------------------------------------------------
# Synthetic events: the rules one at a time


def _events(
    session: str,
    texts: list[str],
    *,
    start: float = 1000.0,
    step: float = 0.002,
    params: Sequence[tuple[str, ...]] | None = None,
) -> list[LogEvent]:
    return [
        LogEvent(
            at=start + i * step,
            session=session,
            text=t,
            source=f"{session}.log:{i + 1}",
            params=params[i] if params else (),
        )
        for i, t in enumerate(texts)
    ]


def test_literal_loops_and_siblings() -> None:
    """An ORM loading two relations per row (A B A B …) after one parent: two N+1s, both
    with that parent; literal-inlined keys get a new parameter in the batched form."""
    texts = ["SELECT id FROM orders WHERE customer_id = 7"]
    for k in range(6):
        texts.append(f"SELECT * FROM order_items WHERE order_id = {k}")
        texts.append(f"SELECT * FROM shipments WHERE order_id = {k} AND kind = 'x'")
    found = find_nplus1(_events("s1", texts), fingerprint, batch=batched)
    parent = fingerprint(texts[0])
    assert [(n.parent == parent, n.repeats, n.batched) for n in found] == [
        (True, 6, "SELECT * FROM order_items WHERE order_id = ANY($1)"),
        (True, 6, "SELECT * FROM shipments WHERE order_id = ANY($1) AND kind = 'x'"),
    ]


def test_same_result_whatever_the_event_order() -> None:
    events = _events(
        "b",
        ["SELECT id FROM orders"]
        + [f"SELECT * FROM order_items WHERE order_id = {k}" for k in range(5)],
    ) + _events(
        "a",
        ["SELECT id FROM orders"]
        + [f"SELECT * FROM order_items WHERE order_id = {k}" for k in range(7)],
        start=2000.0,
    )
    first = find_nplus1(events, fingerprint, batch=batched)
    shuffled = events[:]
    random.Random(3).shuffle(shuffled)
    assert find_nplus1(shuffled, fingerprint, batch=batched) == first
    assert [(n.repeats, n.bursts, n.session, n.window_ms) for n in first] == [(12, 2, "a", 12.0)]


def test_no_parent_no_session_unparsable() -> None:
    loop = [f"SELECT * FROM order_items WHERE order_id = {k}" for k in range(6)]
    # The loop starts the session: no parent query, nothing to batch against.
    assert find_nplus1(_events("s", loop), fingerprint) == []
    # The parent ran long before the loop.
    late = _events("s", ["SELECT id FROM orders"]) + _events("s", loop, start=1005.0)
    assert find_nplus1(late, fingerprint) == []
    # Events without a session key cannot be attributed to a loop.
    assert find_nplus1(_events("", ["SELECT id FROM orders", *loop]), fingerprint) == []
    # An unparsable statement is a statement of its own, not an error.
    broken = _events("s", ["SELECT id FROM orders", "SELECT * FROM (oops", *loop])
    found = find_nplus1(broken, fingerprint, batch=batched)
    assert [n.repeats for n in found] == [6]
    assert found[0].parent.startswith("?")


def test_extended_protocol_params_decide_what_varies() -> None:
    text = "SELECT * FROM order_items WHERE tenant = $1 AND order_id = $2"
    params = [()] + [("'acme'", f"'{k}'") for k in range(5)]
    events = _events(
        "s", ["SELECT id FROM orders WHERE tenant = 'acme'"] + [text] * 5, params=params
    )
    found = find_nplus1(events, fingerprint, batch=batched)
    assert [n.batched for n in found] == [
        "SELECT * FROM order_items WHERE tenant = $1 AND order_id = ANY($2)"
    ]
    same = _events(
        "s", ["SELECT id FROM orders"] + [text] * 5, params=[()] + [("'acme'", "'1'")] * 5
    )
    assert find_nplus1(same, fingerprint) == []


# ---------------------------------------------------------------------------------------------
# The rewrite itself


@pytest.mark.parametrize(
    ("child", "parent", "expected"),
    [
        (
            "SELECT name FROM items WHERE 42 = order_id",
            "SELECT * FROM orders",
            (
                "SELECT order_id, name FROM items WHERE order_id = ANY($1)",
                "SELECT order_id, name FROM items WHERE order_id IN "
                "(SELECT p.id FROM (SELECT * FROM orders) AS p)",
            ),
        ),
        (
            "SELECT i.* FROM items i /* loop */ WHERE i.order_id = $1::bigint ORDER BY i.id",
            "SELECT o.id AS order_id FROM orders o WHERE o.note = 'Zoë'",
            (
                "SELECT i.* FROM items i /* loop */ WHERE i.order_id = ANY($1::bigint[]) "
                "ORDER BY i.id",
                "SELECT i.* FROM items i /* loop */ WHERE i.order_id IN (SELECT p.order_id "
                "FROM (SELECT o.id AS order_id FROM orders o WHERE o.note = 'Zoë') AS p) "
                "ORDER BY i.id",
            ),
        ),
        (
            "DELETE FROM items WHERE order_id = $1",
            "SELECT total FROM invoices",
            (
                "DELETE FROM items WHERE order_id = ANY($1)",
                "DELETE FROM items WHERE order_id IN "
                "(SELECT p.total FROM (SELECT total FROM invoices) AS p)",
            ),
        ),
        ("SELECT * FROM items WHERE order_id = $1 OR id = $2", "SELECT 1", ("", "")),
        ("SELECT * FROM items WHERE order_id > $1", "SELECT 1", ("", "")),
        ("SELECT * FROM items", "SELECT 1", ("", "")),
        ("UPDATE items SET qty = 1 WHERE id = $1", "SELECT 1", ("", "")),
        ("SELECT * FROM items WHERE a = $1 AND b = $2", "SELECT 1", ("", "")),
    ],
)
def test_batched_forms(child: str, parent: str, expected: tuple[str, str]) -> None:
    got = batched(child, parent)
    assert got == expected
    for form in got:
        if form:
            fingerprint(form)  # parses


def test_batched_form_with_parent_params_renumbered() -> None:
    any_form, joined = batched(
        "SELECT * FROM items WHERE tenant = $1 AND order_id = $2",
        "SELECT id FROM orders WHERE tenant = $1 AND customer_id = $2",
        varying=frozenset({2}),
    )
    assert any_form == "SELECT * FROM items WHERE tenant = $1 AND order_id = ANY($2)"
    assert joined == (
        "SELECT * FROM items WHERE tenant = $1 AND order_id IN (SELECT p.id FROM "
        "(SELECT id FROM orders WHERE tenant = $2 AND customer_id = $3) AS p)"
    )
