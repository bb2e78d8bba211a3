"""Every rule against its fixture files, on the real engines it applies to.

tests/fixtures/review/<rule-id>/ holds, per engine (no suffix for PostgreSQL, `.sqlite` or
`.mysql` otherwise):
  fail<sfx>.sql       a schema the rule must flag
  pass<sfx>.sql       a schema, as close to the failing one as possible, it must not flag
  fail<sfx>.expected  optional: the exact "kind object" lines the rule must report
  <verdict><sfx>.workload.sql  optional, for rules on live statistics: run after loading
  config.toml         optional review configuration ([review] table) for the rule's cases
A missing fail or pass file for an engine the rule applies to fails the test: every rule
is proven on every engine it claims.
"""

from __future__ import annotations

import pytest

from dbarchitect.dialects import get_dialect
from dbarchitect.review import ReviewConfig, all_rules, load_config
from dbarchitect.review.source import review_url
from tests.conftest import FIXTURES

CASES = FIXTURES / "review"


def _suffix(engine: str) -> str:
    return "" if engine == "postgres" else f".{engine}"


def _params() -> list[object]:
    out = []
    for r in all_rules():
        for engine in r.engines:
            for verdict in ("fail", "pass"):
                out.append(pytest.param(r.id, engine, verdict, id=f"{r.id}[{engine}-{verdict}]"))
    return out


def _config(rule_id: str) -> ReviewConfig:
    path = CASES / rule_id / "config.toml"
    base = load_config(path) if path.exists() else ReviewConfig()
    return base.model_copy(update={"only": frozenset({rule_id})})


@pytest.mark.parametrize(("rule_id", "engine", "verdict"), _params())
def test_rule_case(rule_id: str, engine: str, verdict: str) -> None:
    folder = CASES / rule_id
    sfx = _suffix(engine)
    case = folder / f"{verdict}{sfx}.sql"
    assert case.is_file(), f"missing fixture {case.relative_to(FIXTURES)}"
    eng = get_dialect(engine).engine()
    with eng.scratch() as url:
        target = eng.load_files(url, [case])
        workload = folder / f"{verdict}{sfx}.workload.sql"
        if workload.is_file():
            eng.run_script(target, workload.read_text(encoding="utf-8"), where=str(workload))
        _, findings = review_url(target, _config(rule_id))
    hits = {f"{f.kind} {f.object}" for f in findings if f.rule == rule_id}
    if verdict == "pass":
        assert not hits, f"{rule_id} flagged the passing case: {sorted(hits)}"
        return
    assert hits, f"{rule_id} did not flag {case.name}"
    expected = folder / f"fail{sfx}.expected"
    if expected.is_file():
        lines = {ln.strip() for ln in expected.read_text().splitlines() if ln.strip()}
        assert hits == lines
    for f in findings:
        assert f.message and f.rationale


def test_every_rule_is_documented() -> None:
    for r in all_rules():
        assert r.title and r.problem and r.solution, r.id
        assert r.title[0].isupper() and not r.title.endswith("."), r.id
        assert r.family in {
            "keys",
            "indexes",
            "types",
            "naming",
            "normalization",
            "security",
            "operations",
        }, r.id


def test_at_least_fifty_rules() -> None:
    assert len(all_rules()) >= 50


def test_fixture_folders_belong_to_rules() -> None:
    known = {r.id for r in all_rules()}
    stray = sorted(p.name for p in CASES.iterdir() if p.is_dir() and p.name not in known)
    assert not stray, f"fixture folders without a rule: {stray}"
