"""`dbarch check --rehearse`: run the migration on a filled scratch copy and set what really
happened (locks, rewrites, time per statement) beside what the static analysis predicted."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dbarchitect.dialects import get_dialect
from dbarchitect.migrate.safety.check import lock_name
from dbarchitect.migrate.safety.effects import STRENGTH, Effect
from dbarchitect.migrate.safety.parse import MigrationFile, Statement
from dbarchitect.migrate.safety.rehearse import Measured, rehearse
from dbarchitect.model import Schema


@dataclass(frozen=True, slots=True)
class Comparison:
    """One statement: where it is, what was predicted and what was measured."""

    where: str
    predicted: Effect | None
    measured: Measured

    @property
    def disagreements(self) -> list[str]:
        """Relations whose lock or rewrite the static analysis got wrong, in words.

        A statement that failed took effect nowhere: its failure is the finding, and there
        is nothing to compare.
        """
        if self.predicted is None or self.measured.error is not None:
            return []
        out = []
        measured_locks = {**self.measured.held, **self.measured.effect.locks}
        for rel, mode in sorted(self.measured.effect.locks.items()):
            guess = self.predicted.locks.get(rel)
            if guess is None or STRENGTH[guess] < STRENGTH[mode]:
                out.append(
                    f"{rel}: measured {lock_name(mode)}, predicted "
                    f"{lock_name(guess) if guess else 'no lock'}"
                )
        for rel, guess in sorted(self.predicted.locks.items()):
            got = measured_locks.get(rel)
            if got is not None and STRENGTH[got] < STRENGTH[guess]:
                out.append(f"{rel}: predicted {lock_name(guess)}, measured {lock_name(got)}")
        for rel in sorted(self.measured.effect.rewrites - self.predicted.rewrites):
            out.append(f"{rel}: rewritten, not predicted")
        for rel in sorted(self.predicted.rewrites - self.measured.effect.rewrites):
            out.append(f"{rel}: predicted a rewrite, none measured")
        return out


def rehearse_migrations(
    migrations: Sequence[MigrationFile],
    predicted: Sequence[tuple[Statement, Effect]],
    schema: Schema,
    *,
    rows: int,
) -> list[Comparison]:
    """Rehearse each file in order on a scratch copy of `schema` (plus the earlier files)."""
    base = get_dialect("postgres").render(schema)
    by_place = {(stmt.file, stmt.line): effect for stmt, effect in predicted}
    out: list[Comparison] = []
    for migration in migrations:
        text = _text(migration)
        for m in rehearse(base, text, rows=rows):
            out.append(
                Comparison(f"{migration.path}:{m.line}", by_place.get((migration.path, m.line)), m)
            )
        base += "\n" + text
    return out


def _text(migration: MigrationFile) -> str:
    with open(migration.path, encoding="utf-8") as fh:
        return fh.read()


def render_comparisons(comparisons: Sequence[Comparison], rows: int) -> str:
    """The rehearsal as text: per statement the time, measured locks and rewrites."""
    lines = [f"Rehearsal on a scratch copy with {rows:,} rows per table:"]
    disagree = 0
    for c in comparisons:
        m = c.measured
        locks = ", ".join(
            f"{rel} {lock_name(mode)}" for rel, mode in sorted(m.effect.locks.items())
        )
        text = f"  {c.where}  {m.elapsed * 1000:.1f} ms  locks: {locks or 'none new'}"
        if m.effect.rewrites:
            text += f"; rewrites: {', '.join(sorted(m.effect.rewrites))}"
        if m.error:
            text += f"; failed: {m.error}"
        lines.append(text)
        for d in c.disagreements:
            disagree += 1
            lines.append(f"    disagrees with the static verdict: {d}")
    lines.append(f"{len(comparisons)} statements rehearsed, {disagree} disagreements")
    return "\n".join(lines) + "\n"
