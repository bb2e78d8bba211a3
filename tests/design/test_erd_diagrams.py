"""ERDs of real schemas: Mermaid source that follows the erDiagram grammar, Graphviz DOT that
`dot` draws into SVG with one node per table and one edge per foreign key."""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from dbarchitect.codegen import erd
from dbarchitect.model import Schema
from dbarchitect.sources import load_schema
from tests.conftest import ROOT, realworld_schema

SVG = "{http://www.w3.org/2000/svg}"

# Names Mermaid's lexer would misread (keywords, a leading digit, punctuation, case
# collisions), a self-reference, a one-to-one key and an optional key: SQLite takes them all.
ODD_SQLITE = """
CREATE TABLE "to" (id INTEGER PRIMARY KEY, "pk" TEXT, "class" TEXT UNIQUE);
CREATE TABLE "1st table" (
    id INTEGER PRIMARY KEY,
    "end" INTEGER NOT NULL REFERENCES "to"(id),
    amount NUMERIC(10,2),
    "we""ird <&> name" TEXT
);
CREATE TABLE "order-items" (
    id INTEGER PRIMARY KEY,
    parent_id INTEGER REFERENCES "order-items"(id),
    first_id INTEGER UNIQUE REFERENCES "1st table"(id)
);
CREATE TABLE "Order_Items" (id INTEGER PRIMARY KEY, "UK" TEXT);
"""

ENTITY = re.compile(r"^    ([A-Za-z_][A-Za-z0-9_]*) \{$")
ATTRIBUTE = re.compile(
    r"^        [A-Za-z_][A-Za-z0-9_()\[\]-]* [A-Za-z_][A-Za-z0-9_]*"
    r'( (PK|FK|UK)(, (PK|FK|UK))*)?( "[^"\n]*")?$'
)
NAME = r"([A-Za-z_][A-Za-z0-9_]*)"
RELATION = re.compile(rf'^    {NAME} (\|\||\|o)(--|\.\.)(o\||o\{{) {NAME} : "([^"]*)"$')


Edge = tuple[str, str, str, str, str, str]  # parent, left end, line, right end, child, label


def _parse_mermaid(text: str) -> tuple[list[str], list[Edge]]:
    """Check every line against the erDiagram subset we write; return entities and edges."""
    lines = text.rstrip("\n").split("\n")
    assert lines[0] == "erDiagram"
    entities: list[str] = []
    relations: list[Edge] = []
    in_block = False
    for line in lines[1:]:
        if in_block:
            if line == "    }":
                in_block = False
            else:
                assert ATTRIBUTE.match(line), f"attribute line Mermaid would reject: {line!r}"
        elif m := ENTITY.match(line):
            entities.append(m.group(1))
            in_block = True
        elif m := RELATION.match(line):
            parent, left, line_, right, child, label = m.groups()
            relations.append((parent, left, line_, right, child, label))
        else:
            assert line.startswith("    %% "), f"unexpected line: {line!r}"
    return entities, relations


def _svg_of(dot_text: str) -> ET.Element:
    done = subprocess.run(
        ["dot", "-Tsvg"], input=dot_text.encode(), capture_output=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr.decode()
    return ET.fromstring(done.stdout)


def _check_drawing(schema: Schema) -> ET.Element:
    """dot's SVG is XML with one node per diagram table, one edge per relationship, and
    every table's name drawn in its node."""
    root = _svg_of(erd.dot(schema))
    nodes = [g for g in root.iter(f"{SVG}g") if g.get("class") == "node"]
    edges = [g for g in root.iter(f"{SVG}g") if g.get("class") == "edge"]
    tables = erd.entities(schema)
    assert len(nodes) == len(tables)
    assert len(edges) == len(erd.relationships(schema))
    ids = erd.svg_ids(tables)
    by_id = {node.get("id"): node for node in nodes}
    for table in tables:
        drawn = " ".join(t.text or "" for t in by_id[ids[table.qualified]].iter(f"{SVG}text"))
        assert table.qualified in drawn
    return root


@pytest.fixture(scope="module")
def odd(tmp_path_factory: pytest.TempPathFactory) -> Schema:
    path = tmp_path_factory.mktemp("erd") / "odd.sql"
    path.write_text(ODD_SQLITE, encoding="utf-8")
    return load_schema([str(path)], dialect="sqlite")


def test_mermaid_sanitizes_names_mermaid_rejects(odd: Schema) -> None:
    text = erd.mermaid(odd)
    entities, relations = _parse_mermaid(text)
    names = erd.mermaid_names(odd)
    assert sorted(entities) == sorted(names.values())
    assert len({e.lower() for e in entities}) == len(entities)  # the lexer is case-blind
    assert names["to"] == "to_" and names["1st table"] == "_1st_table"
    assert (names["Order_Items"], names["order-items"]) == ("Order_Items", "order_items_2")
    # Keys become attribute names that are not PK/FK/UK keywords.
    assert "        TEXT pk_" in text and "        TEXT class_ UK" in text
    assert "        NUMERIC(10_2) amount" in text
    for table in odd.tables:  # every renamed table is named in a comment
        if names[table.qualified] != table.name:
            assert f"%% {names[table.qualified]} is {table.name}" in text
    by_label = {r[5]: r for r in relations}
    items = names["order-items"]
    # Self-reference, nullable: zero-or-one parent, many children, non-identifying.
    assert by_label["parent_id"] == (items, "|o", "..", "o{", items, "parent_id")
    # A unique referencing column: one-to-one (zero or one child per parent).
    assert by_label["first_id"][1:4] == ("|o", "..", "o|")
    # NOT NULL reference: exactly one parent.
    assert by_label["end"] == ("to_", "||", "..", "o{", "_1st_table", "end")


def test_dot_escapes_and_draws_odd_names(odd: Schema) -> None:
    root = _check_drawing(odd)
    texts = [t.text or "" for t in root.iter(f"{SVG}text")]
    assert any('we"ird <&> name' in t for t in texts)


def test_shop_erd_cardinality_and_identifying_keys() -> None:
    schema = load_schema([str(ROOT / "examples" / "shop.sql")])
    entities, relations = _parse_mermaid(erd.mermaid(schema))
    assert sorted(entities) == ["customer", "order", "order_item", "product"]
    assert set(relations) == {
        ("customer", "||", "..", "o{", "order", "customer_id"),
        # order_item's key contains order_id: an identifying, solid line.
        ("order", "||", "--", "o{", "order_item", "order_id"),
        ("product", "||", "..", "o{", "order_item", "product_id"),
    }
    assert "        bigint order_id PK, FK" in erd.mermaid(schema)
    _check_drawing(schema)


def test_pagila_partitions_are_drawn_as_their_parent() -> None:
    schema = realworld_schema("pagila")
    entities, relations = _parse_mermaid(erd.mermaid(schema))
    parents = [t for t in schema.tables if t.partition_of is None]
    assert len(entities) == len(parents) == 15
    assert not any(e.startswith("payment_p") for e in entities)
    # Pagila declares payment's foreign keys on each partition: drawn once, on payment.
    into_payment = sorted(r[0] for r in relations if r[4] == "payment")
    assert into_payment == ["customer", "rental", "staff"]
    # film.original_language_id is nullable: an optional parent.
    assert ("language", "|o", "..", "o{", "film", "original_language_id") in relations
    # Every foreign key between two diagram tables is an edge.
    declared = {
        (t.name if t.partition_of is None else "payment", fk.columns, fk.ref_table)
        for t in schema.tables
        for fk in t.foreign_keys
    }
    drawn = {(r[4], tuple(r[5].split(", ")), r[0]) for r in relations}
    assert drawn == declared
    root = _check_drawing(schema)
    titles = [t.text for t in root.iter(f"{SVG}text")]
    assert "public.payment (range partitioned)" in titles


@pytest.mark.parametrize("name", ["chinook-sqlite", "sakila-mysql"])
def test_other_engines_draw_every_table_and_key(name: str) -> None:
    schema = realworld_schema(name)
    entities, relations = _parse_mermaid(erd.mermaid(schema))
    assert len(entities) == len(schema.tables)
    assert len(relations) == sum(len(t.foreign_keys) for t in schema.tables)
    _check_drawing(schema)


def test_svg_is_inline_ready_and_none_without_graphviz(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    schema = realworld_schema("chinook-sqlite")
    drawn = erd.svg(schema, link=lambda t: f"database-design.html#table-{t.name.lower()}")
    assert drawn is not None and drawn.startswith("<svg")
    root = ET.fromstring(drawn)
    links = [a.get("{http://www.w3.org/1999/xlink}href") for a in root.iter(f"{SVG}a")]
    assert "database-design.html#table-album" in links
    assert erd.svg(schema, timeout=0.000001) is None  # too slow: no picture, no error
    assert shutil.which("dot") is not None
    monkeypatch.setenv("PATH", str(tmp_path))  # a machine without Graphviz
    assert erd.svg(schema) is None
