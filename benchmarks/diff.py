"""Schema diff: dbarchitect vs migra on the judge's pairs, and a 10,000-table diff, same run.

Pairs (tests/fixtures/diff/pg/<case>/): both tools go through the test suite's judge
(tests/migrate/judge.py, `judge_case` with another migrator), so a pass means the same thing
for each: A built from before.sql (+ data.sql) and B from after.sql; up applied to A must give
B's catalog fingerprint (tests/migrate/catalog.py, not dbarchitect's introspection) with the
rows kept; a second diff by the same tool must be empty; down must give the original
fingerprint with every row; up must apply again. dbarchitect makes both directions at once
from the two introspected databases (introspection timed). migra has no down migration: its
users get one by running migra backwards, from the migrated database to one built from
before.sql, and that is what is done here, on a copy migrated by its own up. Renames
(case.toml) reach dbarchitect; migra cannot be told about them, and loses their rows.

Large: two databases of N tables (realistic columns, primary keys, some foreign keys and
indexes), each loaded by one generated script, differing in 1% of the tables, columns,
indexes and foreign keys (added, dropped or altered). Timed: migra on the two databases,
capped; dbarchitect's diff + plan + render on the two Schema values, and the same end to end
with both introspections. dbarchitect's up is then applied and compared by catalog with B.

    .venv/bin/python -m benchmarks.diff [--tables 10000] [--migra-timeout 1200]
        [--no-pairs] [--no-large] [--only NAME] [--corpus DIR]

A partial run (any of the last four options) prints its figures without recording them.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from tests.migrate import catalog, judge

from benchmarks.results import write_section
from dbarchitect.dialects import get_dialect
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.errors import DbarchError
from dbarchitect.migrate.apply import apply_statements
from dbarchitect.migrate.migration import make_migration
from dbarchitect.sources import introspect_url

CORPUS = judge.CASES
ENGINE = get_dialect("postgres").engine()


# --- the pairs --------------------------------------------------------------------------------


def migra_url(url: DatabaseURL) -> str:
    """SQLAlchemy's form of a scratch URL, with psycopg2 (migra's engine) as the driver."""
    return f"postgresql+psycopg2://{url.user}@/{url.database}?host={url.host}&port={url.port}"


def migra_statements(source: DatabaseURL, target: DatabaseURL) -> list[str]:
    """What `migra --unsafe --with-privileges SOURCE TARGET` prints, statement by statement;
    run in this process through migra's API, so interpreter start-up is not charged to it."""
    from migra import Migration  # type: ignore[import-untyped]
    from sqlbag import S  # type: ignore[import-untyped]

    with S(migra_url(source)) as s0, S(migra_url(target)) as s1:
        m = Migration(s0, s1)
        m.set_safety(False)
        m.add_all_changes(privileges=True)
        return [str(stmt) for stmt in m.statements]


# The table a migra statement acts on, and migra's own test of a destructive statement (the
# one `migra` without --unsafe refuses to print).
_TABLE = re.compile(r'^\s*(?:drop|alter) table (?:if exists )?"([^"]+)"\."([^"]+)"', re.I)
_DROP = re.compile(r"drop\s+", re.I)


@dataclass
class Tally:
    """One tool's score on the pairs; times in seconds."""

    name: str
    up: int = 0
    both: int = 0
    generate: float = 0.0
    apply: float = 0.0
    failures: dict[str, str] = field(default_factory=dict)
    stages: dict[str, str] = field(default_factory=dict)


class Tools:
    """The two migrators and re-diffs the judge calls, timed: generation (introspection
    included) and applying up and down, for the tool whose case is running."""

    def __init__(self) -> None:
        self.current: Tally | None = None
        self._apply = judge.apply
        judge.apply = self._timed_apply  # the judge's own apply, with a stopwatch around it

    def _timed_apply(self, url: DatabaseURL, steps: Sequence[judge.Step], label: str) -> None:
        t0 = time.perf_counter()
        try:
            self._apply(url, steps, label)
        finally:
            if self.current is not None and label in ("up", "down"):
                self.current.apply += time.perf_counter() - t0

    def dbarchitect(self, case: judge.Case, a: DatabaseURL, b: DatabaseURL) -> judge.Plan:
        assert self.current is not None
        t0 = time.perf_counter()
        try:
            return judge.dbarchitect_migrator(case, a, b)
        finally:
            self.current.generate += time.perf_counter() - t0

    def migra(self, case: judge.Case, a: DatabaseURL, b: DatabaseURL) -> judge.Plan:
        """Up: migra A → B. Down, which migra does not make: migra run backwards from a
        migrated copy of A to a database built from before.sql, as migra's users get one."""
        assert self.current is not None
        t0 = time.perf_counter()
        up = migra_statements(a, b)
        self.current.generate += time.perf_counter() - t0
        down: list[str] = []
        with judge.scratch_database() as migrated, judge.scratch_database() as origin:
            ENGINE.run_script(migrated, case.before, where=f"{case.name}/before.sql")
            ENGINE.run_script(origin, case.before, where=f"{case.name}/before.sql")
            try:
                self._apply(migrated, steps(up), "up")
            except Exception:
                pass  # up is broken: the judge reports it on A; no down is needed
            else:
                t0 = time.perf_counter()
                down = migra_statements(migrated, origin)
                self.current.generate += time.perf_counter() - t0
        # migra's warning of data loss is its refusal, without --unsafe, to print statements
        # that drop anything: those count as its lossy list, as `Migration.lossy` does for
        # dbarchitect, and the tables they act on are excused from keeping their rows.
        warned = [stmt for stmt in up if _DROP.search(stmt)]
        tables = {f"{m[1]}.{m[2]}" for m in map(_TABLE.match, warned) if m}
        return judge.Plan(
            up=steps(up),
            down=steps(down),
            lossy=tuple(stmt.strip() for stmt in warned),
            lossy_tables=frozenset(tables),
        )

    def migra_rediff(
        self, case: judge.Case, a: DatabaseURL, b: DatabaseURL, plan: judge.Plan
    ) -> list[str]:
        return [s.strip() for s in migra_statements(a, b)]


def steps(statements: list[str]) -> tuple[judge.Step, ...]:
    """migra's output as one transactional script, as its README applies it."""
    text = "\n".join(s for s in statements if s.strip())
    return (judge.Step(sql=text),) if text else ()


# Judge stages at or before the first up: failing there means up itself failed.
_UP_STAGES = ("loading", "make_migration", "up:")


def pairs(rows: list[str], corpus: Path, only: str | None) -> None:
    cases = [c for c in judge.all_cases(corpus) if not only or only in c.name]
    tools = Tools()
    tallies = {
        "dbarchitect": (Tally("dbarchitect"), tools.dbarchitect, judge.dbarchitect_rediff),
        "migra": (Tally("migra"), tools.migra, tools.migra_rediff),
    }
    for case in cases:
        for tally, migrator, rediff in tallies.values():
            tools.current = tally
            verdict = judge.judge_case(case, migrator, rediff)
            if verdict.ok or not verdict.stage.startswith(_UP_STAGES):
                tally.up += 1
            if verdict.ok:
                tally.both += 1
            else:
                first = verdict.detail[0].splitlines()[0] if verdict.detail else ""
                tally.failures[case.name] = f"{verdict.stage}: {first}"
                tally.stages[case.name] = re.sub(r"\d+ of \d+", "N", verdict.stage)
            print(f"{case.name:40} {tally.name:12} {tally.failures.get(case.name, 'pass')}")
    n = len(cases)
    rows.append(
        f"- corpus: {n} PostgreSQL pairs (tests/fixtures/diff/pg), each judged by "
        f"tests/migrate/judge.py for both tools: {sum(bool(c.data) for c in cases)} with rows "
        f"loaded, {sum(bool(c.renames) for c in cases)} with renames, "
        f"{sum(c.lossy for c in cases)} lossy"
    )
    for tally, _, _ in tallies.values():
        label = tally.name if tally.name == "dbarchitect" else f"migra {metadata.version('migra')}"
        rows.append(
            f"- {label}: up **{tally.up}/{n}**, up + down **{tally.both}/{n}**; generation "
            f"{tally.generate:.1f} s, generation + apply {tally.generate + tally.apply:.1f} s"
        )
    rows.append(
        "- method: dbarchitect `make_migration` on both introspected databases (introspection "
        "timed), up and down at once. migra: `migra --unsafe --with-privileges A B` (its API, "
        "in process) for up; migra has no down, so down is migra run backwards, from a copy of "
        "A migrated by its up to a database built from before.sql, as its users get one. "
        "migra cannot be told about renames: a rename case fails for it when rows are lost. "
        "Its lossy warning is its refusal of drop statements without --unsafe. A pass is "
        "every stage of the judge: up reaches after by catalog fingerprint, rows kept, a second "
        "diff by the same tool is empty, down reaches before with every row, up applies again."
    )
    ours = tallies["dbarchitect"][0].failures
    if ours:
        rows.append(f"- dbarchitect failures ({len(ours)}):")
        rows += [f"  - `{c}`: {why[:160]}" for c, why in sorted(ours.items())]
    # migra's failures grouped by the judge stage they stopped at, cases by number.
    stages: dict[str, list[str]] = {}
    for name, stage in sorted(tallies["migra"][0].stages.items()):
        stages.setdefault(stage, []).append(name.partition("-")[0])
    if stages:
        rows.append("- migra failures by judge stage:")
        rows += [f"  - {stage}: {len(c)} ({', '.join(c)})" for stage, c in sorted(stages.items())]


# --- the 10,000-table pair --------------------------------------------------------------------

# (column name, type, NOT NULL, default): the pool a table's columns are drawn from.
POOL = [
    ("code", "text", True, None),
    ("name", "varchar(80)", False, None),
    ("amount", "numeric(12,2)", True, "0"),
    ("created_at", "timestamptz", True, "now()"),
    ("updated_at", "timestamptz", False, None),
    ("active", "boolean", True, "true"),
    ("qty", "integer", False, None),
    ("note", "text", False, None),
    ("data", "jsonb", False, None),
    ("due_on", "date", False, None),
    ("ref", "uuid", False, None),
    ("status", "varchar(20)", True, "'new'::character varying"),
]


@dataclass
class Spec:
    """One generated table: columns after `id` (and `parent_id` when `parent_col`), the table
    `parent_id` references (None: no foreign key), secondary indexes."""

    name: str
    columns: list[tuple[str, str, bool, str | None]]
    parent: str | None
    indexes: dict[str, tuple[str, ...]]
    parent_col: bool = True


def before_specs(n: int) -> list[Spec]:
    specs = []
    for i in range(n):
        rng = random.Random(i)
        cols = [POOL[0], *rng.sample(POOL[1:], rng.randint(4, 9))]
        # FKs form a tree over two thirds of the tables: t{i} → t{(i-1)//2}.
        parent = f"t{(i - 1) // 2}" if i and i % 3 else None
        indexes: dict[str, tuple[str, ...]] = {f"t{i}_code_idx": ("code",)}
        if parent:
            indexes[f"t{i}_parent_idx"] = ("parent_id",)
        if i % 4 == 0 and len(cols) > 2:
            indexes[f"t{i}_{cols[1][0]}_idx"] = (cols[1][0], cols[2][0])
        specs.append(Spec(f"t{i}", cols, parent, indexes, parent is not None))
    return specs


def after_specs(before: list[Spec]) -> tuple[list[Spec], int, int]:
    """A copy of `before` with 1% of each kind of object changed; returns (specs, objects,
    changed)."""
    rng = random.Random(4)
    n = len(before)
    specs = [Spec(s.name, list(s.columns), s.parent, dict(s.indexes), s.parent_col) for s in before]
    n_cols = sum(len(s.columns) + 1 + s.parent_col for s in specs)
    n_idx = sum(len(s.indexes) for s in specs)
    n_fk = sum(bool(s.parent) for s in specs)
    objects = n + n_cols + n_idx + n_fk
    changed = 0
    # Tables: drop leaves (nothing references t{i} for i ≥ n/2) and add as many new ones.
    dropped = set(rng.sample(range(n // 2 + 1, n), n // 200))
    for k, i in enumerate(sorted(dropped)):
        new = Spec(f"t_new{k}", [POOL[0], POOL[3], POOL[7]], f"t{i // 2}", {})
        new.indexes[f"t_new{k}_parent_idx"] = ("parent_id",)
        specs.append(new)
    changed += 2 * len(dropped)
    live = [s for j, s in enumerate(specs[:n]) if j not in dropped]
    # Columns: a third added, a third dropped, a third altered (type widened, NOT NULL,
    # default); indexes over a dropped column go with it.
    for k, s in enumerate(rng.sample(live, n_cols // 100)):
        if k % 3 == 0:
            s.columns.append((f"extra{k}", "text", False, None))
        elif k % 3 == 1 and len(s.columns) > 2:
            gone = s.columns.pop()
            s.indexes = {x: c for x, c in s.indexes.items() if gone[0] not in c}
        else:
            j = rng.randrange(len(s.columns))
            name, type_, notnull, default = s.columns[j]
            if type_.startswith("varchar"):
                type_ = "varchar(200)"  # widened
            elif default is not None:
                default = None
            else:
                notnull = not notnull
            s.columns[j] = (name, type_, notnull, default)
        changed += 1
    # Indexes: half dropped, half added; foreign keys: dropped.
    for k, s in enumerate(rng.sample(live, n_idx // 100)):
        if k % 2 and s.indexes:
            del s.indexes[sorted(s.indexes)[0]]
        else:
            s.indexes[f"{s.name}_extra_idx"] = (s.columns[-1][0], "id")
        changed += 1
    for s in rng.sample([s for s in live if s.parent], n_fk // 100):
        s.parent = None
        changed += 1
    return [s for j, s in enumerate(specs) if j not in dropped], objects, changed


def spec_sql(specs: list[Spec]) -> str:
    out = []
    for s in specs:
        cols = ["id bigint PRIMARY KEY"]
        if s.parent_col:
            ref = f" REFERENCES {s.parent}(id)" if s.parent else ""
            cols.append(f"parent_id bigint{ref}")
        for name, type_, notnull, default in s.columns:
            extra = (" NOT NULL" if notnull else "") + (f" DEFAULT {default}" if default else "")
            cols.append(f"{name} {type_}{extra}")
        out.append(f"CREATE TABLE {s.name} ({', '.join(cols)});\n")
        for idx, keys in s.indexes.items():
            out.append(f"CREATE INDEX {idx} ON {s.name} ({', '.join(keys)});\n")
    return "".join(out)


def run_migra(binary: str, a: DatabaseURL, b: DatabaseURL, cap: float) -> tuple[str, float | None]:
    """migra's CLI on the two databases, stopped after `cap` seconds: the result row and its
    time (None when it did not finish)."""
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            [binary, "--unsafe", "--with-privileges", migra_url(a), migra_url(b)],
            capture_output=True,
            text=True,
            timeout=cap,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"**did not finish within {cap / 60:.0f} minutes** (stopped)", None
    took = time.perf_counter() - t0
    if proc.returncode not in (0, 2):
        return f"failed after {took:.1f} s: {proc.stderr.strip().splitlines()[-1:]}", None
    count = sum(1 for ln in proc.stdout.splitlines() if ln.rstrip().endswith(";"))
    row = f"**{took:.1f} s** (end to end: its own introspection of both), {count:,} statements"
    return row, took


def large(rows: list[str], n: int, cap: float, migra_bin: str) -> None:
    before = before_specs(n)
    after, objects, changed = after_specs(before)
    with ENGINE.scratch() as a, ENGINE.scratch() as b:
        t0 = time.perf_counter()
        ENGINE.run_script(a, spec_sql(before), where="benchmark before")
        ENGINE.run_script(b, spec_sql(after), where="benchmark after")
        ENGINE.run_script(a, "ANALYZE;", where="analyze")
        ENGINE.run_script(b, "ANALYZE;", where="analyze")
        build = time.perf_counter() - t0
        migra_row, migra_took = run_migra(migra_bin, a, b, cap)
        print(f"migra: {migra_row}")

        t0 = time.perf_counter()
        sa, sb = introspect_url(a), introspect_url(b)
        read = time.perf_counter() - t0
        t0 = time.perf_counter()
        mig = make_migration(sa, sb)
        ours = time.perf_counter() - t0
        print(f"dbarchitect: {len(mig.operations)} operations, {ours:.1f} s (+{read:.1f} s)")
        # Proof the figure is for a working migration: apply it, compare with the catalog.
        t0 = time.perf_counter()
        try:
            apply_statements(a, mig.up, label="up")
            why = ""
        except DbarchError as exc:
            why = str(exc)
        applied = time.perf_counter() - t0
        why = why or "; ".join(
            catalog.fingerprint_diff(catalog.fingerprint(a), catalog.fingerprint(b), limit=3)
        )
        verdict = f"failed: {why}" if why else "matches B by the judge's catalog fingerprint"
    rows += [
        f"- schemas: {n:,} tables (6-12 columns, primary key, a foreign key on two thirds, "
        f"1-3 indexes) vs the same with 1% of each of tables, columns, indexes and foreign keys "
        f"added, dropped or altered ({changed:,} of {objects:,} objects); each loaded by one "
        f"generated script (both in {build:.0f} s)",
        f"- dbarchitect diff + plan + render on the two Schema values: **{ours:.2f} s** "
        f"({len(mig.operations):,} operations, {len(mig.up):,} up / {len(mig.down):,} down "
        "statements)",
        f"- dbarchitect end to end (introspect both databases + the above): "
        f"**{read + ours:.2f} s**; the up migration applied in {applied:.1f} s and {verdict}",
        f"- migra {metadata.version('migra')} on the same two databases (capped at "
        f"{cap / 60:.0f} min): {migra_row}",
    ]
    if migra_took is not None:
        rows.append(
            f"- end to end, migra's time over dbarchitect's: **{migra_took / (read + ours):.1f}×**"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tables", type=int, default=10_000)
    parser.add_argument("--migra-timeout", type=float, default=1200.0)
    parser.add_argument("--migra", default=str(Path(sys.executable).with_name("migra")))
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--only", help="run the pairs whose name contains this")
    parser.add_argument("--no-pairs", action="store_true")
    parser.add_argument("--no-large", action="store_true")
    args = parser.parse_args()
    # Shared machines: the load at the start says how far the times can be trusted.
    rows = [f"- machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start"]
    if not args.no_pairs:
        pairs(rows, args.corpus, args.only)
    if not args.no_large:
        large(rows, args.tables, args.migra_timeout, args.migra)
    if args.only or args.no_pairs or args.no_large or args.corpus != CORPUS:
        print("\n".join(rows))
        return  # a partial run does not overwrite the recorded figures
    write_section(Path(__file__).with_name("RESULTS.md"), "Schema diff (issue 4)", rows)
    print("\n".join(rows))


if __name__ == "__main__":
    main()
