"""A review finding: one rule's verdict on one object, with the reason and the fix."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")
RANK: dict[str, int] = {"error": 3, "warning": 2, "info": 1, "never": 4}


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """What a rule found. `kind` and `object` name the object (`table`, `public.orders`)."""

    rule: str
    severity: Severity
    kind: str
    object: str
    message: str
    rationale: str = ""
    fix: str | None = None
    file: str | None = None
    line: int | None = None

    @property
    def fingerprint(self) -> str:
        """Stable across runs and message wording: rule, object kind and name."""
        key = f"{self.rule}\0{self.kind}\0{self.object}".encode()
        return hashlib.sha256(key).hexdigest()[:16]

    def sort_key(self) -> tuple[int, str, str, str, str]:
        return (-RANK[self.severity], self.rule, self.kind, self.object, self.message)


@dataclass(frozen=True, slots=True, kw_only=True)
class Hit:
    """What a rule's check yields; the engine adds the rule's id, severity and rationale."""

    kind: str
    object: str
    message: str
    fix: str | None = None
