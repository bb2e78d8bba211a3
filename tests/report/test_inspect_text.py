"""The text form of `dbarch inspect`: complete, deterministic, plain, and fit for big schemas."""

from __future__ import annotations

import dataclasses
import random
import time

from dbarchitect.model import Column, Schema, Table
from dbarchitect.report.inspect_text import render_text
from tests.report.sample import assert_snapshot, big_schema, sample_schema


def test_snapshot() -> None:
    assert_snapshot("sample.txt", render_text(sample_schema()))


def test_header_line_has_dialect_and_counts() -> None:
    first = render_text(sample_schema()).splitlines()[0]
    assert first == (
        "postgres schema: 2 schemas, 7 tables (1 partitioned, 2 partitions), 1 view, "
        "1 materialized view, 13 indexes, 4 foreign keys, 1 sequence, 4 functions, "
        "2 triggers, 2 policies, 3 enums/domains"
    )
    # The header stays one line however narrow the console.
    assert render_text(sample_schema(), width=40).splitlines()[0] == first


def test_every_object_kind_appears() -> None:
    text = render_text(sample_schema())
    expected = [
        "Table app.account",
        "identity always (start 1000, cache 10)",
        "default 'active'::app.account_status",
        "generated (lower(email)) stored",
        "collate und-x-icu",
        "-- login | contact address",
        "PK       account_pkey (id)",
        "FK       account_plan_id_fkey (plan_id) → public.plan (id) ON DELETE SET NULL",
        "UNIQUE   account_email_key (email)",
        "CHECK    account_email_check: (email ~~ '%@%'::text)",
        "INDEX    account_created_idx brin (created_at DESC NULLS LAST) INCLUDE (id)",
        "INDEX    account_lower_email_idx UNIQUE btree (lower(email)) WHERE",
        "TRIGGER  account_touch BEFORE INSERT OR UPDATE FOR EACH ROW → app.touch_updated_at()",
        "RLS      enabled, forced",
        "POLICY   account_insert FOR INSERT TO public RESTRICTIVE WITH CHECK",
        "POLICY   account_tenant FOR SELECT TO app_user, auditor USING",
        "EXCLUDE  plan_during_excl: EXCLUDE USING gist (during WITH &&)",
        "PARTITION   BY RANGE (paid_at)",
        "PARTITIONS  2: public.payment_2024_q1, public.payment_2024_q2",
        "Table public.payment_2024_q1 — partition of public.payment FOR VALUES FROM",
        "PK     payment_2024_q1_pkey (paid_at, id) (inherited)",
        "(partition of public.payment_account_idx)",
        "Unlogged table public.legacy|log",
        "INHERITS  public.base_log",
        "View app.active_account",
        "TRIGGER       active_account_insert INSTEAD OF INSERT FOR EACH ROW",
        "CHECK OPTION  LOCAL",
        "Materialized view public.revenue_by_month",
        "INDEX  revenue_by_month_idx UNIQUE btree (month)",
        "enum app.account_status: 'active', 'closed'",
        "domain public.year: integer NOT NULL CHECK year_check:",
        "composite public.money_amount: (amount numeric(12,2), currency character(3))",
        "range public.floatrange: subtype double precision, subtype_diff float8mi, multirange\n"
        "    floatmultirange",
        "USES   public.bıgınt, public.group_concat(text), public.payment",
        "public.payment_id_seq integer cache 5 owned by public.payment.id",
        "app.insert_account() → trigger  [plpgsql, volatile, SECURITY DEFINER",
        "public.archive_payments(IN before date)  [procedure, sql, volatile]",
        "public.group_concat(text) → text  [aggregate, internal, immutable, strict]",
        "pgcrypto 1.3 (schema public)",
        "collation app.ci: icu und-u-ks-level2 nondeterministic",
        "text search configuration app.simple_unaccent",
        "1 grant on 1 object",
        "1 default privilege",
    ]
    missing = [line for line in expected if line not in text]
    assert not missing


def test_deterministic_and_independent_of_input_order() -> None:
    schema = sample_schema()
    text = render_text(schema)
    assert render_text(schema) == text
    rnd = random.Random(7)
    tables = list(schema.tables)
    rnd.shuffle(tables)
    shuffled = dataclasses.replace(
        schema,
        tables=tuple(
            dataclasses.replace(t, indexes=t.indexes[::-1], policies=t.policies[::-1])
            for t in tables
        ),
        functions=schema.functions[::-1],
    )
    assert render_text(shuffled) == text


def test_plain_text_without_trailing_blanks_or_escapes() -> None:
    text = render_text(sample_schema())
    assert text.endswith("\n") and not text.endswith("\n\n")
    assert "\x1b" not in text
    assert all(line == line.rstrip() for line in text.splitlines())


def test_header_of_a_schemaless_engine() -> None:
    table = Table(schema="", name="t", columns=(Column(name="a", type="INTEGER"),))
    text = render_text(Schema(dialect="sqlite", tables=(table,)))
    assert text.splitlines()[0].startswith("sqlite schema: 1 table, 0 views,")
    assert "Table t\n  a  INTEGER  NULL\n" in text


def test_rich_markup_in_names_is_printed_literally() -> None:
    table = Table(
        schema="s",
        name="[bold]t[/bold]",
        columns=(Column(name=":smile:", type="integer[]", default="'{1,2}'::integer[]"),),
    )
    text = render_text(Schema(dialect="postgres", tables=(table,)))
    assert "Table s.[bold]t[/bold]" in text
    assert ":smile:  integer[]  NULL  default '{1,2}'::integer[]" in text


def test_long_cells_wrap_under_their_column() -> None:
    long_default = "(" + " || ".join(f"'part{i}'" for i in range(20)) + ")"
    table = Table(
        schema="s",
        name="t",
        columns=(
            Column(name="short", type="text"),
            Column(name="long", type="text", default=long_default),
        ),
    )
    lines = render_text(Schema(dialect="postgres", tables=(table,)), width=60).splitlines()
    assert all(len(line) <= 60 for line in lines[1:])
    first = next(i for i, line in enumerate(lines) if line.startswith("  long"))
    offset = lines[first].index("default")
    continuation = lines[first + 1]
    assert continuation[:offset].strip() == ""
    assert continuation[offset] != " "
    # Nothing is lost to wrapping.
    flat = "".join(line.strip() for line in lines)
    assert long_default.replace(" ", "") in flat.replace(" ", "")


def test_five_hundred_tables_stay_compact_and_fast() -> None:
    schema = big_schema(500)
    started = time.perf_counter()
    text = render_text(schema)
    elapsed = time.perf_counter() - started
    lines = text.splitlines()
    headings = [line for line in lines if line.startswith("Table ")]
    assert len(headings) == 500
    # Per table: heading, 8 columns, PK, FK, 2 indexes and a blank line; no box drawing.
    assert len(lines) <= 2 + 500 * 14
    assert not any(ch in text for ch in "┃━│─╭╮")
    assert elapsed < 10, f"rendering 500 tables took {elapsed:.1f} s"
