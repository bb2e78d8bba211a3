"""Shapes and fingerprints through sqlglot: scopes, literals, parameters, reasons, findings.

Schemas come from real engines: DDL run in a scratch SQLite database and introspected (for
the MySQL dialect, the tests in test_mysql_tune.py use an introspected MariaDB schema).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from dbarchitect.dialects import get_dialect
from dbarchitect.errors import InputError
from dbarchitect.model import Schema
from dbarchitect.tune.model import JoinKey, Predicate, SortKey
from dbarchitect.tune.sqlglot_shape import (
    bind,
    key_columns,
    parameters,
    shape,
    table_aliases,
)
from dbarchitect.tune.sqlglot_text import fingerprint
from tests.tune.helpers import run_with_hash_seed

DDL = """
CREATE TABLE users (id INTEGER PRIMARY KEY, "Name" TEXT, email TEXT, org_id INT);
CREATE INDEX users_email ON users (email);
CREATE TABLE orgs (id INTEGER PRIMARY KEY, title TEXT);
CREATE TABLE events (
  id INTEGER PRIMARY KEY, user_id INT REFERENCES users (id), created_at TEXT, kind TEXT,
  payload TEXT
);
CREATE TABLE wide (id INTEGER PRIMARY KEY, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10);
CREATE VIEW recent AS
  SELECT e.id AS eid, e.user_id, u."Name" AS uname FROM events e JOIN users u ON u.id = e.user_id
  WHERE e.created_at > '2024-01-01';
"""

# TPC-H's schema and a selection of its queries, written for SQLite (dates as text).
TPCH_DDL = """
CREATE TABLE region (r_regionkey INTEGER PRIMARY KEY, r_name TEXT, r_comment TEXT);
CREATE TABLE nation (n_nationkey INTEGER PRIMARY KEY, n_name TEXT, n_regionkey INT, n_comment TEXT);
CREATE TABLE part (p_partkey INTEGER PRIMARY KEY, p_name TEXT, p_mfgr TEXT, p_brand TEXT,
  p_type TEXT, p_size INT, p_container TEXT, p_retailprice REAL, p_comment TEXT);
CREATE TABLE supplier (s_suppkey INTEGER PRIMARY KEY, s_name TEXT, s_address TEXT,
  s_nationkey INT, s_phone TEXT, s_acctbal REAL, s_comment TEXT);
CREATE TABLE partsupp (ps_partkey INT, ps_suppkey INT, ps_availqty INT, ps_supplycost REAL,
  ps_comment TEXT, PRIMARY KEY (ps_partkey, ps_suppkey));
CREATE TABLE customer (c_custkey INTEGER PRIMARY KEY, c_name TEXT, c_address TEXT,
  c_nationkey INT, c_phone TEXT, c_acctbal REAL, c_mktsegment TEXT, c_comment TEXT);
CREATE TABLE orders (o_orderkey INTEGER PRIMARY KEY, o_custkey INT, o_orderstatus TEXT,
  o_totalprice REAL, o_orderdate TEXT, o_orderpriority TEXT, o_clerk TEXT,
  o_shippriority INT, o_comment TEXT);
CREATE TABLE lineitem (l_orderkey INT, l_partkey INT, l_suppkey INT, l_linenumber INT,
  l_quantity REAL, l_extendedprice REAL, l_discount REAL, l_tax REAL, l_returnflag TEXT,
  l_linestatus TEXT, l_shipdate TEXT, l_commitdate TEXT, l_receiptdate TEXT,
  l_shipinstruct TEXT, l_shipmode TEXT, l_comment TEXT, PRIMARY KEY (l_orderkey, l_linenumber));
"""

TPCH = {
    "q1": """SELECT l_returnflag, l_linestatus, sum(l_quantity) AS sum_qty,
        sum(l_extendedprice * (1 - l_discount)) AS sum_disc_price, count(*) AS count_order
        FROM lineitem WHERE l_shipdate <= date('1998-12-01', '-90 days')
        GROUP BY l_returnflag, l_linestatus ORDER BY l_returnflag, l_linestatus""",
    "q2": """SELECT s_acctbal, s_name, n_name, p_partkey, p_mfgr FROM part, supplier, partsupp,
        nation, region WHERE p_partkey = ps_partkey AND s_suppkey = ps_suppkey AND p_size = 15
        AND p_type LIKE '%BRASS' AND s_nationkey = n_nationkey AND n_regionkey = r_regionkey
        AND r_name = 'EUROPE' AND ps_supplycost = (SELECT min(ps_supplycost) FROM partsupp,
        supplier, nation, region WHERE p_partkey = ps_partkey AND s_suppkey = ps_suppkey
        AND s_nationkey = n_nationkey AND n_regionkey = r_regionkey AND r_name = 'EUROPE')
        ORDER BY s_acctbal DESC, n_name, s_name, p_partkey LIMIT 100""",
    "q3": """SELECT l_orderkey, sum(l_extendedprice * (1 - l_discount)) AS revenue, o_orderdate,
        o_shippriority FROM customer, orders, lineitem WHERE c_mktsegment = 'BUILDING'
        AND c_custkey = o_custkey AND l_orderkey = o_orderkey AND o_orderdate < '1995-03-15'
        AND l_shipdate > '1995-03-15' GROUP BY l_orderkey, o_orderdate, o_shippriority
        ORDER BY revenue DESC, o_orderdate LIMIT 10""",
    "q4": """SELECT o_orderpriority, count(*) AS order_count FROM orders
        WHERE o_orderdate >= '1993-07-01' AND o_orderdate < '1993-10-01' AND EXISTS (
        SELECT * FROM lineitem WHERE l_orderkey = o_orderkey AND l_commitdate < l_receiptdate)
        GROUP BY o_orderpriority ORDER BY o_orderpriority""",
    "q5": """SELECT n_name, sum(l_extendedprice * (1 - l_discount)) AS revenue FROM customer,
        orders, lineitem, supplier, nation, region WHERE c_custkey = o_custkey
        AND l_orderkey = o_orderkey AND l_suppkey = s_suppkey AND c_nationkey = s_nationkey
        AND s_nationkey = n_nationkey AND n_regionkey = r_regionkey AND r_name = 'ASIA'
        AND o_orderdate >= '1994-01-01' AND o_orderdate < '1995-01-01'
        GROUP BY n_name ORDER BY revenue DESC""",
    "q6": """SELECT sum(l_extendedprice * l_discount) AS revenue FROM lineitem
        WHERE l_shipdate >= '1994-01-01' AND l_shipdate < '1995-01-01'
        AND l_discount BETWEEN 0.06 - 0.01 AND 0.06 + 0.01 AND l_quantity < 24""",
    "q10": """SELECT c_custkey, c_name, sum(l_extendedprice * (1 - l_discount)) AS revenue
        FROM customer, orders, lineitem, nation WHERE c_custkey = o_custkey
        AND l_orderkey = o_orderkey AND o_orderdate >= '1993-10-01'
        AND o_orderdate < '1994-01-01' AND l_returnflag = 'R' AND c_nationkey = n_nationkey
        GROUP BY c_custkey, c_name ORDER BY revenue DESC LIMIT 20""",
    "q12": """SELECT l_shipmode, sum(CASE WHEN o_orderpriority = '1-URGENT' THEN 1 ELSE 0 END)
        AS high_line_count FROM orders, lineitem WHERE o_orderkey = l_orderkey
        AND l_shipmode IN ('MAIL', 'SHIP') AND l_commitdate < l_receiptdate
        AND l_shipdate < l_commitdate AND l_receiptdate >= '1994-01-01'
        AND l_receiptdate < '1995-01-01' GROUP BY l_shipmode ORDER BY l_shipmode""",
    "q13": """SELECT c_count, count(*) AS custdist FROM (SELECT c_custkey, count(o_orderkey)
        AS c_count FROM customer LEFT OUTER JOIN orders ON c_custkey = o_custkey
        AND o_comment NOT LIKE '%special%requests%' GROUP BY c_custkey) AS c_orders
        GROUP BY c_count ORDER BY custdist DESC, c_count DESC""",
    "q15": """WITH revenue0 AS (SELECT l_suppkey AS supplier_no,
        sum(l_extendedprice * (1 - l_discount)) AS total_revenue FROM lineitem
        WHERE l_shipdate >= '1996-01-01' AND l_shipdate < '1996-04-01' GROUP BY l_suppkey)
        SELECT s_suppkey, s_name, total_revenue FROM supplier, revenue0
        WHERE s_suppkey = supplier_no AND total_revenue = (SELECT max(total_revenue)
        FROM revenue0) ORDER BY s_suppkey""",
    "q17": """SELECT sum(l_extendedprice) / 7.0 AS avg_yearly FROM lineitem, part
        WHERE p_partkey = l_partkey AND p_brand = 'Brand#23' AND p_container = 'MED BOX'
        AND l_quantity < (SELECT 0.2 * avg(l_quantity) FROM lineitem
        WHERE l_partkey = p_partkey)""",
    "q18": """SELECT c_name, c_custkey, o_orderkey, o_orderdate, o_totalprice, sum(l_quantity)
        FROM customer, orders, lineitem WHERE o_orderkey IN (SELECT l_orderkey FROM lineitem
        GROUP BY l_orderkey HAVING sum(l_quantity) > 300) AND c_custkey = o_custkey
        AND o_orderkey = l_orderkey GROUP BY c_name, c_custkey, o_orderkey, o_orderdate,
        o_totalprice ORDER BY o_totalprice DESC, o_orderdate LIMIT 100""",
    "q20": """SELECT s_name, s_address FROM supplier, nation WHERE s_suppkey IN (
        SELECT ps_suppkey FROM partsupp WHERE ps_partkey IN (SELECT p_partkey FROM part
        WHERE p_name LIKE 'forest%') AND ps_availqty > (SELECT 0.5 * sum(l_quantity)
        FROM lineitem WHERE l_partkey = ps_partkey AND l_suppkey = ps_suppkey
        AND l_shipdate >= '1994-01-01' AND l_shipdate < '1995-01-01'))
        AND s_nationkey = n_nationkey AND n_name = 'CANADA' ORDER BY s_name""",
    "q21": """SELECT s_name, count(*) AS numwait FROM supplier, lineitem l1, orders, nation
        WHERE s_suppkey = l1.l_suppkey AND o_orderkey = l1.l_orderkey AND o_orderstatus = 'F'
        AND l1.l_receiptdate > l1.l_commitdate AND EXISTS (SELECT * FROM lineitem l2
        WHERE l2.l_orderkey = l1.l_orderkey AND l2.l_suppkey <> l1.l_suppkey) AND NOT EXISTS (
        SELECT * FROM lineitem l3 WHERE l3.l_orderkey = l1.l_orderkey
        AND l3.l_suppkey <> l1.l_suppkey AND l3.l_receiptdate > l3.l_commitdate)
        AND s_nationkey = n_nationkey AND n_name = 'SAUDI ARABIA' GROUP BY s_name
        ORDER BY numwait DESC, s_name LIMIT 100""",
    "q22": """SELECT cntrycode, count(*) AS numcust FROM (SELECT substr(c_phone, 1, 2)
        AS cntrycode, c_acctbal FROM customer WHERE substr(c_phone, 1, 2) IN ('13', '31', '23')
        AND c_acctbal > (SELECT avg(c_acctbal) FROM customer WHERE c_acctbal > 0.00
        AND substr(c_phone, 1, 2) IN ('13', '31', '23')) AND NOT EXISTS (SELECT * FROM orders
        WHERE o_custkey = c_custkey)) AS custsale GROUP BY cntrycode ORDER BY cntrycode""",
}


def _load(ddl: str) -> Schema:
    dialect = get_dialect("sqlite")
    with dialect.engine().scratch() as url:
        dialect.engine().run_script(url, ddl)
        with dialect.engine().connect(url) as session:
            return dialect.introspect(session)


@pytest.fixture(scope="module")
def schema() -> Iterator[Schema]:
    yield _load(DDL)


@pytest.fixture(scope="module")
def tpch() -> Iterator[Schema]:
    yield _load(TPCH_DDL)


def _pred(table: str, column: str, op: str, **kw: object) -> Predicate:
    return Predicate(table=table, column=column, op=op, **kw)  # type: ignore[arg-type]


# --- fingerprints ---------------------------------------------------------------------------


def test_fingerprint_ignores_constants_layout_case_and_parameter_style() -> None:
    texts = [
        "SELECT * FROM events WHERE user_id = 5 AND kind IN ('a', 'b') LIMIT 10",
        "select *\n  from EVENTS -- who\n where USER_ID = 77 and kind in ('x') limit 3",
        "SELECT * FROM events WHERE user_id = ? AND kind IN (?, ?, ?) LIMIT ?",
        "SELECT * FROM events WHERE user_id = :uid AND kind IN (:k) LIMIT $1",
    ]
    assert len({fingerprint(t, "sqlite") for t in texts}) == 1
    other = fingerprint("SELECT * FROM events WHERE user_id > 5 LIMIT 10", "sqlite")
    assert other != fingerprint(texts[0], "sqlite")
    assert len(fingerprint(texts[0], "sqlite")) == 16


def test_fingerprint_refuses_what_does_not_parse() -> None:
    with pytest.raises(InputError, match="does not parse"):
        fingerprint("SELECT FROM WHERE (", "sqlite")
    with pytest.raises(InputError, match="several statements"):
        fingerprint("SELECT 1; SELECT 2", "sqlite")


# --- scopes ---------------------------------------------------------------------------------


def test_columns_resolve_through_aliases_ctes_derived_tables_and_subqueries(schema: Schema) -> None:
    sql = """
    WITH active AS (SELECT e.user_id AS uid, created_at FROM events e WHERE e.kind = 'Login')
    SELECT u."Name", a.created_at AS at, x.n
    FROM users u JOIN active a ON a.uid = u.id
    JOIN (SELECT user_id, count(*) AS n FROM events GROUP BY user_id) x ON x.user_id = u.id
    WHERE u.email = 'Ann@Example.org' AND x.user_id > 10 AND EXISTS (
      SELECT 1 FROM events e2 WHERE e2.user_id = u.id AND e2.payload IS NULL)
    ORDER BY at DESC, 1
    """
    got = shape(sql, schema, "sqlite")
    assert got.tables == ("events", "users")
    assert _pred("events", "kind", "eq", value="'Login'") in got.predicates
    assert _pred("users", "email", "eq", value="'Ann@Example.org'") in got.predicates
    assert _pred("events", "user_id", "range", value="10") in got.predicates  # through x
    assert _pred("events", "payload", "eq", value="NULL") in got.predicates
    join = JoinKey(
        left_table="events", left_column="user_id", right_table="users", right_column="id"
    )
    assert got.joins == (join,)  # the CTE, the derived table and the correlation all lead there
    assert got.order_by == (
        SortKey(table="events", column="created_at", descending=True),
        SortKey(table="users", column="Name"),
    )
    assert got.group_by == (SortKey(table="events", column="user_id"),)
    assert ("users", "Name") in got.reads and ("events", "created_at") in got.reads


def test_views_are_read_through_to_their_tables(schema: Schema) -> None:
    got = shape("SELECT uname FROM recent WHERE user_id = 3 AND uname = 'Zoë'", schema, "sqlite")
    assert got.tables == ("events", "users")
    assert _pred("users", "Name", "eq", value="'Zoë'") in got.predicates
    assert _pred("events", "created_at", "range", value="'2024-01-01'") in got.predicates
    assert table_aliases("SELECT * FROM recent r", schema, "sqlite") == {
        "e": "events",
        "u": "users",
    }


def test_literals_keep_their_exact_text(schema: Schema) -> None:
    sql = "SELECT id FROM users WHERE email = 'McDonald''s@X.Org' AND org_id = 1.50E3 AND id = -7"
    preds = {p.column: p.value for p in shape(sql, schema, "sqlite").predicates}
    assert preds == {"email": "'McDonald''s@X.Org'", "org_id": "1.50E3", "id": "-7"}
    # Parameter markers of other lengths before a literal do not shift what is sliced.
    sql = "SELECT id FROM users WHERE org_id = ?1234 AND id = :id AND email = 'MiXeD'"
    preds = {p.column: p.value for p in shape(sql, schema, "sqlite").predicates}
    assert preds == {"org_id": None, "id": None, "email": "'MiXeD'"}


def test_unknown_and_ambiguous_names_give_reasons(schema: Schema) -> None:
    cases = {
        "SELECT x FROM nowhere": "unknown table nowhere",
        "SELECT Nope FROM users": "unknown column Nope",
        "SELECT u.nope FROM users u": "unknown column u.nope",
        "SELECT z.id FROM users u": "unknown table or alias z",
        "SELECT id FROM users JOIN events ON users.id = events.user_id": (
            r"ambiguous column id \(in events, users\)"
        ),
        "CREATE TABLE t (a int)": "not a query",
    }
    for sql, reason in cases.items():
        with pytest.raises(InputError, match=reason):
            shape(sql, schema, "sqlite")
    # USING makes the shared column one column again.
    assert shape("SELECT id FROM users JOIN orgs USING (id)", schema, "sqlite").tables == (
        "orgs",
        "users",
    )


def test_writes(schema: Schema) -> None:
    update = shape("UPDATE events SET kind = 'x' WHERE user_id = ? AND id < 9", schema, "sqlite")
    assert update.writes == "events" and update.tables == ("events",)
    assert _pred("events", "user_id", "eq", parameter=True) in update.predicates
    delete = shape("DELETE FROM events WHERE kind IN (SELECT title FROM orgs)", schema, "sqlite")
    assert delete.writes == "events" and delete.tables == ("events", "orgs")
    insert = shape("INSERT INTO events (user_id, kind) VALUES (?, 'k')", schema, "sqlite")
    assert insert.writes == "events" and insert.predicates == ()
    with pytest.raises(InputError, match="unknown column nope"):
        shape("INSERT INTO events (nope) VALUES (1)", schema, "sqlite")


# --- findings -------------------------------------------------------------------------------


def test_static_findings(schema: Schema) -> None:
    got = shape(
        "SELECT * FROM wide WHERE c1 = 'a' ORDER BY c2 LIMIT 20 OFFSET 5000", schema, "sqlite"
    )
    assert sorted(f.rule for f in got.findings) == ["tune/deep-offset", "tune/select-star"]
    assert all(f.kind == "query" and f.object == "" for f in got.findings)
    assert got.limit == 20 and got.offset == 5000
    assert len([r for r in got.reads if r[0] == "wide"]) == 11  # the star, expanded

    sarg = shape(
        "SELECT id FROM users WHERE lower(email) = 'a@b.c' AND \"Name\" LIKE '%son'",
        schema,
        "sqlite",
    )
    rules = {f.rule: f for f in sarg.findings}
    assert "users_email" in rules["tune/non-sargable"].message
    assert "'%son'" in rules["tune/leading-wildcard"].message
    assert _pred("users", "LOWER(email)", "eq", expression=True, value="'a@b.c'") in sarg.predicates
    assert _pred("users", "Name", "like_infix", value="'%son'") in sarg.predicates

    clean = shape("SELECT id, email FROM users WHERE email LIKE 'ab%' LIMIT 5", schema, "sqlite")
    assert clean.findings == ()
    assert _pred("users", "email", "range", value="'ab%'") in clean.predicates


def test_key_columns_put_equalities_before_ranges_before_sorts(schema: Schema) -> None:
    got = shape(
        "SELECT * FROM events WHERE created_at > ? AND user_id = ? ORDER BY created_at DESC",
        schema,
        "sqlite",
    )
    assert key_columns(got, "events", sort=False) == ["user_id", "created_at"]
    assert key_columns(got, "events", sort=True) == ["user_id", "created_at", "created_at DESC"]


# --- parameters -----------------------------------------------------------------------------


def test_parameters_name_their_columns_and_spans(schema: Schema) -> None:
    sql = "SELECT * FROM events e WHERE e.user_id = ?2 AND kind IN (:k, @k2) LIMIT $3"
    params = parameters(sql, schema, "sqlite")
    assert [(p.text, p.role, p.table, p.column) for p in params] == [
        ("?2", "value", "events", "user_id"),
        (":k", "value", "events", "kind"),
        ("@k2", "value", "events", "kind"),
        ("$3", "limit", None, None),
    ]
    assert all(sql[p.start : p.end] == p.text for p in params)


def test_bind_takes_common_values_in_turn(schema: Schema) -> None:
    values = {("events", "kind"): ["'a'", "'b'"], ("events", "user_id"): ["42"]}

    def sample(table: str, column: str) -> list[str]:
        return values.get((table, column), [])

    sql = "SELECT * FROM events WHERE user_id = :u AND kind IN (?, ?) OR user_id = :u LIMIT ?"
    assert bind(sql, schema, "sqlite", sample) == (
        "SELECT * FROM events WHERE user_id = 42 AND kind IN ('a', 'b') OR user_id = 42 LIMIT 10"
    )
    with pytest.raises(InputError, match="holds no value"):
        bind("SELECT * FROM events WHERE payload = ?", schema, "sqlite", sample)
    with pytest.raises(InputError, match="not compared to a column"):
        bind("SELECT ? FROM events", schema, "sqlite", sample)


# --- TPC-H ----------------------------------------------------------------------------------


def test_tpch_queries_are_all_analysed(tpch: Schema) -> None:
    shapes = {name: shape(sql, tpch, "sqlite") for name, sql in TPCH.items()}
    q3 = shapes["q3"]
    assert q3.tables == ("customer", "lineitem", "orders")
    assert {(j.left_table, j.left_column, j.right_table, j.right_column) for j in q3.joins} == {
        ("customer", "c_custkey", "orders", "o_custkey"),
        ("lineitem", "l_orderkey", "orders", "o_orderkey"),
    }
    assert _pred("customer", "c_mktsegment", "eq", value="'BUILDING'") in q3.predicates
    assert q3.limit == 10
    q6 = {(p.column, p.op) for p in shapes["q6"].predicates}
    assert q6 == {("l_shipdate", "range"), ("l_discount", "range"), ("l_quantity", "range")}
    q17 = shapes["q17"].joins
    assert (
        JoinKey(
            left_table="lineitem",
            left_column="l_partkey",
            right_table="part",
            right_column="p_partkey",
        )
        in q17
    )  # the correlated subquery's key
    assert _pred("part", "p_type", "like_infix", value="'%BRASS'") in shapes["q2"].predicates
    q21 = shapes["q21"]
    assert ("lineitem", "l_suppkey", "lineitem", "l_suppkey") not in {
        (j.left_table, j.left_column, j.right_table, j.right_column) for j in q21.joins
    }  # l2.l_suppkey <> l1.l_suppkey is not a join key
    assert shapes["q22"].tables == ("customer", "orders")


def test_results_do_not_depend_on_the_hash_seed(tpch: Schema) -> None:
    """Two interpreters with different PYTHONHASHSEED give identical shapes and fingerprints,
    and the same as this one."""
    script = (
        "import json, sys\n"
        "from dbarchitect.dialects import get_dialect\n"
        "from dbarchitect.tune.sqlglot_shape import shape\n"
        "from dbarchitect.tune.sqlglot_text import fingerprint\n"
        "job = json.load(sys.stdin)\n"
        "d = get_dialect('sqlite')\n"
        "with d.engine().scratch() as url:\n"
        "    d.engine().run_script(url, job['ddl'])\n"
        "    s = d.introspect(d.engine().connect(url))\n"
        "print(json.dumps({n: [repr(shape(q, s, 'sqlite')), fingerprint(q, 'sqlite')]"
        " for n, q in job['queries'].items()}))\n"
    )
    job = json.dumps({"ddl": TPCH_DDL, "queries": TPCH})
    outputs = [json.loads(run_with_hash_seed(script, seed, stdin=job)) for seed in ("1", "4242")]
    assert outputs[0] == outputs[1]
    here = {n: [repr(shape(q, tpch, "sqlite")), fingerprint(q, "sqlite")] for n, q in TPCH.items()}
    assert outputs[0] == here
