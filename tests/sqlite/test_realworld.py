"""Real-world SQLite schemas: Chinook and Synapse load, match the manifest and round-trip."""

from __future__ import annotations

from typing import Any

import pytest

from dbarchitect.dialects import get_dialect
from dbarchitect.model import Schema, Table, to_json
from dbarchitect.sources import load_schema
from tests.conftest import REALWORLD, realworld_manifest

DIALECT = get_dialect("sqlite")


def _dataset(name: str) -> dict[str, Any]:
    sets = realworld_manifest()["datasets"]
    found: dict[str, Any] = next(d for d in sets if d["name"] == name)
    return found


def _load(name: str) -> Schema:
    files = [str(REALWORLD / f) for f in _dataset(name)["load"]]
    return load_schema(files, dialect="sqlite")


def _reload(schema: Schema) -> Schema:
    engine = DIALECT.engine()
    with engine.scratch() as url:
        engine.run_script(url, DIALECT.render(schema), where="<rendered DDL>")
        with engine.connect(url) as session:
            return DIALECT.introspect(session)


def _virtual(t: Table) -> str | None:
    return dict(t.options).get("virtual")


def _autoindexed_pk(t: Table) -> bool:
    """Whether SQLite built a sqlite_autoindex for this table's primary key.

    It does for every primary key except a rowid table's single column declared INTEGER,
    which becomes the rowid itself.
    """
    pk = t.primary_key
    if pk is None:
        return False
    if dict(t.options).get("without_rowid") == "true" or len(pk.columns) != 1:
        return True
    column = t.column(pk.columns[0])
    return column is None or column.type.upper() != "INTEGER"


@pytest.fixture(scope="module")
def chinook() -> Schema:
    return _load("chinook-sqlite")


@pytest.fixture(scope="module")
def synapse() -> Schema:
    return _load("synapse-sqlite")


def test_chinook_counts(chinook: Schema) -> None:
    expected = _dataset("chinook-sqlite")["expected"]
    assert len(chinook.tables) == expected["tables"] == 11
    assert len(chinook.views) == expected["views"]
    assert sum(len(t.indexes) for t in chinook.tables) == expected["indexes"]
    assert (
        sum(len(t.uniques) + _autoindexed_pk(t) for t in chinook.tables)
        == (expected["autoindexes"])
    )
    assert sum(len(t.triggers) for t in chinook.tables) == expected["triggers"]
    assert sum(len(t.foreign_keys) for t in chinook.tables) == expected["foreign_keys"]
    track = chinook.table("Track")
    assert track is not None and track.primary_key is not None
    assert (track.primary_key.name, track.primary_key.columns) == ("PK_Track", ("TrackId",))
    price = track.column("UnitPrice")
    assert price is not None and (price.type, price.logical) == ("NUMERIC(10,2)", "decimal")
    playlist_track = chinook.table("PlaylistTrack")
    assert playlist_track is not None and playlist_track.primary_key is not None
    assert playlist_track.primary_key.columns == ("PlaylistId", "TrackId")


def test_chinook_rows() -> None:
    engine = DIALECT.engine()
    with engine.scratch() as url:
        engine.load_files(url, [REALWORLD / f for f in _dataset("chinook-sqlite")["load"]])
        with engine.connect(url) as session:
            for table, rows in _dataset("chinook-sqlite")["expected"]["rows"].items():
                assert session.fetch(f'SELECT count(*) AS n FROM "{table}"') == [{"n": rows}]


def test_chinook_prebuilt_file_reads_the_same(chinook: Schema) -> None:
    """The shipped .sqlite file, read through a read-only URL, equals the SQL-loaded schema."""
    prebuilt = REALWORLD / _dataset("chinook-sqlite")["prebuilt_database"]
    assert load_schema(f"sqlite:///{prebuilt}") == chinook


def test_chinook_round_trip(chinook: Schema) -> None:
    again = _reload(chinook)
    assert again == chinook
    assert to_json(again) == to_json(chinook)


def test_synapse_counts(synapse: Schema) -> None:
    expected = _dataset("synapse-sqlite")["expected"]
    ordinary = [t for t in synapse.tables if _virtual(t) is None]
    virtual = [t for t in synapse.tables if _virtual(t) is not None]
    assert len(ordinary) == expected["ordinary_tables"] == 134
    assert [_virtual(t) for t in virtual] == ["fts4"] * expected["fts4_virtual_tables"]
    assert {t.name for t in virtual} == {"event_search", "user_directory_search"}
    # The shadow tables (…_content, _segments, _segdir, _docsize, _stat) are not listed.
    assert (
        len(synapse.tables) + expected["fts4_shadow_tables"] == (expected["sqlite_master_tables"])
    )
    assert not any(t.name.endswith(("_segdir", "_segments")) for t in synapse.tables)
    assert len(synapse.views) == expected["views"]
    assert sum(len(t.indexes) for t in synapse.tables) == expected["indexes"] == 148
    # Autoindexes back UNIQUE constraints and non-rowid primary keys; each FTS4 table's
    # _segdir shadow table has one more, for its own primary key.
    constraint_autoindexes = sum(len(t.uniques) + _autoindexed_pk(t) for t in ordinary)
    assert constraint_autoindexes + len(virtual) == expected["autoindexes"] == 86
    assert sum(len(t.triggers) for t in synapse.tables) == expected["triggers"]
    assert sum(len(t.foreign_keys) for t in synapse.tables) == expected["foreign_keys"]


def test_synapse_details(synapse: Schema) -> None:
    keys = synapse.table("server_keys_json")
    assert keys is not None
    assert [(u.name, u.columns) for u in keys.uniques] == [
        ("server_keys_json_uniqueness", ("server_name", "key_id", "from_server"))
    ]
    search = synapse.table("event_search")
    assert search is not None
    assert dict(search.options)["virtual_args"] == "event_id, room_id, sender, key, value"
    (trigger,) = [tr for t in synapse.tables for tr in t.triggers]
    assert trigger.name == "partial_state_events_bad_room_id"
    assert trigger.definition.startswith("CREATE TRIGGER partial_state_events_bad_room_id")


def test_synapse_round_trip(synapse: Schema) -> None:
    again = _reload(synapse)
    assert again == synapse
    assert to_json(again) == to_json(synapse)
