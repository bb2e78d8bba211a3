"""Stored routines and triggers: information_schema rows → model, model → CREATE text.

The CREATE text leaves out DEFINER (recreating an object as another account needs SUPER
and would tie the schema to one server's accounts); SQL SECURITY is kept.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace
from typing import Any, Literal

from dbarchitect.dialects.mysql.quoting import quote_ident, quote_literal
from dbarchitect.model import Function, Trigger

Row = dict[str, Any]
DEFAULT_DATA_ACCESS = "CONTAINS SQL"


def _typed(
    type_text: str, charset: str | None, collation: str | None, default_collation: str | None
) -> str:
    # A character type whose collation is not the database default says so, as SHOW CREATE
    # does; otherwise the routine would change collation when loaded elsewhere.
    if charset and collation and collation != default_collation:
        return f"{type_text} CHARSET {charset} COLLATE {collation}"
    return type_text


def build_functions(routines: list[Row], parameters: list[Row]) -> list[Function]:
    """Functions and procedures with their parameters, in the model's form."""
    params: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for p in parameters:
        params[(str(p["kind"]), str(p["routine"]))].append(p)
    out = []
    for r in routines:
        kind: Literal["function", "procedure"] = (
            "function" if r["kind"] == "FUNCTION" else "procedure"
        )
        default_collation = r.get("database_collation")
        args, types = [], []
        for p in sorted(params[(str(r["kind"]), str(r["name"]))], key=lambda p: int(p["position"])):
            ptype = _typed(str(p["type"]), p["charset"], p["collation"], default_collation)
            mode = f"{p['mode']} " if kind == "procedure" and p["mode"] else ""
            args.append(f"{mode}{quote_ident(str(p['name']))} {ptype}")
            types.append(ptype)
        config: list[tuple[str, str]] = []
        if r["data_access"] and r["data_access"] != DEFAULT_DATA_ACCESS:
            config.append(("sql_data_access", str(r["data_access"])))
        if r["sql_mode"] is not None:
            config.append(("sql_mode", str(r["sql_mode"])))
        fn = Function(
            schema="",
            name=r["name"],
            kind=kind,
            arguments=", ".join(args),
            identity=", ".join(types),
            returns=_typed(str(r["returns"]), r["charset"], r["collation"], default_collation)
            if kind == "function" and r["returns"]
            else None,
            language=str(r["language"] or "SQL").lower(),
            body=str(r["body"] or ""),
            volatility="immutable" if r["is_deterministic"] == "YES" else "volatile",
            security_definer=r["security"] == "DEFINER",
            config=tuple(config),
            comment=r["comment"] or None,
        )
        out.append(replace(fn, definition=create_routine(fn)))
    return out


def create_routine(fn: Function) -> str:
    """CREATE FUNCTION/PROCEDURE text for `fn` (no DEFINER, no delimiter)."""
    head = f"CREATE {fn.kind.upper()} {quote_ident(fn.name)}({fn.arguments})"
    lines = [head + (f" RETURNS {fn.returns}" if fn.kind == "function" and fn.returns else "")]
    config = dict(fn.config)
    lines.append(
        "    " + ("DETERMINISTIC" if fn.volatility == "immutable" else "NOT DETERMINISTIC")
    )
    lines.append("    " + config.get("sql_data_access", DEFAULT_DATA_ACCESS))
    lines.append("    SQL SECURITY " + ("DEFINER" if fn.security_definer else "INVOKER"))
    if fn.comment:
        lines.append("    COMMENT " + quote_literal(fn.comment))
    lines.append(fn.body)
    return "\n".join(lines)


def build_triggers(rows: Iterable[Row]) -> dict[str, list[Trigger]]:
    """Triggers by table name. ACTION_ORDER becomes FOLLOWS `previous` in the definition, so
    recreating them in dependency order keeps the order they fire in."""
    out: dict[str, list[Trigger]] = defaultdict(list)
    previous: dict[tuple[str, str, str], str] = {}
    for r in sorted(
        rows, key=lambda r: (r["table_name"], r["timing"], r["event"], int(r["action_order"] or 0))
    ):
        slot = (str(r["table_name"]), str(r["timing"]), str(r["event"]))
        follows = f"FOLLOWS {quote_ident(previous[slot])} " if slot in previous else ""
        previous[slot] = str(r["name"])
        timing: Literal["BEFORE", "AFTER"] = "BEFORE" if r["timing"] == "BEFORE" else "AFTER"
        definition = (
            f"CREATE TRIGGER {quote_ident(r['name'])} {timing} {r['event']}"
            f" ON {quote_ident(r['table_name'])} FOR EACH ROW {follows}{r['body']}"
        )
        out[slot[0]].append(
            Trigger(
                name=r["name"],
                timing=timing,
                events=(str(r["event"]),),
                for_each_row=r["orientation"] == "ROW",
                definition=definition,
            )
        )
    return out


def follows(trigger: Trigger) -> str | None:
    """The trigger this one is created after (FOLLOWS …) in its definition, if any."""
    marker = " FOR EACH ROW FOLLOWS "
    at = trigger.definition.find(marker)
    if at < 0:
        return None
    rest = trigger.definition[at + len(marker) :]
    if rest.startswith("`"):
        end = 1
        while end < len(rest):
            if rest[end] == "`" and rest[end + 1 : end + 2] != "`":
                break
            end += 2 if rest[end] == "`" else 1
        return rest[1:end].replace("``", "`")
    return rest.split(None, 1)[0]
