"""What one statement does to the database: locks, rewrites, scans, transaction rules.

Shared by the static analysis (predicted effects) and the rehearsal (measured effects), so
that the two can be compared field by field.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# PostgreSQL's table lock modes, weakest first.
LOCK_MODES = (
    "AccessShareLock",
    "RowShareLock",
    "RowExclusiveLock",
    "ShareUpdateExclusiveLock",
    "ShareLock",
    "ShareRowExclusiveLock",
    "ExclusiveLock",
    "AccessExclusiveLock",
)
STRENGTH = {mode: i for i, mode in enumerate(LOCK_MODES)}


def blocks_reads(mode: str) -> bool:
    """SELECT (AccessShareLock) waits only for AccessExclusiveLock."""
    return mode == "AccessExclusiveLock"


def blocks_writes(mode: str) -> bool:
    """INSERT/UPDATE/DELETE (RowExclusiveLock) wait for Share and anything stronger."""
    return STRENGTH[mode] >= STRENGTH["ShareLock"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Effect:
    """The effect of one statement. Relations are `schema.name`.

    `locks` maps each relation to the strongest table-level lock the statement takes on it;
    `rewrites` are relations whose files are rewritten (new relfilenode), `scans` those read in
    full while the lock is held; `data_loss` says whether data can be lost for good.
    """

    locks: dict[str, str] = field(default_factory=dict)
    rewrites: frozenset[str] = frozenset()
    scans: frozenset[str] = frozenset()
    in_transaction: bool = True
    data_loss: bool = False
