"""Introspection and DDL of every MariaDB object kind (tests/fixtures/mysql/rich.sql)."""

from __future__ import annotations

import pytest

from dbarchitect.dialects import get_dialect
from dbarchitect.model import (
    CheckConstraint,
    ForeignKey,
    Identity,
    IndexKey,
    Partitioning,
    Schema,
    Table,
    to_json,
)
from dbarchitect.sources import introspect_url, load_schema
from tests.conftest import FIXTURES

RICH = FIXTURES / "mysql" / "rich.sql"
DIALECT = get_dialect("mysql")


def reload(schema: Schema) -> Schema:
    """Render `schema`, load the DDL into a fresh scratch database and read it back."""
    engine = DIALECT.engine()
    with engine.scratch() as url:
        engine.run_script(url, DIALECT.render(schema), where="rendered.sql")
        return introspect_url(url)


@pytest.fixture(scope="module")
def rich() -> Schema:
    return load_schema([str(RICH)], dialect="mysql")


@pytest.fixture(scope="module")
def rich_again(rich: Schema) -> Schema:
    return reload(rich)


def table(schema: Schema, name: str) -> Table:
    found = schema.table(name)
    assert found is not None, name
    return found


def test_round_trip_is_equal_and_serialises_identically(rich: Schema, rich_again: Schema) -> None:
    assert rich_again == rich
    assert to_json(rich_again) == to_json(rich)
    assert DIALECT.render(rich_again) == DIALECT.render(rich)


def test_objects_present(rich: Schema) -> None:
    assert rich.dialect == "mysql"
    assert [t.name for t in rich.tables] == [
        "customer",
        "department",
        "employee",
        "exec_comment_table",
        "measurement",
        "order",
        "order_line",
        "place",
        "price_history",
        "session_cache",
    ]
    assert all(t.schema == "" for t in rich.tables)
    assert [v.name for v in rich.views] == [
        "active customer emails",
        "active_customer",
        "customer_report",
        "order_totals",
    ]
    assert [(f.name, f.kind) for f in rich.functions] == [
        ("customer_tier", "function"),
        ("place order", "procedure"),
        ("strict_proc", "procedure"),
    ]
    assert [s.name for s in rich.sequences] == ["cycling seq", "invoice_seq"]
    assert ("collation", "utf8mb4_general_ci") in rich.options


def test_columns_keep_exact_types_and_defaults(rich: Schema) -> None:
    customer = table(rich, "customer")
    col = {c.name: c for c in customer.columns}
    assert col["id"].type == "int(10) unsigned" and col["id"].identity == Identity()
    assert col["name"].default == "'it''s me'"  # literals stay quoted …
    assert col["score"].default == "(1 + 1)"  # … expressions do not
    assert col["created"].default == "current_timestamp(3)"
    assert col["Größe"].default == "1.75" and col["Größe"].logical == "decimal"
    assert col["select"].logical == "boolean" and col["select"].default == "0"
    assert col["status"].type == "enum('new','active','it''s gone')"
    assert col["status"].logical == "enum"
    assert col["tags"].type == "set('a','b','c d')" and col["tags"].default == "'a,b'"
    assert col["bio"].collation == "latin1_general_cs"
    assert col["code"].collation == "utf8mb4_bin"
    assert col["email"].collation is None  # the table's own collation is not repeated
    assert col["prefs"].type == "longtext" and col["prefs"].logical == "json"
    assert col["ext_id"].logical == "uuid" and col["ip"].logical == "network"
    assert col["flags"].default == "b'101'"
    assert col["secret"].options == (("invisible", "true"),)
    assert col["updated"].options == (("on_update", "current_timestamp()"),)
    assert col["updated"].logical == "timestamptz" and col["created"].logical == "timestamp"
    assert col["born"].logical == "year"
    assert col["email_domain"].generated == "substring_index(`email`,'@',-1)"
    assert col["email_domain"].generated_stored is False
    assert col["name_upper"].generated == "ucase(`name`)" and col["name_upper"].generated_stored
    assert col["name_upper"].comment == "for sorting"
    assert col["bio"].nullable and not col["email"].nullable
    assert col["ext_id"].default == "uuid()"
    order = table(rich, "order")
    invoice = order.column("invoice_no")
    assert invoice is not None and invoice.default == "nextval(`invoice_seq`)"
    assert order.depends_on == ("invoice_seq",)


def test_table_options_and_comment(rich: Schema) -> None:
    customer = table(rich, "customer")
    assert customer.comment == "People who buy; it's the root"
    assert dict(customer.options) == {
        "engine": "InnoDB",
        "collation": "utf8mb4_general_ci",
        "row_format": "DYNAMIC",
        "stats_persistent": "1",
    }
    assert dict(table(rich, "session_cache").options)["engine"] == "MEMORY"
    assert dict(table(rich, "place").options)["engine"] == "Aria"
    assert dict(table(rich, "price_history").options)["system_versioning"] == "true"
    measurement = table(rich, "measurement")
    assert measurement.partitioning == Partitioning(strategy="RANGE", key="`taken_year`")
    clause = dict(measurement.options)["partition_by"]
    assert clause.startswith("PARTITION BY RANGE (`taken_year`)") and "`p_new`" in clause


def test_keys_indexes_and_constraints(rich: Schema) -> None:
    customer = table(rich, "customer")
    assert customer.primary_key is not None and customer.primary_key.columns == ("id",)
    assert [(u.name, u.columns) for u in customer.uniques] == [("uq_customer_email", ("email",))]
    idx = {i.name: i for i in customer.indexes}
    assert idx["ix_name_prefix"].keys == (
        IndexKey(column="name", length=10),
        IndexKey(column="created", descending=True),
    )
    assert idx["ft_bio"].method == "fulltext"
    assert idx["ix_domain"].comment == "virtual column index"
    assert idx["ix_ignored"].options == (("ignored", "true"),)
    assert customer.checks == (
        CheckConstraint(name="age", expression="`age` between 0 and 150"),
        CheckConstraint(name="chk_score", expression="`score` >= 0 or `score` is null"),
        CheckConstraint(name="prefs", expression="json_valid(`prefs`)"),
    )
    order = table(rich, "order")
    long_unique = {i.name: i for i in order.indexes}["uq_attachment"]
    assert long_unique.unique and long_unique.method == "hash"
    assert [c.name for c in order.checks] == ["order total positive"]
    place = table(rich, "place")
    assert [i.method for i in place.indexes] == ["spatial"]
    memory = {i.name: i for i in table(rich, "session_cache").indexes}
    assert memory["ix_user"].method == "btree" and memory["ix_user_hash"].method == "hash"


def test_foreign_keys_composite_with_actions_and_cycles(rich: Schema) -> None:
    line = table(rich, "order_line")
    assert line.foreign_keys == (
        ForeignKey(
            name="fk_line_order",
            columns=("order_id", "region"),
            ref_schema="",
            ref_table="order",
            ref_columns=("id", "region"),
            on_delete="CASCADE",
            on_update="CASCADE",
        ),
    )
    order_fk = table(rich, "order").foreign_keys[0]
    assert (order_fk.on_delete, order_fk.on_update) == ("CASCADE", "RESTRICT")
    dept = table(rich, "department").foreign_keys[0]
    assert (dept.ref_table, dept.on_delete, dept.on_update) == ("employee", "SET NULL", "NO ACTION")
    employee = {fk.name: fk for fk in table(rich, "employee").foreign_keys}
    assert employee["fk_employee_manager"].ref_table == "employee"
    assert employee["fk_employee_department"].ref_table == "department"


def test_views_lose_the_database_name_and_know_dependencies(rich: Schema) -> None:
    views = {v.name: v for v in rich.views}
    report = views["customer_report"]
    assert report.depends_on == ("active_customer", "customer_tier", "order_totals")
    emails = views["active customer emails"]
    assert emails.check_option == "CASCADED"
    assert dict(emails.options) == {"algorithm": "MERGE", "sql_security": "INVOKER"}
    assert emails.depends_on == ("active_customer",)
    totals = views["order_totals"]
    assert "dbarch_" not in totals.definition
    assert "'literal `customer`.x'" in totals.definition  # string literals untouched
    assert [c.name for c in views["active_customer"].columns] == ["id", "email", "name", "Größe"]


def test_triggers_keep_their_firing_order(rich: Schema) -> None:
    line = table(rich, "order_line")
    assert [t.name for t in line.triggers] == ["order_line_bi", "order_line_bi_2"]
    second = line.triggers[1]
    assert second.timing == "BEFORE" and second.events == ("INSERT",) and second.for_each_row
    assert " FOR EACH ROW FOLLOWS order_line_bi SET NEW.sku = UPPER(NEW.sku)" in (second.definition)
    assert table(rich, "order").triggers[0].events == ("UPDATE",)


def test_routines(rich: Schema) -> None:
    fns = {f.name: f for f in rich.functions}
    tier = fns["customer_tier"]
    assert tier.arguments == "amount decimal(12,2)"
    assert tier.returns == "varchar(10) CHARSET latin1 COLLATE latin1_swedish_ci"
    assert tier.volatility == "immutable" and tier.security_definer
    assert tier.comment == "bronze/silver/gold"
    assert "-- thresholds are inclusive" in tier.body  # comments reach the server
    assert dict(tier.config)["sql_data_access"] == "NO SQL"
    proc = fns["place order"]
    assert proc.arguments == (
        "IN p_customer int(10) unsigned, IN p_region char(2), OUT p_id bigint(20), "
        "INOUT p_note varchar(200) CHARSET latin1 COLLATE latin1_swedish_ci"
    )
    assert proc.returns is None and not proc.security_definer
    assert proc.body.startswith("proc: BEGIN")
    assert "TRADITIONAL" in dict(fns["strict_proc"].config)["sql_mode"]


def test_rendered_ddl_shape(rich: Schema) -> None:
    ddl = DIALECT.render(rich)
    assert "CREATE TABLE `order` (" in ddl
    assert "  `Größe` decimal(5,2) DEFAULT 1.75," in ddl
    assert "  `select` tinyint(1) NOT NULL DEFAULT 0," in ddl
    assert "KEY ix_user (user_id) USING BTREE" in ddl  # not the MEMORY default
    assert "DEFINER" not in ddl.replace("SQL SECURITY DEFINER", "")
    # Foreign keys come after every table, so the department/employee cycle loads.
    assert ddl.index("ALTER TABLE department ADD CONSTRAINT") > ddl.index("CREATE TABLE session")
    # Views over views in dependency order, after the function they call.
    assert ddl.index("VIEW active_customer") < ddl.index("VIEW `active customer emails`")
    assert ddl.index("CREATE FUNCTION customer_tier") < ddl.index("VIEW customer_report")
    assert ddl.index("TRIGGER order_line_bi ") < ddl.index("TRIGGER order_line_bi_2")
    assert "DELIMITER $$" in ddl and ddl.rstrip().endswith("DELIMITER ;")


def test_dialect_facts() -> None:
    assert DIALECT.name == "mysql" and DIALECT.label == "MySQL/MariaDB"
    assert not DIALECT.has_schemas and DIALECT.max_identifier_bytes == 64
    assert DIALECT.quote("order") == "`order`"
    assert DIALECT.quote("plain_name") == "plain_name"
    assert DIALECT.quote("Größe") == "`Größe`"
    assert DIALECT.quote("we`ird") == "`we``ird`"
    assert DIALECT.logical_type("bigint(20) unsigned") == "bigint"
    assert DIALECT.logical_type("tinyint(1)") == "boolean"
    assert DIALECT.logical_type("tinyint(4)") == "smallint"
    assert DIALECT.logical_type("varchar(10)") == "varchar"
    assert DIALECT.logical_type("geometry") == "geometric"
    assert DIALECT.logical_type("mystery") == "other"
