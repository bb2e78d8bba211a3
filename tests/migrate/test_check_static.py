"""Static `dbarch check`: every hazard flagged on a risky statement and quiet on its safe form.

Function volatility comes from the scratch PostgreSQL's real pg_proc (no name list).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dbarchitect.engines.url import DatabaseURL
from dbarchitect.migrate.safety.check import check_statements
from dbarchitect.migrate.safety.hazards import HAZARDS, LIVE_HAZARDS
from dbarchitect.migrate.safety.parse import parse_text
from dbarchitect.model.schema import CheckConstraint, Column, Partitioning, Schema, Table
from dbarchitect.review.finding import Finding

# The production schema the migrations run against.
SCHEMA = Schema(
    dialect="postgres",
    tables=(
        Table(
            schema="public",
            name="users",
            columns=(
                Column(name="id", type="bigint"),
                Column(name="email", type="character varying(10)"),
                Column(name="phone", type="text"),
                Column(name="price", type="numeric(10,2)"),
                Column(name="seen", type="timestamp without time zone"),
                Column(name="age", type="integer"),
            ),
            checks=(
                CheckConstraint(name="users_phone_nn", expression="(phone IS NOT NULL)"),
                CheckConstraint(
                    name="users_age_nn", expression="(age IS NOT NULL)", not_valid=True
                ),
            ),
        ),
        Table(
            schema="public",
            name="events",
            columns=(Column(name="at", type="date"),),
            partitioning=Partitioning(strategy="RANGE", key="at"),
        ),
        Table(
            schema="public",
            name="events_2024",
            columns=(Column(name="at", type="date"),),
            checks=(
                CheckConstraint(
                    name="b", expression="((at >= '2024-01-01'::date) AND (at < '2025-01-01'))"
                ),
            ),
        ),
    ),
)


def run(sql: str, *, version: int = 15, schema: Schema | None = SCHEMA) -> list[Finding]:
    return check_statements([parse_text(sql, "m.sql")], schema=schema, pg_version=version)


def rules(sql: str, **kw: object) -> set[str]:
    return {f.rule for f in run(sql, **kw)}  # type: ignore[arg-type]


# (hazard, flagged SQL, safe SQL) — the safe SQL must not raise that hazard.
CASES = [
    (
        "create-index-without-concurrently",
        "CREATE INDEX i ON orders (a);",
        "CREATE TABLE t (a int);\nCREATE INDEX i ON t (a);",
    ),
    (
        "create-index-without-concurrently",
        "CREATE INDEX CONCURRENTLY i ON events (at);",
        "CREATE INDEX i ON ONLY events (at);",
    ),
    (
        "concurrently-in-transaction",
        "BEGIN;\nCREATE INDEX CONCURRENTLY i ON orders (a);\nCOMMIT;",
        "CREATE INDEX CONCURRENTLY i ON orders (a);",
    ),
    ("drop-index-without-concurrently", "DROP INDEX i;", "DROP INDEX CONCURRENTLY i;"),
    (
        "reindex-without-concurrently",
        "REINDEX TABLE orders;",
        "REINDEX (CONCURRENTLY) TABLE orders;",
    ),
    (
        "detach-partition-without-concurrently",
        "ALTER TABLE events DETACH PARTITION events_2024;",
        "ALTER TABLE events DETACH PARTITION events_2024 CONCURRENTLY;",
    ),
    (
        "add-unique-constraint-builds-index",
        "ALTER TABLE users ADD CONSTRAINT u UNIQUE (email);",
        "ALTER TABLE users ADD CONSTRAINT u UNIQUE USING INDEX u_idx;",
    ),
    (
        "add-exclusion-constraint",
        "ALTER TABLE users ADD EXCLUDE USING gist (id WITH =);",
        "CREATE TABLE b (r int);\nALTER TABLE b ADD EXCLUDE USING gist (r WITH =);",
    ),
    (
        "add-foreign-key-validates",
        "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (u) REFERENCES users (id);",
        "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (u) REFERENCES users (id) NOT VALID;\n"
        "BEGIN;\nALTER TABLE orders VALIDATE CONSTRAINT fk;\nCOMMIT;",
    ),
    (
        "add-foreign-key-validates",
        "BEGIN;\nALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (u) REFERENCES users (id)"
        " NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT fk;\nCOMMIT;",
        "ALTER TABLE orders ADD COLUMN u bigint REFERENCES users (id);",
    ),
    (
        "add-check-validates",
        "ALTER TABLE users ADD CONSTRAINT c CHECK (age > 0);",
        "ALTER TABLE users ADD CONSTRAINT c CHECK (age > 0) NOT VALID;",
    ),
    (
        "add-check-validates",
        "ALTER TABLE users ADD COLUMN n int CHECK (n > 0);",
        "ALTER TABLE users ADD COLUMN n int;",
    ),
    (
        "set-not-null-scans",
        "ALTER TABLE users ALTER COLUMN email SET NOT NULL;",
        "ALTER TABLE users ALTER COLUMN phone SET NOT NULL;",
    ),
    (
        "set-not-null-scans",
        "ALTER TABLE users ALTER COLUMN age SET NOT NULL;",  # its CHECK is NOT VALID
        "ALTER TABLE users VALIDATE CONSTRAINT users_age_nn;\n"
        "ALTER TABLE users ALTER COLUMN age SET NOT NULL;",
    ),
    (
        "set-not-null-scans",
        "ALTER TABLE orders ALTER COLUMN x SET NOT NULL;",
        "ALTER TABLE orders ADD CONSTRAINT x_nn CHECK (x IS NOT NULL) NOT VALID;\n"
        "ALTER TABLE orders VALIDATE CONSTRAINT x_nn;\n"
        "ALTER TABLE orders ALTER COLUMN x SET NOT NULL;",
    ),
    (
        "column-type-rewrite",
        "ALTER TABLE users ALTER COLUMN email TYPE varchar(5);",
        "ALTER TABLE users ALTER COLUMN email TYPE varchar(20);",
    ),
    (
        "column-type-rewrite",
        "ALTER TABLE users ALTER COLUMN id TYPE int;",
        "ALTER TABLE users ALTER COLUMN email TYPE text;",
    ),
    (
        "column-type-rewrite",
        "ALTER TABLE users ALTER COLUMN price TYPE numeric(12,3);",
        "ALTER TABLE users ALTER COLUMN price TYPE numeric(12,2);",
    ),
    (
        "column-type-rewrite",
        "SET TIME ZONE 'Europe/Paris';\nALTER TABLE users ALTER COLUMN seen TYPE timestamptz;",
        "ALTER TABLE users ALTER COLUMN seen TYPE timestamptz;",
    ),
    (
        "add-column-volatile-default",
        "ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid();",
        "ALTER TABLE users ADD COLUMN created timestamptz DEFAULT now();",
    ),
    (
        "add-column-volatile-default",
        "CREATE FUNCTION pick() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;\n"
        "ALTER TABLE users ADD COLUMN p int DEFAULT pick();",
        "CREATE FUNCTION pick() RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT 1 $$;\n"
        "ALTER TABLE users ADD COLUMN p int DEFAULT pick();",
    ),
    (
        "add-column-serial-or-identity",
        "ALTER TABLE users ADD COLUMN n bigserial;",
        "ALTER TABLE users ADD COLUMN n bigint;",
    ),
    (
        "add-column-serial-or-identity",
        "ALTER TABLE users ADD COLUMN n int GENERATED ALWAYS AS IDENTITY;",
        "CREATE TABLE t (n int GENERATED ALWAYS AS IDENTITY);",
    ),
    (
        "add-stored-generated-column",
        "ALTER TABLE users ADD COLUMN g int GENERATED ALWAYS AS (age * 2) STORED;",
        "CREATE TABLE t (a int);\nALTER TABLE t ADD COLUMN g int GENERATED ALWAYS AS (a) STORED;",
    ),
    ("drop-table", "DROP TABLE users;", "CREATE TABLE tmp (a int);\nDROP TABLE tmp;"),
    (
        "drop-column",
        "ALTER TABLE users DROP COLUMN phone;",
        "ALTER TABLE users ALTER COLUMN phone DROP DEFAULT;",
    ),
    ("drop-schema", "DROP SCHEMA old CASCADE;", "CREATE SCHEMA s2;\nDROP SCHEMA s2;"),
    ("truncate", "TRUNCATE users;", "CREATE TABLE t (a int);\nTRUNCATE t;"),
    (
        "rename-table",
        "ALTER TABLE users RENAME TO accounts;",
        "CREATE TABLE t (a int);\nALTER TABLE t RENAME TO u;",
    ),
    (
        "rename-column",
        "ALTER TABLE users RENAME COLUMN phone TO tel;",
        "ALTER TABLE users ADD COLUMN tel text;",
    ),
    (
        "unbatched-update-or-delete",
        "UPDATE users SET age = 1;",
        "UPDATE users SET age = 1 WHERE id BETWEEN 1 AND 5000;",
    ),
    ("unbatched-update-or-delete", "DELETE FROM users;", "DELETE FROM users WHERE id = 1;"),
    (
        "attach-partition-scans",
        "ALTER TABLE events ATTACH PARTITION events_old FOR VALUES FROM ('2000-01-01') "
        "TO ('2001-01-01');",
        "ALTER TABLE events ATTACH PARTITION events_2024 FOR VALUES FROM ('2024-01-01') "
        "TO ('2025-01-01');",
    ),
    (
        "refresh-materialized-view-without-concurrently",
        "REFRESH MATERIALIZED VIEW stats;",
        "REFRESH MATERIALIZED VIEW CONCURRENTLY stats;",
    ),
    (
        "set-logged-or-unlogged",
        "ALTER TABLE users SET UNLOGGED;",
        "ALTER TABLE users SET (fillfactor = 90);",
    ),
    ("vacuum-full-or-cluster", "VACUUM FULL users;", "VACUUM (ANALYZE) users;"),
    ("vacuum-full-or-cluster", "CLUSTER users USING users_pkey;", "ANALYZE users;"),
    (
        "enum-value-used-in-same-transaction",
        "BEGIN;\nALTER TYPE mood ADD VALUE 'meh';\nUPDATE users SET m = 'meh' WHERE id = 1;\n"
        "COMMIT;",
        "BEGIN;\nALTER TYPE mood ADD VALUE 'meh';\nCOMMIT;\n"
        "UPDATE users SET m = 'meh' WHERE id = 1;",
    ),
    ("unbalanced-transaction", "BEGIN;\nALTER TABLE users ADD COLUMN n int;", "BEGIN;\nCOMMIT;"),
    ("unbalanced-transaction", "COMMIT;", "ALTER TABLE users ADD COLUMN n int;"),
    ("unbalanced-transaction", "BEGIN;\nBEGIN;\nCOMMIT;", "BEGIN;\nROLLBACK;"),
    (
        "identifier-too-long",
        "CREATE TABLE " + "t" * 64 + " (a int);",
        "CREATE TABLE " + "t" * 63 + " (a int);",
    ),
    (
        "missing-lock-timeout",
        "ALTER TABLE users ADD COLUMN n int;",
        "SET lock_timeout = '2s';\nALTER TABLE users ADD COLUMN n int;",
    ),
    (
        "strong-lock-held-across-slow-step",
        "BEGIN;\nALTER TABLE users RENAME COLUMN phone TO tel;\nCREATE INDEX i ON orders (a);\n"
        "COMMIT;",
        "BEGIN;\nALTER TABLE users RENAME COLUMN phone TO tel;\nCOMMIT;\n"
        "CREATE INDEX i ON orders (a);",
    ),
]


def test_every_hazard_has_cases_and_docs() -> None:
    # live-database assumptions are tested in test_check_live.py
    assert {c[0] for c in CASES} == set(HAZARDS) - LIVE_HAZARDS
    for rule in HAZARDS.values():
        assert rule.family == "migration" and rule.problem and rule.solution and rule.example
        assert rule.engines == ("postgres",)


@pytest.mark.parametrize(
    ("hazard", "bad", "good"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_hazard_flagged_and_safe_variant_quiet(hazard: str, bad: str, good: str) -> None:
    flagged = [f for f in run(bad) if f.rule == hazard]
    assert flagged, f"{hazard} not raised by:\n{bad}"
    f = flagged[0]
    assert f.severity == HAZARDS[hazard].severity
    assert f.kind == "statement" and f.file == "m.sql" and f.line is not None
    assert f.fix, f"{hazard}: no fix"
    assert hazard not in rules(good), f"{hazard} raised by the safe variant:\n{good}"


def test_every_hazard_example_is_flagged() -> None:
    for rule in HAZARDS.values():
        if rule.id in LIVE_HAZARDS:
            continue  # needs a live database: tested in test_check_live.py
        sql = rule.example if rule.example.rstrip().endswith(";") else rule.example + ";"
        assert rule.id in rules(sql, schema=None), rule.id


def test_messages_name_lock_and_what_it_blocks() -> None:
    [f] = [f for f in run("CREATE INDEX i ON orders (a);") if f.rule.startswith("create-index")]
    assert "SHARE on public.orders" in f.message and "blocks writes" in f.message
    assert f.fix is not None and "CREATE INDEX CONCURRENTLY i ON orders (a)" in f.fix
    [f] = [
        f
        for f in run("ALTER TABLE users ALTER COLUMN email SET NOT NULL;")
        if f.rule == "set-not-null-scans"
    ]
    assert "ACCESS EXCLUSIVE" in f.message and "blocks reads and writes" in f.message
    assert f.fix is not None
    assert "CHECK (email IS NOT NULL) NOT VALID" in f.fix and "VALIDATE CONSTRAINT" in f.fix
    [f] = [
        f
        for f in run("ALTER TABLE o ADD CONSTRAINT fk FOREIGN KEY (u) REFERENCES users (id);")
        if f.rule == "add-foreign-key-validates"
    ]
    assert "SHARE ROW EXCLUSIVE" in f.message and "public.users" in f.message
    assert f.fix is not None and "NOT VALID" in f.fix and "separate transaction" in f.fix


def test_file_and_line_of_each_statement() -> None:
    sql = (
        "-- header comment\n"
        "\\set ON_ERROR_STOP on\n"
        "CREATE TABLE t (a int);\n"
        "\n"
        "/* block\n comment */ CREATE INDEX i ON\n  orders (a);\n"
        "DROP TABLE users;\n"
    )
    found = {f.rule: f.line for f in run(sql)}
    assert found["create-index-without-concurrently"] == 6
    assert found["drop-table"] == 8


def test_ignore_comments() -> None:
    sql = (
        "-- dbarch:ignore drop-table\n"
        "DROP TABLE users;\n"
        "TRUNCATE users; -- dbarch:ignore truncate, missing-lock-timeout\n"
        "DELETE FROM users;\n"
    )
    found = {(f.rule, f.line) for f in run(sql)}
    assert ("drop-table", 2) not in found
    assert ("missing-lock-timeout", 2) in found  # only the named hazard is silenced
    assert ("truncate", 3) not in found and ("missing-lock-timeout", 3) not in found
    # a comment trailing the previous statement does not silence the next one
    assert ("unbatched-update-or-delete", 4) in found


def test_transactions_hold_locks_until_commit() -> None:
    # autocommit: each statement is its own transaction, so no lock is carried over
    autocommit = "ALTER TABLE users RENAME COLUMN phone TO tel;\nCREATE INDEX i ON orders (a);"
    assert "strong-lock-held-across-slow-step" not in rules(autocommit)
    held = "BEGIN;\n" + autocommit + "\nCOMMIT;"
    [f] = [f for f in run(held) if f.rule == "strong-lock-held-across-slow-step"]
    assert f.object == "public.users" and f.line == 3 and "m.sql:2" in f.message
    # ROLLBACK ends the transaction as COMMIT does
    rolled = (
        "BEGIN;\nALTER TABLE users RENAME COLUMN phone TO tel;\nROLLBACK;\n"
        "CREATE INDEX i ON orders (a);"
    )
    assert "strong-lock-held-across-slow-step" not in rules(rolled)
    # CONCURRENTLY outside a transaction after one committed is fine
    ok = "BEGIN;\nALTER TABLE users ADD COLUMN n int;\nCOMMIT;\nDROP INDEX CONCURRENTLY i;"
    assert "concurrently-in-transaction" not in rules(ok)
    local = "BEGIN;\nSET LOCAL lock_timeout = '1s';\nALTER TABLE users ADD COLUMN n int;\nCOMMIT;\n"
    assert "missing-lock-timeout" not in rules(local)
    # SET LOCAL lapses at COMMIT
    assert "missing-lock-timeout" in rules(local + "ALTER TABLE users DROP COLUMN n;")


def test_new_table_from_earlier_file_is_known_but_not_new() -> None:
    first = parse_text("CREATE TABLE t (a varchar(5));", "001.sql")
    second = parse_text(
        "ALTER TABLE t ALTER COLUMN a TYPE varchar(9);\nCREATE INDEX i ON t (a);", "002.sql"
    )
    found = check_statements([first, second], schema=None)
    assert {(f.rule, f.file) for f in found if f.severity != "info"} == {
        ("create-index-without-concurrently", "002.sql")
    }


def test_pg_version_matters() -> None:
    sql = "BEGIN;\nALTER TYPE mood ADD VALUE 'meh';\nCOMMIT;"
    assert "enum-value-used-in-same-transaction" in rules(sql, version=11)
    assert "enum-value-used-in-same-transaction" not in rules(sql, version=15)
    detach = "ALTER TABLE events DETACH PARTITION events_2024;"
    assert "detach-partition-without-concurrently" not in rules(detach, version=13)
    sn = "ALTER TABLE users ALTER COLUMN phone SET NOT NULL;"
    assert "set-not-null-scans" in rules(sn, version=11)


def test_effects_predicted(tmp_path: Path) -> None:
    from dbarchitect.dialects.postgres.locks import predict
    from dbarchitect.migrate.safety.state import SchemaState

    state = SchemaState(SCHEMA, pg_version=15, volatility=lambda name: "")
    node = (
        parse_text("ALTER TABLE o ADD CONSTRAINT fk FOREIGN KEY (u) REFERENCES users (id);", "x")
        .statements[0]
        .node
    )
    p = predict(node, state)
    assert p.effect.locks == {
        "public.o": "ShareRowExclusiveLock",
        "public.users": "ShareRowExclusiveLock",
    }
    assert p.effect.scans == {"public.o"} and not p.effect.rewrites
    node = parse_text("CREATE INDEX CONCURRENTLY i ON o (a);", "x").statements[0].node
    assert not predict(node, state).effect.in_transaction
    node = parse_text("DROP TABLE users;", "x").statements[0].node
    assert predict(node, state).effect.data_loss


# --- the command line ---------------------------------------------------------------------


def _dbarch(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from dbarchitect.cli import app, main
    from dbarchitect.cli.check import check

    if not any(c.name == "check" for c in app.registered_commands):
        app.command("check")(check)  # until the lead registers it in cli/__init__.py
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out, err = capsys.readouterr()
    code = exc.value.code
    return (code if isinstance(code, int) else 0), out, err


def test_cli_exit_codes_and_formats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = tmp_path / "migrations"
    d.mkdir()
    (d / "001_create.sql").write_text("CREATE TABLE t (a int);\nCREATE INDEX i ON t (a);\n")
    (d / "002_index.sql").write_text("CREATE INDEX j ON t (a);\n")
    code, out, _ = _dbarch(["check", str(d)], capsys)
    assert code == 0  # a warning does not fail under the default --fail-on error
    assert "create-index-without-concurrently" in out and "002_index.sql:1" in out
    assert "001_create.sql" not in out
    code, out, _ = _dbarch(["check", str(d), "--fail-on", "warning", "-f", "json"], capsys)
    assert code == 1
    doc = json.loads(out)
    assert json.dumps(doc).count("create-index-without-concurrently") >= 1
    bad = tmp_path / "bad.sql"
    bad.write_text("BEGIN;\nCREATE INDEX CONCURRENTLY i ON t (a);\nCOMMIT;\n")
    code, out, _ = _dbarch(["check", str(bad), "--format", "sarif"], capsys)
    assert code == 1 and json.loads(out)["runs"][0]["results"]
    code, out, _ = _dbarch(["check", str(bad), "--fail-on", "never", "-f", "github"], capsys)
    assert code == 0 and out.startswith("::error")


def test_cli_schema_source(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    schema = tmp_path / "schema.sql"
    schema.write_text(
        "CREATE TABLE users (id bigint, email varchar(10),"
        " CONSTRAINT e CHECK (email IS NOT NULL));\n"
    )
    mig = tmp_path / "m.sql"
    mig.write_text(
        "SET lock_timeout = '2s';\n"
        "ALTER TABLE users ALTER COLUMN email TYPE varchar(20);\n"
        "ALTER TABLE users ALTER COLUMN email SET NOT NULL;\n"
    )
    code, out, _ = _dbarch(["check", str(mig), "--fail-on", "info"], capsys)
    assert code == 1 and "column-type-rewrite" in out and "set-not-null-scans" in out
    code, out, _ = _dbarch(
        ["check", str(mig), "--schema", str(schema), "--fail-on", "info"], capsys
    )
    assert code == 0, out


def test_cli_url_uses_live_catalog(
    pg_url: DatabaseURL, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from dbarchitect.dialects import get_dialect

    url = pg_url.render(redact=False)
    get_dialect("postgres").engine().run_script(
        pg_url,
        "CREATE TABLE users (id bigint, email text);\n"
        "CREATE FUNCTION next_code() RETURNS int LANGUAGE sql VOLATILE AS $$ SELECT 1 $$;\n"
        "CREATE FUNCTION fixed_code() RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT 1 $$;\n",
    )
    mig = tmp_path / "m.sql"
    mig.write_text("ALTER TABLE users ADD COLUMN c int DEFAULT next_code();\n")
    code, out, _ = _dbarch(["check", str(mig), "--url", url], capsys)
    assert code == 1 and "add-column-volatile-default" in out
    mig.write_text("ALTER TABLE users ADD COLUMN c int DEFAULT fixed_code();\n")
    code, out, _ = _dbarch(["check", str(mig), "--url", url], capsys)
    assert code == 0 and "add-column-volatile-default" not in out


def test_cli_broken_sql_is_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "broken.sql"
    bad.write_text("CREATE TABLE t (a int);\n\nALTER TABLE t ADD COLUM b int;\n")
    code, out, err = _dbarch(["check", str(bad)], capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and f"{bad}:3:" in err and "syntax error" in err
    code, _, err = _dbarch(["check", str(tmp_path / "missing.sql")], capsys)
    assert code == 2 and "missing.sql" in err and err.count("\n") == 1


@pytest.mark.parametrize(
    "statement",
    [
        'ALTER TABLE "Order Items" ALTER COLUMN "Qty" TYPE bigint',
        'ALTER TABLE "Order Items" ALTER COLUMN "select" SET NOT NULL',
        'ALTER TABLE "Order Items" ADD COLUMN "Note" text DEFAULT gen_random_uuid()::text',
        'ALTER TABLE "Order Items" ADD CONSTRAINT "Qty positive" CHECK ("Qty" > 0)',
        'ALTER TABLE "Order Items" RENAME COLUMN "Qty" TO "Quantity"',
        'ALTER TABLE "Order Items" ADD COLUMN id bigserial',
    ],
)
def test_fixes_quote_identifiers_and_parse(statement: str) -> None:
    import pglast

    findings = [f for f in run(f"{statement};", schema=None) if f.fix]
    assert findings
    for f in findings:
        assert f.fix is not None
        assert '"Order Items"' in f.fix
        runnable = "\n".join(
            line for line in f.fix.splitlines() if "<" not in line and "…" not in line
        )
        pglast.parse_sql(runnable)  # raises on SQL that does not parse
