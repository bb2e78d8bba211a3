"""MySQL/MariaDB migrations on the scratch MariaDB: every pair under tests/fixtures/diff/mysql
goes up and down, and the database must then introspect exactly as the target schema, with its
rows kept (the harness is tests/sqlite/test_migrate.py's)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from dbarchitect.dialects.mysql.migrate import render_operations
from dbarchitect.migrate.operations import Operation
from tests.sqlite.test_migrate import Case, case_named, cases, load_pair, migration_for, run_case

MYSQL_CASES = cases("mysql")


def test_the_corpus_is_broad_enough() -> None:
    assert len(MYSQL_CASES) >= 20
    assert sum((c.path / "data.sql").exists() for c in MYSQL_CASES) >= 5


@pytest.mark.parametrize("case", MYSQL_CASES, ids=lambda c: c.name)
def test_migration_round_trip(case: Case) -> None:
    run_case(case, "mysql")


def up_sql(prefix: str, *, online: bool = True) -> list[str]:
    before, after = load_pair(case_named("mysql", prefix), "mysql")
    return [s.sql for s in migration_for(before, after, (), online=online).up]


def test_online_forms_where_mariadb_builds_without_a_lock() -> None:
    up = up_sql("012")
    assert "ALTER TABLE doc ADD UNIQUE KEY doc_tag (tag), ALGORITHM=INPLACE, LOCK=NONE;" in up
    assert "ALTER TABLE doc DROP INDEX doc_old, ALGORITHM=INPLACE, LOCK=NONE;" in up
    # FULLTEXT needs a shared lock: the plain form, and none after it on the same table.
    fulltext = up.index("ALTER TABLE doc ADD FULLTEXT KEY doc_body (body);")
    assert not any("LOCK=NONE" in s for s in up[fulltext + 1 :])
    assert not any("ALGORITHM" in s for s in up_sql("012", online=False))


@pytest.mark.parametrize("prefix", ["003", "004", "012"])
def test_plain_forms_apply_too(prefix: str) -> None:
    migration = run_case(case_named("mysql", prefix), "mysql", online=False)
    assert not any("ALGORITHM" in s.sql for s in migration.up + migration.down)


def test_new_table_has_its_indexes_inline_and_foreign_keys_after() -> None:
    up = up_sql("001")
    assert len(up) == 2
    assert up[0].startswith("CREATE TABLE book (") and "KEY book_author (author_id)" in up[0]
    assert up[1].startswith("ALTER TABLE book ADD CONSTRAINT book_author_fk FOREIGN KEY")


def test_an_index_is_built_before_the_foreign_key_that_needs_it() -> None:
    up = up_sql("013")
    key = up.index("ALTER TABLE emp ADD KEY emp_dept (dept_id), ALGORITHM=INPLACE, LOCK=NONE;")
    fk = next(i for i, s in enumerate(up) if "ADD CONSTRAINT emp_dept FOREIGN KEY" in s)
    assert key < fk


def test_a_column_goes_after_the_keys_and_checks_that_name_it() -> None:
    up = up_sql("006")
    drop = up.index("ALTER TABLE account DROP COLUMN region;")
    assert any("DROP INDEX account_region" in s for s in up[:drop])
    assert any("DROP CONSTRAINT account_score" in s for s in up[:drop])


def test_auto_increment_column_and_its_key_are_one_statement() -> None:
    assert up_sql("022") == [
        "ALTER TABLE visit ADD COLUMN id bigint(20) NOT NULL AUTO_INCREMENT FIRST,"
        " ADD PRIMARY KEY (id);"
    ]


def test_a_unique_key_innodb_clusters_on_is_not_dropped_online() -> None:
    # country has no primary key: InnoDB clusters on its NOT NULL unique key, and refuses to
    # drop that with LOCK=NONE.
    up = up_sql("037")
    assert "ALTER TABLE country DROP INDEX country_code;" in up


def test_null_rows_take_the_default_before_not_null() -> None:
    up = up_sql("040")
    fill = up.index("UPDATE contact SET country = 'ZZ' WHERE country IS NULL;")
    assert fill < up.index(
        "ALTER TABLE contact MODIFY COLUMN country char(2) NOT NULL DEFAULT 'ZZ';"
    )


def test_system_versioned_tables_are_altered_keeping_history() -> None:
    up = up_sql("052")
    assert up[1] == "SET @@SESSION.system_versioning_alter_history = KEEP;"
    assert up[-1] == "SET @@SESSION.system_versioning_alter_history = @dbarch_saved_alter_history;"
    assert "SYSTEM_VERSIONING" not in " ".join(up_sql("045"))


def test_an_altered_column_that_moved_is_put_in_place() -> None:
    before, _ = load_pair(case_named("mysql", "045"), "mysql")
    table = before.table("visit")
    assert table is not None and [c.name for c in table.columns] == ["id", "site", "path", "at"]
    order = ["id", "at", "site", "path"]
    moved = replace(table, columns=tuple(c for n in order for c in table.columns if c.name == n))
    after = replace(before, tables=(moved,))
    ops = [
        Operation(
            action="alter",
            kind="column",
            before=table.column(n),
            after=moved.column(n),
            owner="visit",
        )
        for n in order
    ]
    assert [s.sql for s in render_operations(ops, before, after)] == [
        "ALTER TABLE visit MODIFY COLUMN id int(11) NOT NULL;",
        "ALTER TABLE visit MODIFY COLUMN at datetime AFTER id;",
        "ALTER TABLE visit MODIFY COLUMN site varchar(40) NOT NULL;",
        "ALTER TABLE visit MODIFY COLUMN path varchar(200);",
    ]
