"""The migration hazards of `dbarch check`: stable ids, severities and documentation.

Hazards are review `Rule`s of family "migration" (so every report format describes them the
same way) kept in their own dict: the review never runs them, `check_migrations` emits them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from dbarchitect.review.finding import Finding, Hit, Severity
from dbarchitect.review.registry import Rule, reflow

_ID = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")

HAZARDS: dict[str, Rule] = {}


def _nothing(_context: object) -> Iterable[Hit]:
    """Hazards are found by walking statements, not by the review's per-schema checks."""
    return ()


def add_hazard(
    registry: dict[str, Rule],
    engine: str,
    id: str,
    severity: Severity,
    title: str,
    problem: str,
    solution: str,
    example: str,
) -> None:
    """Register one migration hazard (a `Rule` of family "migration") in `registry`."""
    if not _ID.match(id) or id in registry:
        raise ValueError(f"bad or duplicate hazard id {id!r}")
    registry[id] = Rule(
        id=id,
        title=title,
        family="migration",
        severity=severity,
        problem=reflow(problem),
        solution=reflow(solution),
        check=_nothing,
        engines=(engine,),
        example=example.strip(),
    )


def hazard_finding(
    registry: dict[str, Rule],
    rule: str,
    *,
    obj: str,
    message: str,
    fix: str | None,
    file: str,
    line: int,
    ignored: frozenset[str],
) -> Finding | None:
    """The finding for one hazard at file:line, or None where `-- dbarch:ignore` silences it."""
    if rule in ignored or "*" in ignored:
        return None
    hazard = registry[rule]
    return Finding(
        rule=rule,
        severity=hazard.severity,
        kind="statement",
        object=obj,
        message=message,
        rationale=hazard.problem,
        fix=fix,
        file=file,
        line=line,
    )


def _hazard(
    id: str, severity: Severity, title: str, problem: str, solution: str, example: str
) -> None:
    add_hazard(HAZARDS, "postgres", id, severity, title, problem, solution, example)


_LT = "SET lock_timeout = '2s';  -- retry the migration when it times out"

_hazard(
    "create-index-without-concurrently",
    "warning",
    "Index built without CONCURRENTLY",
    """CREATE INDEX holds a SHARE lock on the table for the whole build: reads continue but
    every INSERT, UPDATE and DELETE waits. On a partitioned parent the build covers every
    partition under that lock, and CONCURRENTLY is refused there.""",
    """Build it with CREATE INDEX CONCURRENTLY, outside a transaction block. For a partitioned
    table: CREATE INDEX … ON ONLY parent (invalid, empty), then CREATE INDEX CONCURRENTLY on each
    partition, then ALTER INDEX parent_index ATTACH PARTITION partition_index for each.""",
    "CREATE INDEX orders_customer_idx ON orders (customer_id);",
)
_hazard(
    "concurrently-in-transaction",
    "error",
    "CONCURRENTLY inside a transaction block",
    """CREATE/DROP INDEX CONCURRENTLY, REINDEX CONCURRENTLY and DETACH PARTITION CONCURRENTLY
    cannot run inside BEGIN … COMMIT: the statement fails and the migration stops there.""",
    """Run the statement on its own, outside BEGIN … COMMIT (most migration tools have a
    per-migration switch to disable the wrapping transaction).""",
    "BEGIN;\nCREATE INDEX CONCURRENTLY orders_customer_idx ON orders (customer_id);\nCOMMIT;",
)
_hazard(
    "drop-index-without-concurrently",
    "warning",
    "Index dropped without CONCURRENTLY",
    """DROP INDEX takes ACCESS EXCLUSIVE on the index's table: reads and writes wait, and so does
    everything queued behind the lock request.""",
    "Use DROP INDEX CONCURRENTLY, outside a transaction block.",
    "DROP INDEX orders_customer_idx;",
)
_hazard(
    "reindex-without-concurrently",
    "warning",
    "REINDEX without CONCURRENTLY",
    """REINDEX holds a SHARE lock on the table (writes wait) and ACCESS EXCLUSIVE on the index
    being rebuilt (queries that would use it wait) for the whole rebuild.""",
    "Use REINDEX (CONCURRENTLY) … (PostgreSQL 12+), outside a transaction block.",
    "REINDEX INDEX orders_customer_idx;",
)
_hazard(
    "detach-partition-without-concurrently",
    "warning",
    "DETACH PARTITION without CONCURRENTLY",
    """DETACH PARTITION takes ACCESS EXCLUSIVE on the parent: every query on the partitioned
    table waits.""",
    """On PostgreSQL 14+ use ALTER TABLE parent DETACH PARTITION part CONCURRENTLY, outside a
    transaction block (FINALIZE it if it is interrupted).""",
    "ALTER TABLE measurements DETACH PARTITION measurements_2020;",
)
_hazard(
    "add-unique-constraint-builds-index",
    "warning",
    "UNIQUE or PRIMARY KEY constraint builds its index under lock",
    """ADD UNIQUE / ADD PRIMARY KEY builds the index while holding ACCESS EXCLUSIVE on the table:
    reads and writes wait for the whole build.""",
    """Build the unique index first with CREATE UNIQUE INDEX CONCURRENTLY, then attach it with
    ADD CONSTRAINT … UNIQUE USING INDEX (or PRIMARY KEY USING INDEX, after the columns are NOT
    NULL), which is quick.""",
    "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);",
)
_hazard(
    "add-exclusion-constraint",
    "warning",
    "Exclusion constraint added to an existing table",
    """ADD EXCLUDE builds its index and checks every row while holding ACCESS EXCLUSIVE; an
    exclusion constraint can be neither NOT VALID nor built from an existing index.""",
    """Add it in a maintenance window with a lock_timeout, or create the table with the
    constraint and move the data over in batches (expand/contract).""",
    "ALTER TABLE booking ADD EXCLUDE USING gist (room WITH =, during WITH &&);",
)
_hazard(
    "add-foreign-key-validates",
    "warning",
    "Foreign key validated while adding it",
    """ADD FOREIGN KEY without NOT VALID takes SHARE ROW EXCLUSIVE on both the table and the
    referenced table (writes to both wait) and scans the table to validate every row.""",
    """Add it NOT VALID (quick), then in a separate transaction VALIDATE CONSTRAINT, which takes
    only SHARE UPDATE EXCLUSIVE and lets reads and writes continue.""",
    "ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) "
    "REFERENCES customers (id);",
)
_hazard(
    "add-check-validates",
    "warning",
    "CHECK constraint validated while adding it",
    """ADD CHECK without NOT VALID scans the whole table under ACCESS EXCLUSIVE: reads and writes
    wait for the scan. An inline CHECK on a new column does the same.""",
    """Add it NOT VALID (quick), then in a separate transaction VALIDATE CONSTRAINT (SHARE UPDATE
    EXCLUSIVE: reads and writes continue).""",
    "ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total >= 0);",
)
_hazard(
    "set-not-null-scans",
    "warning",
    "SET NOT NULL scans the table under ACCESS EXCLUSIVE",
    """ALTER COLUMN … SET NOT NULL checks every row while holding ACCESS EXCLUSIVE, unless
    (PostgreSQL 12+) a validated CHECK (column IS NOT NULL) already proves it.""",
    """Add CHECK (column IS NOT NULL) NOT VALID, VALIDATE it in a separate transaction, then SET
    NOT NULL (no scan) and drop the now redundant CHECK.""",
    "ALTER TABLE users ALTER COLUMN email SET NOT NULL;",
)
_hazard(
    "column-type-rewrite",
    "error",
    "Column type change rewrites the table",
    """ALTER COLUMN … TYPE rewrites the table and all its indexes under ACCESS EXCLUSIVE, except
    for binary-compatible changes: varchar widening, varchar → text, numeric precision increase,
    timestamp → timestamptz when the session time zone is UTC.""",
    """Expand/contract: add a new column of the new type, keep it in sync with a trigger,
    backfill it in batches, switch readers and writers over, then drop the old column.""",
    "ALTER TABLE orders ALTER COLUMN id TYPE bigint;",
)
_hazard(
    "add-column-volatile-default",
    "error",
    "New column with a volatile default rewrites the table",
    """ADD COLUMN with a volatile default (judged from pg_proc: gen_random_uuid(),
    clock_timestamp(), nextval() …) computes it for every row, rewriting the table under ACCESS
    EXCLUSIVE. Constant, stable and immutable defaults (now(), 0, 'x') are metadata only.""",
    """Add the column without a default, SET DEFAULT for new rows (quick), then backfill the
    existing rows in batches.""",
    "ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid();",
)
_hazard(
    "add-column-serial-or-identity",
    "error",
    "New serial or identity column rewrites the table",
    """A serial, bigserial or identity column added to an existing table fills every row from a
    sequence, rewriting the table under ACCESS EXCLUSIVE.""",
    """Add a plain column, create the sequence and SET DEFAULT nextval(…) for new rows, backfill
    existing rows in batches, then SET NOT NULL the safe way.""",
    "ALTER TABLE events ADD COLUMN id bigserial;",
)
_hazard(
    "add-stored-generated-column",
    "error",
    "New stored generated column rewrites the table",
    """ADD COLUMN … GENERATED ALWAYS AS (…) STORED computes the value for every row, rewriting the
    table under ACCESS EXCLUSIVE.""",
    """Add a plain column, keep it filled by a trigger for new rows, backfill in batches; or
    compute the value in a view or at query time.""",
    "ALTER TABLE items ADD COLUMN total numeric GENERATED ALWAYS AS (price * qty) STORED;",
)
_DATA_LOSS = """Deploy the code that stops using it first, keep a backup (or rename it out of the
    way and drop it in a later release), and drop it only when nothing reads it any more."""
_hazard(
    "drop-table",
    "warning",
    "Table dropped",
    """DROP TABLE loses its data for good and breaks every client still using it; it takes
    ACCESS EXCLUSIVE on the table and on the tables its foreign keys reference.""",
    _DATA_LOSS,
    "DROP TABLE legacy_orders;",
)
_hazard(
    "drop-column",
    "warning",
    "Column dropped",
    """DROP COLUMN loses the column's data for good and breaks clients that still select or
    insert it (including `SELECT *` consumers and ORMs with a cached column list).""",
    _DATA_LOSS,
    "ALTER TABLE users DROP COLUMN middle_name;",
)
_hazard(
    "drop-schema",
    "warning",
    "Schema dropped",
    "DROP SCHEMA (CASCADE) loses every object in it and their data.",
    _DATA_LOSS,
    "DROP SCHEMA reporting CASCADE;",
)
_hazard(
    "truncate",
    "warning",
    "TRUNCATE",
    "TRUNCATE deletes every row for good under ACCESS EXCLUSIVE.",
    "Make sure the data is meant to go (and backed up); delete in batches if clients stay on.",
    "TRUNCATE audit_log;",
)
_RENAME = """Expand/contract: create the new name alongside the old one (a view or a new column
    kept in sync), move the clients over, then drop the old name in a later release."""
_hazard(
    "rename-table",
    "warning",
    "Table renamed",
    "Clients still using the old name fail as soon as the rename commits.",
    _RENAME,
    "ALTER TABLE users RENAME TO accounts;",
)
_hazard(
    "rename-column",
    "warning",
    "Column renamed",
    "Clients still using the old column name fail as soon as the rename commits.",
    _RENAME,
    "ALTER TABLE users RENAME COLUMN mail TO email;",
)
_hazard(
    "unbatched-update-or-delete",
    "warning",
    "Whole-table UPDATE or DELETE",
    """An UPDATE or DELETE without WHERE touches every row in one transaction: it locks every
    row until commit (concurrent writers to those rows wait), bloats the table and the WAL.""",
    """Backfill in batches of a few thousand rows by key range, each in its own transaction,
    outside the schema migration.""",
    "UPDATE users SET active = true;",
)
_hazard(
    "attach-partition-scans",
    "warning",
    "ATTACH PARTITION scans the new partition",
    """ATTACH PARTITION scans the table being attached under ACCESS EXCLUSIVE to prove every row
    fits the bounds, unless a validated CHECK constraint already implies them.""",
    """Add a CHECK matching the bounds NOT VALID, VALIDATE it in a separate transaction, ATTACH
    (no scan), then drop the CHECK.""",
    "ALTER TABLE measurements ATTACH PARTITION m2024 FOR VALUES FROM ('2024-01-01') "
    "TO ('2025-01-01');",
)
_hazard(
    "refresh-materialized-view-without-concurrently",
    "warning",
    "REFRESH MATERIALIZED VIEW without CONCURRENTLY",
    "The refresh holds ACCESS EXCLUSIVE on the view: every read of it waits until it is done.",
    """Give the view a unique index and use REFRESH MATERIALIZED VIEW CONCURRENTLY (reads
    continue).""",
    "REFRESH MATERIALIZED VIEW sales_summary;",
)
_hazard(
    "set-logged-or-unlogged",
    "warning",
    "SET LOGGED / SET UNLOGGED rewrites the table",
    "SET LOGGED and SET UNLOGGED rewrite the whole table under ACCESS EXCLUSIVE.",
    """Do it in a maintenance window with a lock_timeout, or create a new table with the wanted
    persistence and move the data in batches.""",
    "ALTER TABLE events SET LOGGED;",
)
_hazard(
    "vacuum-full-or-cluster",
    "warning",
    "VACUUM FULL or CLUSTER rewrites the table",
    "VACUUM FULL and CLUSTER rewrite the table under ACCESS EXCLUSIVE: reads and writes wait.",
    """Use plain VACUUM, or an online repacking tool (pg_repack, pg_squeeze) that holds the
    strong lock only briefly.""",
    "VACUUM FULL orders;",
)
_hazard(
    "enum-value-used-in-same-transaction",
    "error",
    "New enum value used before its transaction commits",
    """From PostgreSQL 12, ALTER TYPE … ADD VALUE may run in a transaction but the new value
    cannot be used until that transaction commits (before 12 ADD VALUE is refused in a
    transaction block): the statement using it fails.""",
    "COMMIT after ALTER TYPE … ADD VALUE and use the value in a later transaction.",
    "BEGIN;\nALTER TYPE status ADD VALUE 'archived';\n"
    "UPDATE orders SET status = 'archived' WHERE id = 1;\nCOMMIT;",
)
_hazard(
    "unbalanced-transaction",
    "error",
    "Unbalanced BEGIN / COMMIT",
    """A COMMIT or ROLLBACK without BEGIN, a BEGIN inside a transaction, or a BEGIN never
    committed: statements do not run in the transaction you expect (a migration tool's own
    transaction may be committed early, or everything may be rolled back at disconnect).""",
    "Pair every BEGIN with one COMMIT in the same file.",
    "BEGIN;\nALTER TABLE users ADD COLUMN note text;",
)
_hazard(
    "identifier-too-long",
    "warning",
    "Identifier longer than 63 bytes",
    """PostgreSQL truncates identifiers to 63 bytes with only a NOTICE: two long names can
    collide, and later statements spelling the full name refer to the truncated one.""",
    "Choose a name of at most 63 bytes.",
    "CREATE INDEX " + "x" * 70 + " ON t (a);",
)
_hazard(
    "missing-lock-timeout",
    "info",
    "ACCESS EXCLUSIVE requested without a lock_timeout",
    """Lock requests queue: while this statement waits for ACCESS EXCLUSIVE behind a long query,
    every later query on the table queues behind it, reads included.""",
    f"""Start the migration with `{_LT}` so a blocked lock request gives up quickly instead of
    stalling traffic, and retry the migration.""",
    "ALTER TABLE users ADD COLUMN note text;",
)
_hazard(
    "strong-lock-held-across-slow-step",
    "warning",
    "Strong lock held during a slow step of the same transaction",
    """A lock is held until the transaction ends: a table rewrite, scan or index build later in
    the same transaction keeps the earlier strong lock on another table for its whole
    duration.""",
    """Split the migration: commit the quick, strongly locking statements on their own, and run
    the slow step in its own transaction (or CONCURRENTLY outside any).""",
    "BEGIN;\nALTER TABLE a RENAME COLUMN x TO y;\nCREATE INDEX b_idx ON b (c);\nCOMMIT;",
)

# Assumptions checked against the live database (`--url`): live.py emits these.
_hazard(
    "assumption-object-missing",
    "error",
    "Migration alters or drops an object that does not exist",
    """ALTER or DROP of a table, column or index that the target database does not have (and that
    the migration does not create first) fails, and the migration stops there.""",
    """Check that the migration targets the right database and that earlier migrations ran; use
    IF EXISTS only when the object may legitimately be absent.""",
    "ALTER TABLE no_such_table ADD COLUMN note text;",
)
_hazard(
    "assumption-name-taken",
    "error",
    "Migration creates a name that is already taken",
    """CREATE of a table, index, constraint or column whose name already exists in the target
    database fails (relations and indexes share one name space per schema).""",
    """Pick a free name, or use IF NOT EXISTS when the object may legitimately exist already
    (and make sure the existing one is the one you want).""",
    "CREATE TABLE users (id bigint);",
)
_hazard(
    "assumption-rows-violate-constraint",
    "error",
    "Existing rows violate the constraint being added",
    """ADD CHECK, SET NOT NULL, ADD UNIQUE / PRIMARY KEY or ADD FOREIGN KEY fails when rows
    already in the table break it: the statement errors after scanning under its lock.""",
    """Fix the data first (backfill NULLs, remove duplicates, delete or repair orphans, in
    batches), or add the constraint NOT VALID so that only new rows are checked, then clean up
    and VALIDATE CONSTRAINT.""",
    "ALTER TABLE users ALTER COLUMN email SET NOT NULL;",
)
LIVE_HAZARDS = frozenset(
    {"assumption-object-missing", "assumption-name-taken", "assumption-rows-violate-constraint"}
)

LOCK_TIMEOUT = _LT

__all__ = ["HAZARDS", "LIVE_HAZARDS", "LOCK_TIMEOUT"]
