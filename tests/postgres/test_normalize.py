"""Printed expressions that do not parse back into the same tree: written so that they do."""

from __future__ import annotations

from dbarchitect.dialects import get_dialect
from dbarchitect.dialects.postgres.normalize import expression_key, stable
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.sources import introspect_url

SOURCE = """
CREATE TABLE kind (e varchar(20) CONSTRAINT known CHECK (e IN ('a', 'b')));
CREATE TABLE a (x int, y int);
CREATE TABLE b (x int);
CREATE VIEW both_ AS SELECT q.x, q.y FROM (SELECT x, y FROM a UNION ALL SELECT x, NULL FROM b) q;
"""


def test_printed_text_recreates_the_same_text(pg_url: DatabaseURL) -> None:
    dialect = get_dialect("postgres")
    dialect.engine().run_script(pg_url, SOURCE)
    schema = introspect_url(pg_url)
    kind = schema.table("public.kind")
    assert kind is not None
    check = kind.checks[0].expression
    view = schema.views[0].definition
    assert "::text[]" in check and "NULL::integer" in view
    with dialect.engine().scratch() as other:
        dialect.engine().run_script(other, dialect.render(schema))
        again = introspect_url(other)
    assert again == schema


def test_texts_printed_for_one_meaning_share_a_key() -> None:
    printed = "((e)::text = ANY ((ARRAY['a'::character varying, 'b'::character varying])::text[]))"
    reparsed = (
        "((e)::text = ANY (ARRAY[('a'::character varying)::text, ('b'::character varying)::text]))"
    )
    assert expression_key(printed) == expression_key(reparsed)
    assert expression_key("(x > 1)") != expression_key("(x > 2)")
    union = " SELECT b.x, NULL::integer FROM b UNION ALL SELECT 1, NULL::integer AS int4;"
    assert expression_key(union, query=True) == expression_key(
        union.replace(" AS int4", ""), query=True
    )
    assert stable("(x > 1)") == "(x > 1)"  # nothing to fix: sent as printed
