"""Review reports (text, json, github, markdown) and locating findings in SQL files."""

from __future__ import annotations

import json
import random
import re
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dbarchitect.errors import InputError
from dbarchitect.report.findings import (
    escape_data,
    escape_property,
    render_findings,
    summary_line,
)
from dbarchitect.report.markdown_syntax import github_slug
from dbarchitect.review import Finding, ReviewConfig, all_rules
from dbarchitect.review.locate import SqlIndex, index_files, locate
from dbarchitect.review.source import review_source
from tests.conftest import REALWORLD

PAGILA = REALWORLD / "pagila" / "pagila-schema.sql"
SAKILA = REALWORLD / "sakila-mysql" / "sakila-schema.sql"
MB_DUMP = REALWORLD / "musicbrainz" / "musicbrainz-schema.pg_dump.sql"
RULES = {r.id: r for r in all_rules()}


def _f(**kw: Any) -> Finding:
    base: dict[str, Any] = {
        "rule": "fk-without-index",
        "severity": "warning",
        "kind": "constraint",
        "object": "public.orders.orders_customer_id_fkey",
        "message": "foreign key orders_customer_id_fkey has no index",
        "rationale": "Deletes scan the child table.",
        "fix": "CREATE INDEX ON public.orders (customer_id);",
    }
    return Finding(**{**base, **kw})


SAMPLE = [
    _f(file="db/schema.sql", line=12),
    _f(object="public.lines.lines_order_id_fkey", fix=None),
    _f(rule="table-without-primary-key", severity="error", kind="table", object="public.log"),
    _f(rule="table-without-primary-key", severity="error", kind="table", object="public.audit"),
    _f(rule="example-advice", severity="info", kind="column", object="public.t.data", fix=None),
]


def _render(findings: list[Finding], fmt: str) -> str:
    return render_findings(findings, fmt, rules=RULES, source="db/schema.sql")


# --- text ---------------------------------------------------------------------------------


def test_text_groups_by_severity_then_rule_and_ends_with_counts() -> None:
    out = _render(SAMPLE, "text").splitlines()
    heads = [ln for ln in out if ln and not ln.startswith(" ")]
    assert heads == [
        "error table-without-primary-key public.audit: foreign key orders_customer_id_fkey "
        "has no index",
        "error table-without-primary-key public.log: foreign key orders_customer_id_fkey "
        "has no index",
        "warning fk-without-index public.lines.lines_order_id_fkey: foreign key "
        "orders_customer_id_fkey has no index",
        "warning fk-without-index public.orders.orders_customer_id_fkey: foreign key "
        "orders_customer_id_fkey has no index",
        "info example-advice public.t.data: foreign key orders_customer_id_fkey has no index",
        "2 errors, 2 warnings, 1 info",
    ]
    located = out.index(heads[3])
    assert out[located + 1] == "  at db/schema.sql:12"
    assert out[located + 2] == "  fix: CREATE INDEX ON public.orders (customer_id);"
    # One blank line closes each (severity, rule) group.
    assert out.count("") == 3


def test_text_summary_and_multiline_fix() -> None:
    assert _render([], "text") == "no findings\n"
    one = _f(severity="error", fix="BEGIN;\nALTER TABLE t ADD x int;\nCOMMIT;")
    out = _render([one], "text")
    assert "  fix: BEGIN;\n       ALTER TABLE t ADD x int;\n       COMMIT;\n" in out
    assert out.endswith("\n1 error, 0 warnings, 0 info\n")
    assert summary_line([_f(), _f(object="x")]) == "0 errors, 2 warnings, 0 info"


# --- json ---------------------------------------------------------------------------------


def test_json_is_complete_and_stable() -> None:
    shuffled = SAMPLE[:]
    random.Random(7).shuffle(shuffled)
    text = _render(SAMPLE, "json")
    assert _render(shuffled, "json") == text
    doc = json.loads(text)
    assert list(doc) == ["source", "summary", "findings"]
    assert doc["source"] == "db/schema.sql"
    assert doc["summary"] == {"error": 2, "warning": 2, "info": 1}
    first = doc["findings"][0]
    assert list(first) == [
        "rule",
        "severity",
        "kind",
        "object",
        "message",
        "rationale",
        "fix",
        "fingerprint",
        "file",
        "line",
    ]
    assert [f["object"] for f in doc["findings"]] == [
        "public.audit",
        "public.log",
        "public.lines.lines_order_id_fkey",
        "public.orders.orders_customer_id_fkey",
        "public.t.data",
    ]
    located = doc["findings"][3]
    assert (located["file"], located["line"]) == ("db/schema.sql", 12)
    assert located["fingerprint"] == SAMPLE[0].fingerprint
    assert doc["findings"][2]["fix"] is None and doc["findings"][2]["file"] is None
    assert json.loads(_render([], "json"))["findings"] == []


# --- github ---------------------------------------------------------------------------------


def test_github_escaping() -> None:
    assert escape_data("100% done\r\nnext") == "100%25 done%0D%0Anext"
    assert escape_data("a:b,c") == "a:b,c"
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"


def test_github_workflow_commands() -> None:
    odd = _f(
        severity="error",
        message="50% of rows: bad,\nreally",
        fix=None,
        file="db/a,b:c.sql",
        line=3,
    )
    out = _render([odd, SAMPLE[1], SAMPLE[4]], "github").splitlines()
    assert out == [
        "::error file=db/a%2Cb%3Ac.sql,line=3,title=fk-without-index::50%25 of rows: bad,%0Areally",
        "::warning title=fk-without-index::foreign key orders_customer_id_fkey has no index",
        "::notice title=example-advice::foreign key orders_customer_id_fkey has no index",
        "1 error, 1 warning, 1 info",
    ]
    with_fix = _render([SAMPLE[0]], "github").splitlines()[0]
    assert with_fix == (
        "::warning file=db/schema.sql,line=12,title=fk-without-index::foreign key "
        "orders_customer_id_fkey has no index%0AFix: CREATE INDEX ON public.orders (customer_id);"
    )


# --- markdown -------------------------------------------------------------------------------


def test_markdown_report_structure() -> None:
    fenced_fix = _f(object="public.x.x_fkey", fix="SELECT '```';")
    md = _render([*SAMPLE, fenced_fix], "markdown")
    lines = md.splitlines()
    assert lines[0] == "# dbarch review"
    assert "Source: `db/schema.sql`" in lines
    assert "| error | 2 |" in lines and "| warning | 3 |" in lines and "| info | 1 |" in lines
    headings = [ln[3:] for ln in lines if ln.startswith("## ")]
    assert headings == ["table-without-primary-key", "fk-without-index", "example-advice"]
    # Every link in the rule table resolves to a heading's GitHub anchor.
    anchors = {github_slug(h) for h in headings}
    links = re.findall(r"\]\(#([^)]+)\)", md)
    assert links and set(links) <= anchors and len(links) == 3
    fk = md[md.index("## fk-without-index") : md.index("## example-advice")]
    rule = RULES["fk-without-index"]
    assert f"**{rule.title}** · warning · keys" in fk
    assert "**Why.** " + rule.problem.split("\n")[0] in fk
    assert "**3 findings:**" in fk
    assert "- constraint `public.orders.orders_customer_id_fkey` (`db/schema.sql:12`):" in fk
    assert "  ```sql\n  CREATE INDEX ON public.orders (customer_id);\n  ```" in fk
    # A fix containing a fence gets a longer one, so the document's structure holds.
    assert "  ````sql\n  SELECT '```';\n  ````" in fk
    # A rule that is not in the registry still gets its section, with the finding's rationale.
    vague = md[md.index("## example-advice") :]
    assert "**Why.** Deletes scan the child table." in vague


def test_markdown_without_findings() -> None:
    assert _render([], "markdown") == "# dbarch review\n\nSource: `db/schema.sql`\n\nNo findings.\n"


def test_unknown_format_is_an_input_error() -> None:
    with pytest.raises(InputError, match="unknown report format 'xml'"):
        _render(SAMPLE, "xml")


# --- locate: real files ------------------------------------------------------------------------


def _line_of(path: Path, text: str) -> int:
    """The 1-based line where `text` starts a line: an oracle independent of the locator."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, ln in enumerate(lines, 1) if ln.startswith(text))


def test_locate_in_pagila() -> None:
    index = index_files([PAGILA])
    table = index.find("table", "public.payment_p2022_01")
    # The pg_dump comment "-- Name: payment_p2022_01; Type: TABLE" comes first: not a match.
    assert table == (str(PAGILA), _line_of(PAGILA, "CREATE TABLE public.payment_p2022_01 ("))
    idx = index.find("index", "public.payment_p2022_01.idx_fk_payment_p2022_01_customer_id")
    assert idx == (
        str(PAGILA),
        _line_of(PAGILA, "CREATE INDEX idx_fk_payment_p2022_01_customer_id ON"),
    )
    # An index of the same name on another table is not this one.
    assert index.find("index", "public.payment_p2022_02.idx_fk_payment_p2022_01_customer_id") == (
        str(PAGILA),
        _line_of(PAGILA, "CREATE TABLE public.payment_p2022_02 ("),
    )
    assert index.find("type", "public.bıgınt") == (
        str(PAGILA),
        _line_of(PAGILA, 'CREATE DOMAIN public."bıgınt"'),
    )
    column = index.find("column", "public.film.fulltext")
    assert column is not None and _text(column).strip().startswith("fulltext tsvector")
    fk = index.find("constraint", "public.payment_p2022_01.payment_p2022_01_customer_id_fkey")
    assert fk is not None and "ADD CONSTRAINT payment_p2022_01_customer_id_fkey" in _text(fk)


def test_locate_mysql_keys_triggers_and_delimiter_blocks() -> None:
    index = index_files([SAKILA])
    payment = index.find("index", "payment.idx_fk_customer_id")
    rental = index.find("index", "rental.idx_fk_customer_id")
    assert payment is not None and rental is not None and payment[1] < rental[1]
    assert (
        _text(payment).strip() == _text(rental).strip() == "KEY idx_fk_customer_id (customer_id),"
    )
    assert _text(payment, -1) != _text(rental, -1)
    for kind, obj, expected in [
        ("trigger", "film.upd_film", "CREATE TRIGGER `upd_film` AFTER UPDATE ON `film`"),
        ("function", "get_customer_balance", "CREATE FUNCTION get_customer_balance("),
        ("procedure", "film_in_stock", "CREATE PROCEDURE film_in_stock("),
        ("view", "customer_list", "CREATE VIEW customer_list"),
        ("index", "actor.PRIMARY", "  PRIMARY KEY  (actor_id),"),
        ("constraint", "payment.fk_payment_customer", "  CONSTRAINT fk_payment_customer"),
    ]:
        where = index.find(kind, obj)
        assert where is not None and _text(where).startswith(expected), (kind, obj, where)


def _text(where: tuple[str, int], offset: int = 0) -> str:
    return Path(where[0]).read_text(encoding="utf-8").splitlines()[where[1] - 1 + offset]


def test_locate_in_musicbrainz_pg_dump_is_fast_and_complete() -> None:
    start = time.perf_counter()
    index = index_files([MB_DUMP])
    elapsed = time.perf_counter() - start
    assert elapsed < 3.0, f"{elapsed:.2f}s to scan 1.1 MB"
    tables = [
        d
        for d in index
        if d.group == "relation" and _text((d.file, d.line)).startswith("CREATE TABLE")
    ]
    assert len(tables) == 519  # the manifest's count of tables in MusicBrainz
    for kind, obj, expected in [
        ("table", "musicbrainz.artist", "CREATE TABLE musicbrainz.artist ("),
        ("column", "musicbrainz.artist.gid", "    gid uuid NOT NULL,"),
        ("index", "musicbrainz.artist.artist_idx_gid", "CREATE UNIQUE INDEX artist_idx_gid ON"),
        ("index", "musicbrainz.artist.artist_pkey", "    ADD CONSTRAINT artist_pkey PRIMARY KEY"),
        ("constraint", "musicbrainz.artist.artist_fk_area", "    ADD CONSTRAINT artist_fk_area "),
        ("trigger", "musicbrainz.artist.a_ins_artist", "CREATE TRIGGER a_ins_artist "),
        ("function", "musicbrainz.a_ins_artist()", "CREATE FUNCTION musicbrainz.a_ins_artist()"),
        ("type", "musicbrainz.fluency", "CREATE TYPE musicbrainz.fluency AS ENUM"),
        ("schema", "documentation", "CREATE SCHEMA documentation;"),
        ("extension", "cube", "CREATE EXTENSION IF NOT EXISTS cube"),
        # After a line with `#>>` (a PostgreSQL operator, not a MySQL comment).
        ("index", "musicbrainz.edit_event.edit_event_idx", "CREATE INDEX edit_event_idx ON"),
    ]:
        where = index.find(kind, obj)
        assert where is not None and _text(where).startswith(expected), (kind, obj, where)
    assert index.find("table", "public.artist") is None  # the right name in the wrong schema


TRICKY = """\
\\set ON_ERROR_STOP 1
-- CREATE TABLE orders (id int);   orders in a comment
/* CREATE TABLE orders (
   /* nested */ CREATE INDEX orders_customer_idx ON orders (customer_id); */
CREATE TABLE customer (id bigint PRIMARY KEY);
CREATE TABLE audit (id bigint PRIMARY KEY, what text);
COPY audit (id, what) FROM stdin;
1	CREATE TABLE orders (customer_id int);
\\.
INSERT INTO audit VALUES (2, 'CREATE TABLE orders (customer_id bigint);');
INSERT INTO audit VALUES (3, E'it\\'s CREATE TABLE orders (customer_id int); isn''t it');
COMMENT ON TABLE audit IS 'CREATE INDEX orders_customer_idx ON orders (customer_id)';
CREATE FUNCTION make() RETURNS text LANGUAGE sql
    AS $body$ SELECT 'CREATE TABLE orders (customer_id int)' $body$;
CREATE TABLE "Orders" (customer_id bigint);
CREATE TABLE orders (
    id bigint PRIMARY KEY,
    -- customer_id bigint,  a column in a comment
    note text DEFAULT 'customer_id bigint',
    customer_id bigint REFERENCES customer
);
"""


def test_locate_does_not_match_inside_comments_strings_or_copy_data(tmp_path: Path) -> None:
    sql = tmp_path / "tricky.sql"
    sql.write_text(TRICKY, encoding="utf-8")
    rel_line = _line_of(sql, "CREATE TABLE orders (")
    col_line = _line_of(sql, "    customer_id bigint REFERENCES customer")
    # A real review of the file: the findings come from the engine, not from the text.
    config = ReviewConfig(only=frozenset({"fk-without-index", "table-without-primary-key"}))
    _, findings = review_source([str(sql)], config)
    located = {(f.rule, f.object): (f.file, f.line) for f in locate(findings, [sql])}
    assert located == {
        ("fk-without-index", "public.orders.orders_customer_id_fkey"): (str(sql), col_line),
        ("table-without-primary-key", "public.Orders"): (
            str(sql),
            _line_of(sql, 'CREATE TABLE "Orders"'),
        ),
    }
    index = index_files([sql])
    assert index.find("table", "public.orders") == (str(sql), rel_line)
    assert index.find("column", "public.orders.note") == (str(sql), rel_line + 3)
    # Only comments and strings create this index: no definition; a finding on it would be
    # placed on its table's line.
    assert index.definitions("index", "orders_customer_idx") == []
    assert index.find("index", "public.orders.orders_customer_idx") == (str(sql), rel_line)
    assert [d.line for d in index if d.name.text.lower() == "orders"] == [
        _line_of(sql, 'CREATE TABLE "Orders"'),
        rel_line,
    ]
    assert index.find("function", "public.make()") == (str(sql), _line_of(sql, "CREATE FUNCTION"))


def test_locate_names_schemas_and_load_order(tmp_path: Path) -> None:
    first = tmp_path / "001.sql"
    first.write_text(
        "SET search_path = app, public;\n"
        "CREATE TABLE Events (id int);\n"
        'CREATE POLICY "Members can read their own events and those of their team" ON events\n'
        "    USING (true);\n"
        "CREATE TABLE sales.events (id int);\n",
        encoding="utf-8",
    )
    second = tmp_path / "002.sql"
    second.write_text(
        "DROP TABLE app.events;\n\nCREATE TABLE app.events (id bigint);\n",
        encoding="utf-8",
    )
    index = index_files([first, second])
    # Unquoted names ignore case; the last definition is the one that shaped the schema.
    assert index.find("table", "app.events") == (str(second), 3)
    assert index.find("table", "sales.events") == (str(first), 5)
    assert index.find("table", "public.events") is None
    # PostgreSQL cut the policy's name to 63 bytes.
    long_name = "Members can read their own events and those of their team"
    cut = long_name.encode()[:63].decode()
    assert index.find("policy", f"app.events.{cut}") == (str(first), 3)
    only_first = index_files([first])
    assert only_first.find("table", "app.events") == (str(first), 2)


def test_locate_keeps_given_locations_and_leaves_unknown_objects(tmp_path: Path) -> None:
    sql = tmp_path / "s.sql"
    sql.write_text("CREATE TABLE t (id int);\n", encoding="utf-8")
    given = _f(kind="table", object="public.t", file="elsewhere.sql", line=9)
    database = _f(kind="database", object="database")
    missing = _f(kind="table", object="public.nowhere")
    found = _f(kind="table", object="public.t")
    out = locate([given, database, missing, found], [sql])
    assert [(f.file, f.line) for f in out] == [
        ("elsewhere.sql", 9),
        (None, None),
        (None, None),
        (str(sql), 1),
    ]


_PIECES = [
    "CREATE",
    "TABLE",
    "INDEX",
    "ON",
    "ALTER",
    "ADD",
    "CONSTRAINT",
    "POLICY",
    "TRIGGER",
    "KEY",
    "PRIMARY",
    "UNIQUE",
    "IF",
    "NOT",
    "EXISTS",
    "COPY",
    "FROM",
    "stdin",
    "SET",
    "search_path",
    "DELIMITER",
    "(",
    ")",
    ",",
    ";",
    ".",
    "=",
    '"',
    "'",
    "E'",
    "`",
    "[",
    "]",
    "$$",
    "$a$",
    "/*",
    "*/",
    "--",
    "#",
    "\\",
    "\n",
    " ",
    "t",
    "public",
    "ENGINE=InnoDB",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_PIECES) | st.text(max_size=5), max_size=80))
def test_locate_survives_any_text(pieces: list[str]) -> None:
    text = " ".join(pieces)
    index = SqlIndex()
    index.add_text(text, "f.sql")
    lines = text.count("\n") + 1
    for d in index:
        assert 1 <= d.line <= lines
        name = d.name.text
        if d.group == "relation":
            assert index.find("table", name) is not None
        index.find("index", f"public.{name}.{name}")
        index.find("column", name)
