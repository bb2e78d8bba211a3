"""Review configuration: `[tool.dbarch.review]` in pyproject.toml, or `[review]` in dbarch.toml.

[tool.dbarch.review]
enable = ["fk-missing-on-delete"]        # rules that are off by default
disable = ["vague-name"]
fail-on = "warning"
[tool.dbarch.review.severity]
timestamp-without-time-zone = "info"
[tool.dbarch.review.ignore]
table-without-primary-key = ["public.audit_log"]
[tool.dbarch.review.naming]
index = "{table}_{columns}_idx"
[tool.dbarch.review.thresholds]
wide-table-columns = 60
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dbarchitect.errors import InputError

FailOn = Literal["error", "warning", "info", "never"]


class ReviewConfig(BaseModel):
    """What to run and how strictly; every field has a sensible default."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    enable: frozenset[str] = frozenset()
    disable: frozenset[str] = frozenset()
    only: frozenset[str] = frozenset()
    fail_on: FailOn = Field("error", alias="fail-on")
    severity: dict[str, Literal["error", "warning", "info"]] = {}
    ignore: dict[str, frozenset[str]] = {}
    naming: dict[str, str] = {}
    thresholds: dict[str, float] = {}

    def threshold(self, name: str, default: float) -> float:
        return self.thresholds.get(name, default)


def load_config(path: Path | None = None, *, cwd: Path | None = None) -> ReviewConfig:
    """Read the review configuration from `path`, or find dbarch.toml / pyproject.toml."""
    if path is None:
        base = cwd or Path.cwd()
        for candidate in (base / "dbarch.toml", base / "pyproject.toml"):
            if candidate.is_file():
                config = _read(candidate, required=False)
                if config is not None:
                    return config
        return ReviewConfig()
    if not path.is_file():
        raise InputError(f"{path}: no such configuration file")
    config = _read(path, required=True)
    assert config is not None
    return config


def _read(path: Path, *, required: bool) -> ReviewConfig | None:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: {exc}") from None
    section: Any
    if path.name == "pyproject.toml":
        section = data.get("tool", {}).get("dbarch", {}).get("review")
    else:
        section = data.get("review", data if required and "review" not in data else None)
    if section is None:
        return ReviewConfig() if required else None
    try:
        return ReviewConfig.model_validate(section)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise InputError(f"{path}: review.{where}: {err['msg']}") from None


def check_rule_ids(config: ReviewConfig, known: set[str], where: str = "configuration") -> None:
    """Unknown rule ids in the configuration are errors, not silent no-ops."""
    named = set(config.enable) | config.disable | config.only | set(config.severity)
    named |= set(config.ignore)
    unknown = sorted(named - known)
    if unknown:
        raise InputError(f"{where}: unknown rule id(s): {', '.join(unknown)}")
