"""Review a SOURCE: a live database (with its statistics and data) or files (schema only)."""

from __future__ import annotations

from collections.abc import Sequence

from dbarchitect.engines.url import DatabaseURL, looks_like_url, parse_url
from dbarchitect.model import Schema
from dbarchitect.review.config import ReviewConfig
from dbarchitect.review.engine import review
from dbarchitect.review.finding import Finding
from dbarchitect.sources import live_inputs, load_schema


def review_url(
    url: DatabaseURL, config: ReviewConfig, *, schemas: Sequence[str] | None = None
) -> tuple[Schema, list[Finding]]:
    """Review a live database through one read-only session: schema, statistics and data."""
    with live_inputs(url, schemas=schemas) as (schema, stats, sampler):
        return schema, review(schema, config, stats=stats, sampler=sampler)


def review_source(
    sources: Sequence[str],
    config: ReviewConfig,
    *,
    dialect: str | None = None,
    schemas: Sequence[str] | None = None,
) -> tuple[Schema, list[Finding]]:
    """Review any SOURCE. Files are loaded into a scratch database; only a live database
    has statistics worth reading, so the rules that need them run on URLs alone."""
    if len(sources) == 1 and looks_like_url(sources[0]):
        return review_url(parse_url(sources[0]), config, schemas=schemas)
    schema = load_schema(sources, dialect=dialect, schemas=schemas)
    return schema, review(schema, config)
