"""Realize a design: build the Schema for every target, run its DDL on the real engine, and
keep what the engine's catalog says as the designed schema.

Generators read the introspected schema, never the spec: type texts, defaults and names are
then exactly what the engine made of the DDL, so generated code reproduces the database and
not our idea of it.
"""

from __future__ import annotations

from dataclasses import dataclass

from dbarchitect.design.build import build
from dbarchitect.design.load import LoadedSpec
from dbarchitect.dialects import get_dialect
from dbarchitect.errors import DbarchError, InputError
from dbarchitect.model import Schema
from dbarchitect.review.engine import review
from dbarchitect.review.finding import Finding
from dbarchitect.sources import introspect_url


@dataclass(frozen=True)
class Target:
    """One engine's part of a design: its DDL, the schema the engine made of it, what the
    review says about that schema, and what the engine could not express."""

    dialect: str
    ddl: str
    schema: Schema
    findings: tuple[Finding, ...]
    notes: tuple[str, ...]
    empty: Schema  # the same engine's fresh database: what the first migration starts from

    @property
    def errors(self) -> tuple[Finding, ...]:
        """Review findings of severity error (a design should have none)."""
        return tuple(f for f in self.findings if f.severity == "error")


@dataclass(frozen=True)
class Design:
    """A spec realized on each of its targets; the first target is the primary one."""

    loaded: LoadedSpec
    targets: tuple[Target, ...]

    @property
    def primary(self) -> Target:
        """The target generators write code for (the spec's first)."""
        return self.targets[0]

    def target(self, dialect: str) -> Target:
        """The target of `dialect` (an InputError when the spec does not list it)."""
        wanted = get_dialect(dialect).name
        for t in self.targets:
            if t.dialect == wanted:
                return t
        listed = ", ".join(t.dialect for t in self.targets)
        raise InputError(f"{self.loaded.path}: {wanted} is not a target (targets: {listed})")


def realize(loaded: LoadedSpec, dialects: tuple[str, ...] | None = None) -> Design:
    """Build, load and introspect the design on each target (or on `dialects` only)."""
    names = dialects or tuple(loaded.spec.targets)
    return Design(loaded=loaded, targets=tuple(_target(loaded, name) for name in names))


def _target(loaded: LoadedSpec, name: str) -> Target:
    dialect = get_dialect(name)
    built = build(loaded, dialect.name)
    ddl = dialect.render(built.schema)
    engine = dialect.engine()
    with engine.scratch() as url:
        empty = introspect_url(url)
        try:
            engine.run_script(url, ddl, where=f"{loaded.path} ({dialect.label} DDL)")
        except InputError as exc:
            # The spec was valid and the DDL is ours: this is a bug, reported as one line.
            raise DbarchError(f"{loaded.path}: the designed DDL did not load: {exc}") from None
        schema = introspect_url(url)
    return Target(
        dialect=dialect.name,
        ddl=ddl,
        schema=schema,
        findings=tuple(review(schema)),
        notes=built.notes,
        empty=empty,
    )


__all__ = ["Design", "Target", "realize"]
