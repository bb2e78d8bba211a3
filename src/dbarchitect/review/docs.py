"""The rule reference (docs/rules.md), generated from the rules' own metadata."""

from __future__ import annotations

from dbarchitect.review.registry import Rule, all_rules

_ENGINE_LABEL = {"postgres": "PostgreSQL", "sqlite": "SQLite", "mysql": "MySQL/MariaDB"}
_NEEDS = {
    "schema": "the schema",
    "stats": "live statistics (database URL)",
    "data": "a sample of the data (database URL)",
}


def rule_markdown(r: Rule, level: int = 2) -> str:
    """One rule's reference section: what it checks, why, how to fix, where it applies."""
    h = "#" * level
    engines = ", ".join(_ENGINE_LABEL[e] for e in r.engines)
    default = "on" if r.enabled else "off (enable it in the configuration)"
    lines = [
        f"{h} `{r.id}` — {r.title}",
        "",
        f"Severity **{r.severity}** · family {r.family} · engines: {engines} · "
        f"needs {_NEEDS[r.needs]} · default {default}",
        "",
        f"**Problem.** {r.problem}",
        "",
        f"**Solution.** {r.solution}",
    ]
    if r.example:
        lines += ["", "```sql", r.example, "```"]
    lines += [
        "",
        f"Suppress: `dbarch:ignore {r.id}` in the object's comment, or "
        f'`ignore = {{ "{r.id}" = ["schema.object"] }}` in the configuration.',
    ]
    return "\n".join(lines) + "\n"


def rules_reference() -> str:
    """The whole reference page, families in order, rules by id."""
    rules = all_rules()
    families = sorted({r.family for r in rules})
    out = [
        "# Review rules",
        "",
        "Generated from the rules' own metadata by `dbarch rules --markdown`; do not edit by hand.",
        "",
        f"{len(rules)} rules. Severity, enablement and thresholds can be changed in "
        "`[tool.dbarch.review]` (pyproject.toml) or `[review]` (dbarch.toml).",
        "",
    ]
    for fam in families:
        out.append(f"- {fam}: " + ", ".join(f"`{r.id}`" for r in rules if r.family == fam))
    out.append("")
    for fam in families:
        out += [f"## {fam.capitalize()}", ""]
        out += [rule_markdown(r, level=3) for r in rules if r.family == fam]
    return "\n".join(out).rstrip("\n") + "\n"
