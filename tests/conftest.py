"""Shared fixtures: real engines only. Scratch servers start once per test session."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dbarchitect.dialects import get_dialect
from dbarchitect.engines.url import DatabaseURL

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
REALWORLD = ROOT.parent / "shared" / "realworld"


def realworld_manifest() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((REALWORLD / "manifest.json").read_text())
    return data


@pytest.fixture
def pg_url() -> Iterator[DatabaseURL]:
    """A fresh, empty PostgreSQL database in the scratch cluster, dropped afterwards."""
    with get_dialect("postgres").engine().scratch() as url:
        yield url


@pytest.fixture
def sqlite_url() -> Iterator[DatabaseURL]:
    with get_dialect("sqlite").engine().scratch() as url:
        yield url


@pytest.fixture
def mysql_url() -> Iterator[DatabaseURL]:
    with get_dialect("mysql").engine().scratch() as url:
        yield url
