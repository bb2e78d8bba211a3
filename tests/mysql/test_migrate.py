"""MySQL/MariaDB migrations on the scratch MariaDB: every pair under tests/fixtures/diff/mysql
goes up and down, and the database must then introspect exactly as the target schema, with its
rows kept (the harness is tests/sqlite/test_migrate.py's)."""

from __future__ import annotations

import pytest

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
