"""Lexical helpers over server-printed SQL: database qualifiers and CREATE_OPTIONS."""

from __future__ import annotations

from dbarchitect.dialects.mysql.sqltext import split_options, unqualify


def test_unqualify_drops_only_this_databases_qualifier_outside_literals() -> None:
    text = (
        "select `shop`.`t`.`a` AS `a`,'`shop`.`t`' AS `lit`,`other`.`u`.`b` AS `b`,"
        '`shop`.`f`(`shop`.`t`.`a`) AS `c`,`g`(1) AS `d`,"`shop`.x" AS `e` '
        "from (`shop`.`t` join `other`.`u`)"
    )
    out, refs = unqualify(text, "shop")
    assert out == (
        "select `t`.`a` AS `a`,'`shop`.`t`' AS `lit`,`other`.`u`.`b` AS `b`,"
        '`f`(`t`.`a`) AS `c`,`g`(1) AS `d`,"`shop`.x" AS `e` '
        "from (`t` join `other`.`u`)"
    )
    assert refs == {"t", "f", "g"}


def test_unqualify_handles_backticks_and_escapes_inside_names_and_strings() -> None:
    out, refs = unqualify("select `we``ird`.`x``y`.`c`, 'it\\'s `we``ird`.`z`'", "we`ird")
    assert out == "select `x``y`.`c`, 'it\\'s `we``ird`.`z`'"
    assert refs == {"x`y"}


def test_split_options() -> None:
    raw = "row_format=COMPRESSED partitioned `PAGE_COMPRESSED`='ON' key_block_size=8"
    assert split_options(raw) == [
        ("row_format", "COMPRESSED"),
        ("page_compressed", "'ON'"),
        ("key_block_size", "8"),
    ]
    assert split_options("") == []
