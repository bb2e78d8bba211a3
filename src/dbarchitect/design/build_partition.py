"""Partitioned tables: the keys a partitioned table needs, and its partitions.

A partitioned table's primary key and unique keys must include the partition column, so the
column joins each of them (and becomes NOT NULL). Range partitions are `count` days, months or
years from `start` (default: the first day of the build's month, UTC) plus a DEFAULT
partition for rows outside them; list partitions are one per value plus a DEFAULT; hash
partitions are `count` remainders. Engines without declarative partitioning get the table
unpartitioned and a note.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace

from dbarchitect.design.build_designer import first_of_month
from dbarchitect.design.build_draft import Context, Draft
from dbarchitect.design.naming import constraint_name
from dbarchitect.design.spec import PartitionSpec
from dbarchitect.model import Column

_TEMPORAL = frozenset({"date", "timestamp", "timestamptz"})


def apply_partitions(ctx: Context, drafts: dict[str, Draft]) -> None:
    """Put the partition column into every key of each partitioned table (or drop the
    partitioning, with a note, where the engine has none)."""
    for d in drafts.values():
        p = d.partition
        if p is None:
            continue
        place = (*d.place, "partition", "column")
        if not ctx.designer.caps.partitions:
            ctx.note(f"table {d.name} is not partitioned ({p.by} on {p.column})")
            d.partition = None
            continue
        col = d.column(p.column)
        if col is None:
            raise ctx.error(place, f"{d.name} has no column {p.column!r} to partition by")
        if p.by == "range" and col.logical not in _TEMPORAL:
            raise ctx.error(
                place, f"range partitions need a date or timestamp column, not {col.type}"
            )
        if p.by == "list" and not p.values:
            raise ctx.error((*d.place, "partition"), "list partitions need `values`")
        if col.nullable:
            d.replace(replace(col, nullable=False))
        if p.column not in d.primary_key:
            d.primary_key = (*d.primary_key, p.column)
            ctx.note(
                f"the primary key of {d.name} is ({', '.join(d.primary_key)}): a partitioned "
                "table's keys include its partition column"
            )
        for u in d.uniques:
            if p.column not in u.columns:
                u.columns = (*u.columns, p.column)
                ctx.note(f"unique key {d.name}({', '.join(u.columns)}) includes {p.column}")
        for ix in d.indexes:
            if ix.unique and p.column not in ix.keys:
                ix.keys = (*ix.keys, p.column)
                ctx.note(f"unique index {d.name}({', '.join(ix.keys)}) includes {p.column}")


def partitions(ctx: Context, d: Draft, column: Column, limit: int) -> list[tuple[str, str]]:
    """(name, bound) of each partition of `table`, bounds as the engine prints them."""
    bound = ctx.designer.partition_bound
    spec, table = d.partition, d.name
    assert spec is not None
    out: list[tuple[str, str]] = []
    if spec.by == "range":
        start = _start(ctx, spec, d)
        for i in range(spec.count):
            lo, hi = _step(start, spec.interval, i), _step(start, spec.interval, i + 1)
            suffix = {"day": "%Y_%m_%d", "month": "%Y_%m", "year": "%Y"}[spec.interval]
            name = constraint_name(f"{table}_{lo.strftime(suffix)}", table, limit=limit)
            out.append((name, bound("range", (lo, hi), column)))
        out.append(
            (constraint_name(f"{table}_default", table, limit=limit), bound("default", (), column))
        )
    elif spec.by == "list":
        for value in spec.values:
            slug = re.sub(r"[^a-z0-9]+", "_", value.lower()).strip("_") or "value"
            name = constraint_name(f"{table}_{slug}", table, limit=limit)
            out.append((name, bound("list", (value,), column)))
        out.append(
            (constraint_name(f"{table}_default", table, limit=limit), bound("default", (), column))
        )
    else:
        for i in range(spec.count):
            name = constraint_name(f"{table}_p{i}", table, limit=limit)
            out.append((name, bound("hash", (spec.count, i), column)))
    return out


def _start(ctx: Context, spec: PartitionSpec, d: Draft) -> dt.date:
    if spec.start is None:
        start = first_of_month(ctx.today)
    else:
        try:
            start = dt.date.fromisoformat(spec.start)
        except ValueError:
            raise ctx.error(
                (*d.place, "partition", "start"),
                f"start {spec.start!r} is not an ISO date (2025-01-01)",
            ) from None
    if spec.interval == "month":
        return start.replace(day=1)
    if spec.interval == "year":
        return start.replace(month=1, day=1)
    return start


def _step(start: dt.date, interval: str, n: int) -> dt.date:
    if interval == "day":
        return start + dt.timedelta(days=n)
    if interval == "year":
        return start.replace(year=start.year + n)
    months = start.month - 1 + n
    return dt.date(start.year + months // 12, months % 12 + 1, 1)


__all__ = ["apply_partitions", "partitions"]
