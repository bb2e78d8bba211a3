"""Shared fixtures: real engines only. Scratch servers start once per test session."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from dbarchitect.dialects import get_dialect
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.model import Schema
from dbarchitect.sources import load_schema

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
REALWORLD = ROOT.parent / "shared" / "realworld"


def realworld_manifest() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((REALWORLD / "manifest.json").read_text())
    return data


DIALECT_OF = {"postgresql": "postgres", "sqlite": "sqlite", "mysql": "mysql"}


def realworld_files(dataset: dict[str, Any]) -> list[str]:
    """The files of a corpus dataset in load order."""
    if "load_order_file" in dataset:
        order = REALWORLD / dataset["load_order_file"]
        return [
            str(order.parent / ln.strip()) for ln in order.read_text().splitlines() if ln.strip()
        ]
    return [str(REALWORLD / f) for f in dataset["load"]]


@cache
def realworld_schema(name: str) -> Schema:
    """A corpus dataset loaded through dbarchitect once per test session."""
    dataset = next(d for d in realworld_manifest()["datasets"] if d["name"] == name)
    return load_schema(realworld_files(dataset), dialect=DIALECT_OF[dataset["engine"]])


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
