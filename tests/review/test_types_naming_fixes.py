"""The fixes of the type and naming rules run on the real engines and do what they say;
the pure helpers behind the rules classify names and types as documented."""

from __future__ import annotations

from typing import Any

import pytest

from dbarchitect.dialects import get_dialect
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.errors import InputError
from dbarchitect.review import ReviewConfig
from dbarchitect.review.finding import Finding
from dbarchitect.review.rules.naming import snake_case
from dbarchitect.review.rules.naming_style import number_of
from dbarchitect.review.rules.types_common import key_like, money_like, nextval_sequence
from dbarchitect.review.rules.types_engines import affinity_surprise
from dbarchitect.review.source import review_url


def _findings(url: DatabaseURL, *rules: str, **config: Any) -> list[Finding]:
    _, found = review_url(url, ReviewConfig(only=frozenset(rules), **config))
    return found


def _apply(engine: str, url: DatabaseURL, findings: list[Finding]) -> None:
    eng = get_dialect(engine).engine()
    # A session time zone far from UTC: a fix that leaned on it would shift timestamps.
    prefix = "SET TimeZone = 'Asia/Tokyo'; " if engine == "postgres" else ""
    for f in findings:
        assert f.fix, f"{f.rule} {f.object} has no fix"
        eng.run_script(url, prefix + f.fix, where=f"fix of {f.rule} {f.object}")


def _rows(engine: str, url: DatabaseURL, sql: str) -> list[dict[str, Any]]:
    with get_dialect(engine).engine().connect(url, read_only=False) as s:
        return s.fetch(sql)


def test_serial_fix_keeps_the_counter(pg_url: DatabaseURL) -> None:
    eng = get_dialect("postgres").engine()
    eng.run_script(
        pg_url,
        """
        CREATE TABLE "Audit Log" (id serial PRIMARY KEY, note text);
        INSERT INTO "Audit Log" (note) VALUES ('a'), ('b');
        SELECT setval('"Audit Log_id_seq"', 41);
        CREATE SEQUENCE loose_seq OWNED BY NONE;
        CREATE TABLE item (n integer DEFAULT nextval('loose_seq'), label text);
        ALTER SEQUENCE loose_seq OWNED BY item.n;
        """,
    )
    found = _findings(pg_url, "serial-instead-of-identity")
    assert {f.object for f in found} == {"public.Audit Log.id", "public.item.n"}
    _apply("postgres", pg_url, found)
    eng.run_script(
        pg_url,
        """INSERT INTO "Audit Log" (note) VALUES ('c'); INSERT INTO item (label) VALUES ('x');""",
    )
    assert _rows("postgres", pg_url, 'SELECT max(id) AS m FROM "Audit Log"') == [{"m": 42}]
    # A never-used sequence (is_called false) hands out its start value next.
    assert _rows("postgres", pg_url, "SELECT n FROM item") == [{"n": 1}]
    ident = _rows(
        "postgres",
        pg_url,
        "SELECT attrelid::regclass::text AS t, attidentity AS i, attnotnull AS nn "
        "FROM pg_attribute WHERE attname IN ('id', 'n') AND attrelid IN "
        "('\"Audit Log\"'::regclass, 'item'::regclass) ORDER BY 1",
    )
    assert ident == [
        {"t": '"Audit Log"', "i": "d", "nn": True},
        {"t": "item", "i": "d", "nn": True},
    ]
    left = _rows("postgres", pg_url, "SELECT relname FROM pg_class WHERE relkind = 'S' ORDER BY 1")
    assert [r["relname"] for r in left] == ["Audit Log_id_seq1", "item_n_seq"]
    assert _findings(pg_url, "serial-instead-of-identity") == []


def test_postgres_type_fixes(pg_url: DatabaseURL) -> None:
    eng = get_dialect("postgres").engine()
    eng.run_script(
        pg_url,
        """
        CREATE TABLE t (id bigint PRIMARY KEY, at timestamp(3), code char(3) DEFAULT 'X',
                        price money, doc json, "Total Cost" real);
        INSERT INTO t VALUES (1, '2024-01-01 12:00', 'ab', 12.5, '{"a": 1}', 0.1);
        """,
    )
    rules = ("timestamp-without-time-zone", "char-n-type", "money-type", "json-instead-of-jsonb")
    found = _findings(pg_url, *rules, "float-for-money")
    assert len(found) == 5
    _apply("postgres", pg_url, found)
    types = _rows(
        "postgres",
        pg_url,
        "SELECT attname AS c, format_type(atttypid, atttypmod) AS t FROM pg_attribute "
        "WHERE attrelid = 't'::regclass AND attnum > 1 ORDER BY attnum",
    )
    assert [r["t"] for r in types] == [
        "timestamp(3) with time zone",
        "character varying(3)",
        "numeric(19,4)",
        "jsonb",
        "numeric(19,4)",
    ]
    row = _rows(
        "postgres",
        pg_url,
        "SELECT (at AT TIME ZONE 'UTC')::text AS at, code || '|' AS code, price::text AS price, "
        '"Total Cost"::text AS cost FROM t',
    )
    # The stored wall-clock time was read as UTC; the char padding is gone.
    assert row == [
        {"at": "2024-01-01 12:00:00", "code": "ab|", "price": "12.5000", "cost": "0.1000"}
    ]
    eng.run_script(pg_url, "INSERT INTO t (id) VALUES (2);")  # the bpchar default still works
    assert _findings(pg_url, *rules) == []


def test_integer_primary_key_fix_widens_references(pg_url: DatabaseURL) -> None:
    eng = get_dialect("postgres").engine()
    eng.run_script(
        pg_url,
        """
        CREATE TABLE event (id serial PRIMARY KEY);
        CREATE TABLE tag (event_id integer REFERENCES event, name text,
                          PRIMARY KEY (event_id, name));
        """,
    )
    found = _findings(pg_url, "integer-primary-key")
    assert [f.object for f in found] == ["public.event.id"]
    _apply("postgres", pg_url, found)
    rows = _rows(
        "postgres",
        pg_url,
        "SELECT format_type(atttypid, NULL) AS t FROM pg_attribute WHERE attname IN "
        "('id', 'event_id') AND attrelid IN ('event'::regclass, 'tag'::regclass) "
        "UNION ALL SELECT format_type(seqtypid, NULL) FROM pg_sequence",
    )
    assert [r["t"] for r in rows] == ["bigint", "bigint", "bigint"]


def test_mysql_fixes(mysql_url: DatabaseURL) -> None:
    eng = get_dialect("mysql").engine()
    eng.run_script(
        mysql_url,
        """
        SET SESSION sql_mode = '';
        CREATE TABLE artist (id int NOT NULL AUTO_INCREMENT PRIMARY KEY,
            name NVARCHAR(120) NOT NULL DEFAULT 'anon' COMMENT 'display name',
            fee double NOT NULL DEFAULT 0 COMMENT 'per show',
            seen datetime NOT NULL DEFAULT '0000-00-00 00:00:00'
        ) ENGINE=MyISAM CHARACTER SET latin1;
        INSERT INTO artist (name, fee) VALUES ('A', 1.5);
        CREATE TABLE album (id int PRIMARY KEY, title varchar(50)) CHARACTER SET utf8mb3;
        """,
    )
    rules = (
        "mysql-utf8mb3-charset",
        "mysql-myisam-engine",
        "mysql-zero-date",
        "float-for-money",
        "integer-primary-key",
    )
    found = _findings(mysql_url, *rules)
    assert {(f.rule, f.object) for f in found} == {
        ("mysql-utf8mb3-charset", "artist"),
        ("mysql-utf8mb3-charset", "album"),
        ("mysql-myisam-engine", "artist"),
        ("mysql-zero-date", "artist.seen"),
        ("float-for-money", "artist.fee"),
        ("integer-primary-key", "artist.id"),
        ("integer-primary-key", "album.id"),
    }
    _apply("mysql", mysql_url, found)
    assert _findings(mysql_url, *rules) == []
    cols = _rows(
        "mysql",
        mysql_url,
        "SELECT COLUMN_NAME AS c, COLUMN_TYPE AS t, IS_NULLABLE AS n, COLUMN_DEFAULT AS d, "
        "COLUMN_COMMENT AS m, EXTRA AS x, CHARACTER_SET_NAME AS cs FROM information_schema.COLUMNS "
        "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'artist' ORDER BY ORDINAL_POSITION",
    )
    by = {r["c"]: r for r in cols}
    # MODIFY kept what the rule did not mean to change: NOT NULL, defaults, comments.
    assert (by["name"]["cs"], by["name"]["n"], by["name"]["m"]) == ("utf8mb4", "NO", "display name")
    assert (by["fee"]["t"], by["fee"]["n"], by["fee"]["m"]) == ("decimal(19,4)", "NO", "per show")
    assert (by["id"]["t"], by["id"]["x"]) == ("bigint(20)", "auto_increment")
    assert by["seen"]["n"] == "YES"
    row = _rows("mysql", mysql_url, "SELECT seen, fee FROM artist")
    assert [(r["seen"], float(r["fee"])) for r in row] == [(None, 1.5)]


@pytest.mark.parametrize("engine", ["postgres", "sqlite", "mysql"])
def test_rename_fixes(engine: str) -> None:
    eng = get_dialect(engine).engine()
    q = get_dialect(engine).quote
    with eng.scratch() as url:
        eng.run_script(
            url,
            f"CREATE TABLE {q('Order Items')} (id int PRIMARY KEY, {q('Unit-Price')} int, "
            f"{q('CustomerId')} int);",
        )
        rules = ["identifier-needs-quoting"] + (
            ["mixed-case-identifier"] if engine == "postgres" else []
        )
        found = _findings(url, *rules)
        fixed = [f for f in found if f.kind in ("table", "column")]
        # Columns first: their fixes name the table as it is still called.
        _apply(engine, url, sorted(fixed, key=lambda f: f.kind != "column"))
        schema, _ = review_url(url, ReviewConfig(only=frozenset(rules)))
        table = schema.tables[0]
        expected_cols = [
            "id",
            "unit_price",
            "customer_id" if engine == "postgres" else "CustomerId",
        ]
        assert (table.name, [c.name for c in table.columns]) == ("order_items", expected_cols)


def test_unknown_placeholder_is_an_input_error(pg_url: DatabaseURL) -> None:
    get_dialect("postgres").engine().run_script(
        pg_url, "CREATE TABLE t (a int); CREATE INDEX i ON t (a);"
    )
    with pytest.raises(InputError, match=r"review.naming.index: unknown placeholder \{tabel\}"):
        _findings(pg_url, "index-naming-convention", naming={"index": "{tabel}_idx"})


@pytest.mark.parametrize(
    ("declared", "surprise"),
    [
        ("FLOATING POINT", True),
        ("POINT", True),
        ("INTERVAL", True),
        ("STRING", True),
        ("ENUM('a','b')", True),
        ("INTEGER", False),
        ("BIGINT UNSIGNED", False),
        ("INT(11)", False),
        ("INT8", False),
        ("UNSIGNED BIG INT", False),
        ("DATETIME", False),
        ("BOOLEAN", False),
        ("DECIMAL(10,2)", False),
        ("JSON", False),
        ("NVARCHAR(40)", False),
        ("DOUBLE PRECISION", False),
        ("", False),
    ],
)
def test_affinity_surprise(declared: str, surprise: bool) -> None:
    assert (affinity_surprise(declared) is not None) is surprise


def test_name_classifiers() -> None:
    assert [money_like(n) for n in ("UnitPrice", "tax_amount", "tax_rate", "priceCount")] == [
        True,
        True,
        False,
        False,
    ]
    assert [money_like(n) for n in ("totalweight", "paid_at", "prices", "costume")] == [
        False,
        True,
        True,
        False,
    ]
    assert [key_like(n) for n in ("customer_id", "CustomerId", "customerID", "paid", "id")] == [
        True,
        True,
        True,
        False,
        False,
    ]
    words = ("orders", "status", "address", "categories", "data", "people", "analysis", "alias")
    assert [number_of(w) for w in words] == [
        "plural",
        "singular",
        "singular",
        "plural",
        None,
        "plural",
        "singular",
        "singular",
    ]
    assert [snake_case(n) for n in ("CustomerId", "Order Items", "HTTPCode", "2nd-choice")] == [
        "customer_id",
        "order_items",
        "http_code",
        "_2nd_choice",
    ]
    assert nextval_sequence("""nextval('public."Audit Log_id_seq"'::regclass)""") == (
        "public",
        "Audit Log_id_seq",
    )
    assert nextval_sequence("nextval('Seq'::regclass)") == ("", "seq")
    assert nextval_sequence("42") is None


def test_mysql_schema_wide_findings_are_reported_once(mysql_url: DatabaseURL) -> None:
    eng = get_dialect("mysql").engine()
    tables = " ".join(
        f"CREATE TABLE t{i} (id int PRIMARY KEY, name varchar(20) NOT NULL) ENGINE=MyISAM;"
        for i in range(4)
    )
    eng.run_script(
        mysql_url,
        "ALTER DATABASE CHARACTER SET utf8mb3 COLLATE utf8mb3_unicode_ci; "
        + tables
        + " CREATE TABLE ok (id int PRIMARY KEY) ENGINE=InnoDB CHARACTER SET utf8mb4;",
    )
    rules = ("mysql-utf8mb3-charset", "mysql-myisam-engine")
    found = _findings(mysql_url, *rules)
    assert sorted((f.rule, f.kind, f.object) for f in found) == [
        ("mysql-myisam-engine", "database", "database"),
        ("mysql-utf8mb3-charset", "database", "database"),
    ]
    assert all(f.message.startswith("4 of 5 tables") for f in found)
    _apply("mysql", mysql_url, found)
    assert _findings(mysql_url, *rules) == []
    row = _rows("mysql", mysql_url, "SELECT @@collation_database AS c")
    assert row == [{"c": "utf8mb4_unicode_ci"}]
