"""Run the registered rules over a schema and collect their findings."""

from __future__ import annotations

import re

from dbarchitect.model import Schema
from dbarchitect.model.stats import Stats
from dbarchitect.review.config import ReviewConfig, check_rule_ids
from dbarchitect.review.context import ReviewContext, Sampler, object_name
from dbarchitect.review.finding import Finding
from dbarchitect.review.registry import Rule, all_rules

_MARKER = re.compile(r"dbarch:ignore\s+([a-z0-9-]+(?:\s*,\s*[a-z0-9-]+)*)")


def selected_rules(dialect: str, config: ReviewConfig) -> list[Rule]:
    """The rules that apply to `dialect` and are switched on by `config`."""
    rules = all_rules()
    check_rule_ids(config, {r.id for r in rules})
    out = []
    for r in rules:
        if not r.applies_to(dialect):
            continue
        if config.only:
            if r.id in config.only:
                out.append(r)
            continue
        if r.id in config.disable or not (r.enabled or r.id in config.enable):
            continue
        out.append(r)
    return out


def review(
    schema: Schema,
    config: ReviewConfig | None = None,
    *,
    stats: Stats | None = None,
    sampler: Sampler | None = None,
) -> list[Finding]:
    """Every finding of the selected rules on `schema`, most severe first, deterministic."""
    config = config or ReviewConfig()
    ctx = ReviewContext(schema=schema, config=config, stats=stats, sampler=sampler)
    ignored_by_comment = _comment_markers(schema)
    findings: set[Finding] = set()
    for r in selected_rules(schema.dialect, config):
        if r.needs == "stats" and stats is None:
            continue
        if r.needs == "data" and sampler is None:
            continue
        severity = config.severity.get(r.id, r.severity)
        skip = config.ignore.get(r.id, frozenset())
        for hit in r.check(ctx):
            if hit.object in skip or _marked(ignored_by_comment, hit.object, r.id):
                continue
            findings.add(
                Finding(
                    rule=r.id,
                    severity=severity,
                    kind=hit.kind,
                    object=hit.object,
                    message=hit.message,
                    rationale=r.problem.split("\n\n")[0],
                    fix=hit.fix,
                )
            )
    return sorted(findings, key=Finding.sort_key)


def _marked(markers: dict[str, set[str]], obj: str, rule_id: str) -> bool:
    """A `dbarch:ignore id` in the comment of the object or of any object containing it."""
    return any(
        rule_id in ids and (obj == key or obj.startswith(key + ".")) for key, ids in markers.items()
    )


def _comment_markers(schema: Schema) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}

    def add(name: str, comment: str | None) -> None:
        if comment:
            for m in _MARKER.finditer(comment):
                out.setdefault(name, set()).update(x.strip() for x in m.group(1).split(","))

    for t in schema.tables:
        add(object_name(t.schema, t.name), t.comment)
        for c in t.columns:
            add(object_name(t.schema, t.name, c.name), c.comment)
        for ix in t.indexes:
            add(object_name(t.schema, t.name, ix.name), ix.comment)
        for group in (t.foreign_keys, t.uniques, t.checks, t.exclusions):
            for con in group:
                add(object_name(t.schema, t.name, con.name), con.comment)
        if t.primary_key:
            add(object_name(t.schema, t.name, t.primary_key.name), t.primary_key.comment)
    for v in schema.views:
        add(object_name(v.schema, v.name), v.comment)
    for f in schema.functions:
        add(object_name(f.schema, f"{f.name}({f.identity})"), f.comment)
    for s in schema.sequences:
        add(object_name(s.schema, s.name), s.comment)
    for ns in schema.namespaces:
        add(ns.name, ns.comment)
    return out
