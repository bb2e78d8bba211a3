"""The judge of schema migrations: apply a generated migration to a real database and compare.

A case is a directory with before.sql, after.sql, optional data.sql (rows loaded into the
before database) and optional case.toml. The judge builds database A from before (+ data) and B
from after, asks a migrator for up and down SQL, and then proves, with the independent catalog
fingerprint of `catalog.py`:

1. up applies to A, and A's fingerprint equals B's;
2. no sequence feeding a column would hand out a value the column already holds;
3. the rows of every table survive in the columns that up leaves unchanged (type and name,
   renames followed);
4. a second diff of A against after is empty (when the migrator can re-diff);
5. down applies, A's fingerprint equals the original, and every table's rows are as loaded
   (tables a lossy case's migration destroys are excused);
6. up applies again and A equals B once more.

The first stage that fails ends the run; the `Verdict` names it with the exact error or the
fingerprint entries that differ. Benchmarks reuse `judge_case` with another `Migrator`.
"""

from __future__ import annotations

import atexit
import time
import tomllib
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from dbarchitect.dialects import get_dialect
from dbarchitect.engines.postgres import conninfo
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.migrate.migration import Rename
from tests.migrate import catalog

CASES = Path(__file__).resolve().parent.parent / "fixtures" / "diff" / "pg"


@dataclass(frozen=True, slots=True, kw_only=True)
class Case:
    """One (before, after) pair and what the judge must know about it."""

    name: str
    before: str
    after: str
    data: str = ""
    renames: tuple[Rename, ...] = ()
    lossy: bool = False
    online: bool = True
    # False when down cannot restore the physical column order (a column dropped from the
    # middle of a table comes back at its end); the column sets are still compared.
    column_order: bool = True
    path: Path | None = None


def parse_rename(text: str, where: str) -> Rename:
    """`schema.table=schema.table2` (a table) or `schema.table.col=schema.table.col2` (a column)."""
    old, sep, new = text.partition("=")
    if not sep or old.count(".") != new.count(".") or old.count(".") not in (1, 2):
        raise ValueError(f"{where}: bad rename {text!r}")
    return Rename(kind="table" if old.count(".") == 1 else "column", old=old, new=new)


def load_case(path: Path) -> Case:
    """Read a case directory."""
    meta: dict[str, object] = {}
    toml = path / "case.toml"
    if toml.exists():
        meta = tomllib.loads(toml.read_text(encoding="utf-8"))
    unknown = set(meta) - {"renames", "lossy", "online", "column_order", "about"}
    if unknown:
        raise ValueError(f"{toml}: unknown keys {sorted(unknown)}")
    data = path / "data.sql"
    renames = meta.get("renames", [])
    assert isinstance(renames, list)
    return Case(
        name=path.name,
        before=(path / "before.sql").read_text(encoding="utf-8"),
        after=(path / "after.sql").read_text(encoding="utf-8"),
        data=data.read_text(encoding="utf-8") if data.exists() else "",
        renames=tuple(parse_rename(str(r), str(toml)) for r in renames),
        lossy=bool(meta.get("lossy", False)),
        online=bool(meta.get("online", True)),
        column_order=bool(meta.get("column_order", True)),
        path=path,
    )


def all_cases(root: Path = CASES) -> list[Case]:
    """Every case directory under `root`, in name order."""
    return [load_case(p) for p in sorted(root.iterdir()) if (p / "before.sql").exists()]


# ---- what a migrator hands the judge -------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    sql: str
    transactional: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """A migration as the judge needs it: SQL both ways and which tables it says it destroys."""

    up: tuple[Step, ...]
    down: tuple[Step, ...]
    lossy: tuple[str, ...] = ()
    lossy_tables: frozenset[str] = frozenset()
    # Whatever the migrator wants its re-diff to reuse (dbarchitect: the after Schema).
    memo: object = None


# (case, url of A, url of B) → Plan; A is still in the before state, B in the after state.
Migrator = Callable[[Case, DatabaseURL, DatabaseURL], Plan]
# (case, url of A after up, url of B, plan) → what a second diff still wants to do.
Rediff = Callable[[Case, DatabaseURL, DatabaseURL, Plan], list[str]]


def dbarchitect_migrator(case: Case, a: DatabaseURL, b: DatabaseURL) -> Plan:
    """Introspect both databases with dbarchitect and make its migration."""
    from dbarchitect.migrate.migration import make_migration
    from dbarchitect.sources import introspect_url

    after = introspect_url(b)
    m = make_migration(introspect_url(a), after, renames=case.renames, online=case.online)
    lossy_tables = set()
    for op in m.operations:
        if op.lossy:
            lossy_tables.add(op.owner or op.name)
    return Plan(
        up=tuple(Step(sql=s.sql, transactional=s.transactional) for s in m.up),
        down=tuple(Step(sql=s.sql, transactional=s.transactional) for s in m.down),
        lossy=m.lossy,
        lossy_tables=frozenset(lossy_tables),
        memo=after,
    )


def dbarchitect_rediff(case: Case, a: DatabaseURL, b: DatabaseURL, plan: Plan) -> list[str]:
    """What dbarchitect's diff still finds between A (after up) and B."""
    from dbarchitect.migrate.diff import diff
    from dbarchitect.model import Schema
    from dbarchitect.sources import introspect_url

    after = plan.memo if isinstance(plan.memo, Schema) else introspect_url(b)
    return [op.describe() for op in diff(introspect_url(a), after).operations]


# ---- the verdict ---------------------------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class Verdict:
    case: str
    ok: bool = False
    stage: str = ""
    detail: list[str] = field(default_factory=list)
    plan: Plan | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    def report(self) -> str:
        """A failure message: the case, the stage and what was wrong there."""
        head = f"{self.case}: {'passed' if self.ok else f'FAILED at {self.stage}'}"
        lines = [head, *("  " + line for line in self.detail)]
        if not self.ok and self.plan is not None:
            for label, steps in (("up", self.plan.up), ("down", self.plan.down)):
                lines.append(f"  -- generated {label} ({len(steps)} statements):")
                lines.extend(f"  {i}. {s.sql}" for i, s in enumerate(steps[:40], 1))
        return "\n".join(lines)


class _Failed(Exception):
    def __init__(self, stage: str, detail: Sequence[str]) -> None:
        super().__init__("\n".join([stage, *detail]))
        self.stage = stage
        self.detail = list(detail)


def judge_case(
    case: Case,
    migrator: Migrator = dbarchitect_migrator,
    rediff: Rediff | None = dbarchitect_rediff,
) -> Verdict:
    """Run every stage of the judge on one case (see the module docstring)."""
    verdict = Verdict(case=case.name)
    with scratch_database() as a, scratch_database() as b:
        try:
            _stages(case, a, b, migrator, rediff, verdict)
            verdict.ok = True
        except _Failed as failed:
            verdict.stage, verdict.detail = failed.stage, failed.detail
    return verdict


def _stages(
    case: Case,
    a: DatabaseURL,
    b: DatabaseURL,
    migrator: Migrator,
    rediff: Rediff | None,
    verdict: Verdict,
) -> None:
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        verdict.seconds[name] = round(now - clock, 3)
        clock = now

    load_databases(case, a, b)
    want_before, want_after = catalog.fingerprint(a), catalog.fingerprint(b)
    if want_before == want_after:
        raise _Failed("vacuous case", ["before and after have the same catalog fingerprint"])
    columns_before = catalog.table_columns(a)
    kept = kept_columns(case, columns_before, catalog.table_columns(b))
    sums_all = catalog.checksums(a, _triples(columns_before))
    sums_kept = catalog.checksums(a, {t: old for t, (old, _new) in kept.items()})
    lap("load")

    try:
        plan = migrator(case, a, b)
    except Exception as exc:
        raise _Failed("make_migration", _exception(exc)) from None
    verdict.plan = plan
    lap("migrate")

    apply(a, plan.up, "up")
    _same(catalog.fingerprint(a), want_after, "up: fingerprint of A differs from after", case)
    _no_overruns(a, "up")
    after_up = catalog.checksums(a, {t: new for t, (_old, new) in kept.items()})
    excused = plan.lossy_tables if case.lossy else frozenset()
    lost = [
        f"{t}: rows {sums_kept[t]} before, {after_up.get(t)} after up (columns kept by up)"
        for t in sorted(sums_kept)
        if sums_kept[t] != after_up.get(t) and t not in excused
    ]
    if lost:
        raise _Failed("up: data", lost)
    lap("up")

    if rediff is not None:
        try:
            again = rediff(case, a, b, plan)
        except Exception as exc:
            raise _Failed("second diff", _exception(exc)) from None
        if again:
            raise _Failed("second diff is not empty", again)
    lap("rediff")

    apply(a, plan.down, "down")
    _same(catalog.fingerprint(a), want_before, "down: fingerprint of A differs from before", case)
    _no_overruns(a, "down")
    after_down = catalog.checksums(a, _triples(columns_before))
    lost = [
        f"{t}: rows {sums_all[t]} before, {after_down.get(t)} after down"
        for t in sorted(sums_all)
        if sums_all[t] != after_down.get(t) and t not in excused
    ]
    if lost:
        raise _Failed("down: data", lost)
    lap("down")

    apply(a, plan.up, "up again")
    _same(catalog.fingerprint(a), want_after, "up again: fingerprint differs from after", case)
    lap("up again")

    if case.lossy and not plan.lossy:
        raise _Failed("lossy flag", ["the case destroys data but the migration says nothing"])


def load_databases(case: Case, a: DatabaseURL, b: DatabaseURL) -> None:
    """A ← before.sql + data.sql, B ← after.sql."""
    run_sql(a, case.before, f"{case.name}/before.sql")
    if case.data:
        run_sql(a, case.data, f"{case.name}/data.sql")
    run_sql(b, case.after, f"{case.name}/after.sql")


def run_sql(url: DatabaseURL, text: str, where: str) -> None:
    """Run a case file as one batch of statements (one implicit transaction).

    Sent straight over the protocol rather than through psql: a process per file costs more
    than the whole load of a small case.
    """
    try:
        with psycopg.connect(conninfo(url), autocommit=True) as conn:
            conn.execute(text.encode())
    except psycopg.Error as exc:
        pos = exc.diag.statement_position
        line = text[: int(pos)].count("\n") + 1 if pos else 1
        raise _Failed(f"loading {where}", [f"{where}:{line}: {exc.diag.message_primary}"]) from None


def apply(url: DatabaseURL, steps: Sequence[Step], label: str) -> None:
    """Run steps in order: consecutive transactional ones in one transaction, others alone."""
    groups: list[list[tuple[int, Step]]] = []
    for i, step in enumerate(steps, 1):
        if step.transactional and groups and groups[-1][0][1].transactional:
            groups[-1].append((i, step))
        else:
            groups.append([(i, step)])
    with psycopg.connect(
        conninfo(url, options="-c statement_timeout=60000 -c lock_timeout=10000"),
        autocommit=True,
    ) as conn:
        for group in groups:
            current = group[0]
            try:
                if group[0][1].transactional:
                    with conn.transaction():
                        for current in group:
                            conn.execute(current[1].sql.encode())
                else:
                    conn.execute(current[1].sql.encode())
            except psycopg.Error as exc:
                i, step = current
                diag = exc.diag.message_primary or str(exc).strip()
                raise _Failed(
                    f"{label}: statement {i} of {len(steps)} failed",
                    [f"error: {diag}", *(f"sql: {ln}" for ln in step.sql.splitlines())],
                ) from None


Refs = tuple[catalog.ColumnRef, ...]


def kept_columns(
    case: Case, before: catalog.TableColumns, after: catalog.TableColumns
) -> dict[str, tuple[Refs, Refs]]:
    """Per table of `before`: the columns up keeps (same type; renames followed), named as
    before and as after, so their rows can be compared across the migration.

    Columns of composite types are left out: a composite that gains an attribute prints each
    value differently although nothing was lost (the down check still covers them).
    """
    tables = {r.old: r.new for r in case.renames if r.kind == "table"}
    cols = {r.old: r.new for r in case.renames if r.kind == "column"}
    out = {}
    for table, columns in before.items():
        new_table = tables.get(table, table)
        if new_table not in after:
            continue
        old_t, new_t = _split(table), _split(new_table)
        pairs = []
        for col, info in columns.items():
            new_col = cols.get(f"{table}.{col}", f"{new_table}.{col}").rpartition(".")[2]
            now = after[new_table].get(new_col)
            if now is not None and now.type == info.type and not info.composite:
                pairs.append(((*old_t, col, info.numeric), (*new_t, new_col, info.numeric)))
        if pairs:
            out[table] = (tuple(p[0] for p in pairs), tuple(p[1] for p in pairs))
    return out


def _split(qualified: str) -> tuple[str, str]:
    schema, _, name = qualified.partition(".")
    return schema, name


def _triples(columns: catalog.TableColumns) -> dict[str, Refs]:
    return {
        t: tuple((*_split(t), c, info.numeric) for c, info in cols.items())
        for t, cols in columns.items()
    }


def _same(have: catalog.Fingerprint, want: catalog.Fingerprint, stage: str, case: Case) -> None:
    if not case.column_order:
        have, want = catalog.without_column_order(have), catalog.without_column_order(want)
    if have != want:
        raise _Failed(stage, catalog.fingerprint_diff(have, want))


def _no_overruns(url: DatabaseURL, label: str) -> None:
    problems = catalog.sequence_overruns(url)
    if problems:
        raise _Failed(f"{label}: sequence behind its column", problems)


def _exception(exc: BaseException) -> list[str]:
    lines = [f"{type(exc).__name__}: {exc}"]
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        last = frames[-1]
        lines.append(f"at {last.filename}:{last.lineno} in {last.name}")
    return lines


# ---- scratch databases ---------------------------------------------------------------------
# CREATE DATABASE costs about a second on a busy 2-core machine; wiping a used database back to
# the state of a fresh one costs a tenth of that. A wiped database is only reused when its
# fingerprint equals a fresh database's and no default privileges are left; otherwise it is
# dropped and a new one is made, so a case can never see another case's leftovers.

WIPE_SQL = """
DO $wipe$
DECLARE s text; e text;
BEGIN
    FOR s IN SELECT nspname FROM pg_namespace
             WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname !~ '^pg_'
    LOOP
        EXECUTE format('DROP SCHEMA %I CASCADE', s);
    END LOOP;
    FOR e IN SELECT extname FROM pg_extension WHERE extname <> 'plpgsql' LOOP
        EXECUTE format('DROP EXTENSION IF EXISTS %I CASCADE', e);
    END LOOP;
END
$wipe$;
CREATE SCHEMA public AUTHORIZATION pg_database_owner;
GRANT USAGE ON SCHEMA public TO PUBLIC;
COMMENT ON SCHEMA public IS 'standard public schema';
"""

# Everything a case can leave behind, as one row; a wiped database must match a fresh one.
_RESIDUE = """
SELECT (SELECT count(*) FROM pg_class WHERE oid >= 16384) AS relations,
       (SELECT count(*) FROM pg_proc WHERE oid >= 16384) AS functions,
       (SELECT count(*) FROM pg_type WHERE oid >= 16384) AS types,
       (SELECT count(*) FROM pg_default_acl) AS default_acls,
       (SELECT array_agg(extname ORDER BY extname) FROM pg_extension) AS extensions,
       (SELECT array_agg(nspname || ' ' || coalesce(nspacl::text, '') || ' '
                         || coalesce(obj_description(oid, 'pg_namespace'), '') ORDER BY nspname)
          FROM pg_namespace WHERE nspname !~ '^pg_' AND nspname <> 'information_schema')
         AS namespaces,
       (SELECT count(*) FROM pg_collation WHERE oid >= 16384) AS collations,
       (SELECT count(*) FROM pg_ts_config WHERE oid >= 16384) AS ts_configs,
       (SELECT count(*) FROM pg_operator WHERE oid >= 16384) AS operators,
       (SELECT count(*) FROM pg_cast WHERE oid >= 16384) AS casts
"""

_free: list[DatabaseURL] = []
_stack = ExitStack()
_fresh: tuple[object, ...] | None = None


@contextmanager
def scratch_database() -> Iterator[DatabaseURL]:
    """An empty database of the scratch cluster, wiped and kept for reuse afterwards."""
    global _fresh
    while _free and not _exists(_free[-1]):
        _free.pop()  # dropped by an enclosing engine.scratch() that saw it being created
    if _free:
        url = _free.pop()
    else:
        if _fresh is None:  # registered after the cluster's own stop, so it runs before it
            atexit.register(_close_all)
        url = _stack.enter_context(get_dialect("postgres").engine().scratch())
        if _fresh is None:
            _fresh = _residue(url)
    try:
        yield url
    finally:
        if _wipe(url):
            _free.append(url)


def _exists(url: DatabaseURL) -> bool:
    with psycopg.connect(conninfo(url.with_database("postgres")), autocommit=True) as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [url.database])
        return row.fetchone() is not None


def _residue(url: DatabaseURL) -> tuple[object, ...]:
    with psycopg.connect(conninfo(url), autocommit=True) as conn:
        row = conn.execute(_RESIDUE).fetchone()
    assert row is not None
    return tuple(row)


def _wipe(url: DatabaseURL) -> bool:
    try:
        with psycopg.connect(conninfo(url), autocommit=True) as conn:
            conn.execute(WIPE_SQL.encode())
        return _residue(url) == _fresh
    except psycopg.Error:
        return False


def _close_all() -> None:
    with suppress(Exception):  # the cluster may already be gone at interpreter exit
        _stack.close()
