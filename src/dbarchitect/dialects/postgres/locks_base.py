"""The vocabulary of PostgreSQL's lock knowledge (locks.py, locks_alter.py): lock names,
the `Facts` a prediction may ask about the schema, and the accumulated prediction."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from dbarchitect.migrate.safety.effects import STRENGTH, Effect
from dbarchitect.migrate.safety.typechange import TypeKey

AE = "AccessExclusiveLock"
SUE = "ShareUpdateExclusiveLock"
SHARE = "ShareLock"
SRE = "ShareRowExclusiveLock"
RE = "RowExclusiveLock"
EXCL = "ExclusiveLock"


class Facts(Protocol):
    """What the analysis knows of the schema just before the statement runs."""

    pg_version: int
    timezone_utc: bool

    def volatility(self, function: str) -> str:
        """'i', 's' or 'v' for a function name; '' when unknown."""

    def column_type(self, table: str, column: str) -> TypeKey | None: ...

    def not_null_proven(self, table: str, column: str) -> bool:
        """A validated CHECK (column IS NOT NULL) exists."""

    def is_partitioned(self, table: str) -> bool: ...

    def index_table(self, index: str) -> str | None: ...

    def attach_proven(self, parent: str, partition: str) -> bool:
        """A validated CHECK on `partition` covers the parent's partition key."""

    def fk_parents(self, table: str) -> list[str]: ...


@dataclass(frozen=True, slots=True)
class Concern:
    """A hazard raised by one statement on one relation."""

    hazard: str
    relation: str
    lock: str | None
    message: str
    fix: str


@dataclass(slots=True)
class Prediction:
    """A statement's predicted effect and the hazards it raises."""

    effect: Effect
    concerns: list[Concern] = field(default_factory=list)
    validates: list[tuple[str, str]] = field(default_factory=list)  # (table, constraint)


@dataclass(slots=True)
class Acc:
    locks: dict[str, str] = field(default_factory=dict)
    rewrites: set[str] = field(default_factory=set)
    scans: set[str] = field(default_factory=set)
    in_transaction: bool = True
    data_loss: bool = False
    concerns: list[Concern] = field(default_factory=list)
    validates: list[tuple[str, str]] = field(default_factory=list)

    def lock(self, rel: str, mode: str) -> None:
        if rel not in self.locks or STRENGTH[mode] > STRENGTH[self.locks[rel]]:
            self.locks[rel] = mode

    def concern(self, hazard: str, rel: str, lock: str | None, what: str, fix: str) -> None:
        self.concerns.append(Concern(hazard, rel, lock, what, fix))

    def done(self) -> Prediction:
        effect = Effect(
            locks=dict(self.locks),
            rewrites=frozenset(self.rewrites),
            scans=frozenset(self.scans),
            in_transaction=self.in_transaction,
            data_loss=self.data_loss,
        )
        return Prediction(effect=effect, concerns=self.concerns, validates=self.validates)


def qualify(rv: Any) -> str:
    """`schema.name`, unqualified names taken as public (the usual search_path)."""
    return f"{rv.schemaname or 'public'}.{rv.relname}"


def qualify_names(names: Any) -> str:
    parts = [str(n.sval) for n in names]
    return ".".join(parts) if len(parts) > 1 else f"public.{parts[0]}"
