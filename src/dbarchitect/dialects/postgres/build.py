"""PostgreSQL catalog rows (from introspect.fetch_catalog) → the Schema model."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from typing import Any, Literal

from dbarchitect.dialects.postgres.quoting import qname
from dbarchitect.dialects.postgres.types import explicit_bound, logical_type, sequence_bounds
from dbarchitect.model import (
    CheckConstraint,
    Collation,
    Column,
    CompositeType,
    DefaultPrivilege,
    DomainType,
    EnumType,
    ExclusionConstraint,
    Extension,
    ForeignKey,
    Function,
    Grant,
    Identity,
    Index,
    IndexKey,
    Namespace,
    Partitioning,
    Policy,
    PrimaryKey,
    RangeType,
    Schema,
    Table,
    TextSearchConfig,
    Trigger,
    UniqueConstraint,
    View,
)
from dbarchitect.model import (
    Sequence as SequenceObj,
)
from dbarchitect.model.schema import Action

Row = dict[str, Any]

_ACTIONS: dict[str, Action] = {
    "a": "NO ACTION",
    "r": "RESTRICT",
    "c": "CASCADE",
    "n": "SET NULL",
    "d": "SET DEFAULT",
}
_POLICY_CMD: dict[str, Literal["ALL", "SELECT", "INSERT", "UPDATE", "DELETE"]] = {
    "*": "ALL",
    "r": "SELECT",
    "a": "INSERT",
    "w": "UPDATE",
    "d": "DELETE",
}
_VOLATILITY: dict[str, Literal["immutable", "stable", "volatile"]] = {
    "i": "immutable",
    "s": "stable",
    "v": "volatile",
}
_PARALLEL: dict[str, Literal["safe", "restricted", "unsafe"]] = {
    "s": "safe",
    "r": "restricted",
    "u": "unsafe",
}
_KIND: dict[str, Literal["function", "procedure", "aggregate"]] = {
    "f": "function",
    "p": "procedure",
    "a": "aggregate",
    "w": "function",
}
_DEFACL_TYPES = {"r": "tables", "S": "sequences", "f": "functions", "T": "types", "n": "schemas"}


def build_schema(rows: dict[str, list[Row]]) -> Schema:
    """Assemble catalog rows (from fetch_catalog) into a Schema."""
    deps: dict[str, list[str]] = defaultdict(list)
    for r in rows["dependencies"]:
        deps[r["dependent"]].append(r["referenced"])
    by_oid: dict[str, dict[int, list[Row]]] = {}
    for name in ("columns", "constraints", "indexes", "triggers", "policies"):
        grouped: dict[int, list[Row]] = defaultdict(list)
        for r in rows[name]:
            grouped[r["oid"]].append(r)
        by_oid[name] = grouped
    names: dict[int, dict[int, str]] = defaultdict(dict)
    for r in rows["columns"]:
        names[r["oid"]][r["num"]] = r["name"]
    tables, views = [], []
    for rel in rows["relations"]:
        key = f"rel:{rel['schema']}.{rel['name']}"
        if rel["kind"] in ("r", "p"):
            tables.append(_table(rel, by_oid, names, deps.get(key, [])))
        else:
            views.append(_view(rel, by_oid, deps.get(key, [])))
    enums, domains, composites, ranges = _types(rows["types"])
    functions = [_function(r, deps) for r in rows["functions"]]
    return Schema(
        dialect="postgres",
        namespaces=tuple(
            Namespace(name=r["name"], comment=r["comment"]) for r in rows["namespaces"]
        ),
        extensions=tuple(
            Extension(
                name=r["name"],
                schema=r["schema"],
                version=r["version"],
                comment=r["comment"],
                requires=tuple(r["requires"] or ()),
            )
            for r in rows["extensions"]
        ),
        collations=tuple(_collation(r) for r in rows["collations"]),
        text_search_configs=tuple(_ts_config(r) for r in rows["ts_configs"]),
        enums=tuple(enums),
        domains=tuple(domains),
        composite_types=tuple(composites),
        ranges=tuple(ranges),
        sequences=tuple(_sequence(r) for r in rows["sequences"]),
        tables=tuple(tables),
        views=tuple(views),
        functions=tuple(functions),
        grants=tuple(_grants(rows["grants"], rows["functions"], rows["types"])),
        default_privileges=tuple(
            DefaultPrivilege(
                role=r["role"],
                schema=r["schema"],
                object_type=_DEFACL_TYPES.get(r["object_type"], str(r["object_type"])),
                grantee=r["grantee"],
                privilege=r["privilege"],
                grantable=r["grantable"],
            )
            for r in rows["default_privileges"]
        ),
    )


def _options(raw: list[str] | None) -> tuple[tuple[str, str], ...]:
    if not raw:
        return ()
    out = []
    for item in raw:
        key, _, value = item.partition("=")
        out.append((key, value))
    return tuple(out)


_NO_EXTRA: Row = {}


def _columns(rows: list[Row], *, partition: bool) -> tuple[Column, ...]:
    out = []
    for r in rows:
        x = r["extra"] or _NO_EXTRA
        identity = options = None
        if x:
            if x["identity"]:
                o = x["identity_options"] or {}
                increment = o.get("increment", 1)
                lo, hi = sequence_bounds(r["type"], increment)
                identity = Identity(
                    always=x["identity"] == "a",
                    start=o.get("start", 1),
                    increment=increment,
                    min_value=explicit_bound(o.get("min"), lo),
                    max_value=explicit_bound(o.get("max"), hi),
                    cache=o.get("cache", 1),
                    cycle=o.get("cycle", False),
                )
            options = _options(x["options"])
            if x["storage"] or x["stattarget"] is not None or x.get("compression"):
                extra = [("storage", x["storage"])] if x["storage"] else []
                if x["stattarget"] is not None:
                    extra.append(("statistics", str(x["stattarget"])))
                if x.get("compression"):
                    extra.append(("compression", x["compression"]))
                options = tuple(sorted(options + tuple(extra)))
        out.append(
            Column(
                name=r["name"],
                type=r["type"],
                logical=logical_type(r["type"], r["typtype"], r["category"], x.get("base_type")),
                nullable=not r["not_null"],
                default=r["default_expr"],
                identity=identity,
                generated=x.get("generated"),
                generated_stored=x.get("generated_kind") != "v",
                collation=x.get("collation"),
                comment=x.get("comment"),
                # Partitions always carry the parent's columns; whether they were attached or
                # created as PARTITION OF is history, not schema.
                inherited=not r["is_local"] and not partition,
                options=options or (),
            )
        )
    return tuple(out)


def _table(
    rel: Row,
    by_oid: dict[str, dict[int, list[Row]]],
    names: dict[int, dict[int, str]],
    deps: list[str],
) -> Table:
    oid = rel["oid"]
    own = names[oid]
    partition = bool(rel["is_partition"])
    pk = None
    fks, uniques, checks, exclusions = [], [], [], []
    for c in by_oid["constraints"].get(oid, []):
        # A partition's constraints that come from its parent are recreated by the parent.
        inherited = bool(c["has_parent"]) or (partition and c["inhcount"] > 0) or not c["is_local"]
        common = {"name": c["name"], "comment": c["comment"], "inherited": inherited}
        kind = c["type"]
        if kind == "p":
            pk = PrimaryKey(
                columns=tuple(own[n] for n in c["conkey"]),
                include=tuple(own[n] for n in c["include"] or ()),
                deferrable=c["deferrable"],
                initially_deferred=c["deferred"],
                index_options=_options(c["index_options"]),
                **common,
            )
        elif kind == "u":
            uniques.append(
                UniqueConstraint(
                    columns=tuple(own[n] for n in c["conkey"]),
                    include=tuple(own[n] for n in c["include"] or ()),
                    nulls_not_distinct=c["nulls_not_distinct"],
                    deferrable=c["deferrable"],
                    initially_deferred=c["deferred"],
                    index_options=_options(c["index_options"]),
                    **common,
                )
            )
        elif kind == "f":
            fks.append(
                ForeignKey(
                    columns=tuple(own[n] for n in c["conkey"]),
                    ref_schema=c["ref_schema"],
                    ref_table=c["ref_table"],
                    ref_columns=tuple(
                        c["ref_columns"] or (names[c["ref_oid"]][n] for n in c["confkey"])
                    ),
                    on_delete=_ACTIONS[c["on_delete"]],
                    on_update=_ACTIONS[c["on_update"]],
                    match_full=c["match_type"] == "f",
                    deferrable=c["deferrable"],
                    initially_deferred=c["deferred"],
                    not_valid=c["not_valid"],
                    on_delete_columns=tuple(own[n] for n in c["delete_columns"] or ()),
                    **common,
                )
            )
        elif kind == "c":
            checks.append(
                CheckConstraint(
                    expression=c["expression"],
                    not_valid=c["not_valid"],
                    no_inherit=c["no_inherit"],
                    **common,
                )
            )
        else:
            exclusions.append(
                ExclusionConstraint(
                    definition=c["definition"],
                    deferrable=c["deferrable"],
                    initially_deferred=c["deferred"],
                    **common,
                )
            )
    partitioning = None
    if rel["partition_key"]:
        strategy, _, key = rel["partition_key"].partition(" ")
        partitioning = Partitioning(strategy=strategy, key=key.strip()[1:-1])
    parents = tuple(rel["parents"] or ())
    return Table(
        schema=rel["schema"],
        name=rel["name"],
        columns=_columns(by_oid["columns"].get(oid, []), partition=partition),
        primary_key=pk,
        foreign_keys=tuple(fks),
        uniques=tuple(uniques),
        checks=tuple(checks),
        exclusions=tuple(exclusions),
        indexes=_indexes(by_oid["indexes"].get(oid, []), by_oid["columns"].get(oid, [])),
        triggers=tuple(_trigger(r) for r in by_oid["triggers"].get(oid, [])),
        policies=tuple(_policy(r) for r in by_oid["policies"].get(oid, [])),
        rls_enabled=rel["rls_enabled"],
        rls_forced=rel["rls_forced"],
        partitioning=partitioning,
        partition_of=parents[0] if partition else None,
        partition_bound=rel["partition_bound"],
        inherits=() if partition else parents,
        unlogged=rel["unlogged"],
        comment=rel["comment"],
        options=_options(rel["options"]),
        depends_on=tuple(deps),
    )


def _view(rel: Row, by_oid: dict[str, dict[int, list[Row]]], deps: list[str]) -> View:
    options = _options(rel["options"])
    check_option = next((v for k, v in options if k == "check_option"), None)
    return View(
        schema=rel["schema"],
        name=rel["name"],
        definition=rel["view_definition"],
        materialized=rel["kind"] == "m",
        columns=_columns(by_oid["columns"].get(rel["oid"], []), partition=False),
        options=tuple((k, v) for k, v in options if k != "check_option"),
        check_option=check_option,
        indexes=_indexes(
            by_oid["indexes"].get(rel["oid"], []), by_oid["columns"].get(rel["oid"], [])
        ),
        triggers=tuple(_trigger(r) for r in by_oid["triggers"].get(rel["oid"], [])),
        comment=rel["comment"],
        depends_on=tuple(deps),
    )


def _index(rows: list[Row], columns: dict[int, Row]) -> Index:
    """One index from its per-column rows (indexes.sql returns a row per column)."""
    r = rows[0]
    keys, include = [], []
    for k in rows:
        num = k["attnum"]
        column = columns[num] if num else None
        name = column["name"] if column else k["expr"]
        if not k["is_key"]:
            include.append(name)
            continue
        # A key's collation is recorded only where it differs from its column's (or, for an
        # expression, its type's) own.
        default_coll = column["coll_oid"] if column else k["expr_coll_oid"]
        collation = k["coll_name"] if k["coll_oid"] and k["coll_oid"] != default_coll else None
        desc = bool(k["descending"])
        nulls_first = bool(k["nulls_first"])
        keys.append(
            IndexKey(
                column=name,
                expression=not num,
                opclass=k["opclass"],
                collation=collation,
                descending=desc,
                # Only a non-default NULLS placement is recorded (DESC implies NULLS FIRST).
                nulls_first=None if nulls_first == desc else nulls_first,
            )
        )
    options = list(_options(r["options"]))
    if not r["is_valid"]:
        options.append(("invalid", "true"))
    return Index(
        name=r["name"],
        keys=tuple(keys),
        unique=r["is_unique"],
        method=r["method"],
        include=tuple(include),
        where=r["predicate"],
        nulls_not_distinct=r["nulls_not_distinct"],
        comment=r["comment"],
        parent=r["parent"],
        options=tuple(options),
    )


def _indexes(rows: list[Row], columns: list[Row]) -> tuple[Index, ...]:
    grouped: dict[int, list[Row]] = defaultdict(list)
    for r in rows:
        grouped[r["index_oid"]].append(r)
    by_num = {c["num"]: c for c in columns}
    return tuple(_index(g, by_num) for g in grouped.values())


def _trigger(r: Row) -> Trigger:
    t = r["tgtype"]
    timing: Literal["BEFORE", "AFTER", "INSTEAD OF"] = (
        "INSTEAD OF" if t & 64 else ("BEFORE" if t & 2 else "AFTER")
    )
    events = [
        name
        for bit, name in ((4, "INSERT"), (8, "DELETE"), (16, "UPDATE"), (32, "TRUNCATE"))
        if t & bit
    ]
    when = None
    m = re.search(r"\sWHEN \((.*)\) EXECUTE (?:FUNCTION|PROCEDURE) ", r["definition"])
    if m:
        when = m.group(1)
    return Trigger(
        name=r["name"],
        timing=timing,
        events=tuple(events),
        for_each_row=bool(t & 1),
        definition=r["definition"],
        function=r["function"],
        when=when,
        enabled=r["enabled"] != "D",
        comment=r["comment"],
        inherited=r["has_parent"],
    )


def _policy(r: Row) -> Policy:
    return Policy(
        name=r["name"],
        command=_POLICY_CMD[r["command"]],
        permissive=r["permissive"],
        roles=tuple(r["roles"] or ("public",)),
        using=r["using_expr"],
        with_check=r["check_expr"],
        comment=r["comment"],
    )


def _types(
    rows: list[Row],
) -> tuple[list[EnumType], list[DomainType], list[CompositeType], list[RangeType]]:
    enums, domains, composites, ranges = [], [], [], []
    for r in rows:
        if r["kind"] == "r":
            g = r["range"]
            ranges.append(
                RangeType(
                    schema=r["schema"],
                    name=r["name"],
                    subtype=g["subtype"],
                    subtype_opclass=g["opclass"],
                    collation=g["collation"],
                    canonical=g["canonical"],
                    subtype_diff=g["subtype_diff"],
                    multirange=g["multirange"],
                    comment=r["comment"],
                )
            )
        elif r["kind"] == "e":
            enums.append(
                EnumType(
                    schema=r["schema"],
                    name=r["name"],
                    values=tuple(r["enum_values"] or ()),
                    comment=r["comment"],
                )
            )
        elif r["kind"] == "d":
            domains.append(
                DomainType(
                    schema=r["schema"],
                    name=r["name"],
                    base_type=r["base_type"],
                    nullable=not r["not_null"],
                    default=r["default_expr"],
                    collation=r["collation"],
                    checks=tuple(
                        CheckConstraint(
                            name=c["name"],
                            expression=c["expression"],
                            not_valid=c["not_valid"],
                            comment=c["comment"],
                        )
                        for c in r["checks"]
                    ),
                    comment=r["comment"],
                )
            )
        else:
            composites.append(
                CompositeType(
                    schema=r["schema"],
                    name=r["name"],
                    attributes=tuple(
                        Column(
                            name=a["name"],
                            type=a["type"],
                            logical=logical_type(a["type"], None, None),
                            collation=a["collation"],
                            comment=a["comment"],
                        )
                        for a in r["attributes"]
                    ),
                    comment=r["comment"],
                )
            )
    return enums, domains, composites, ranges


def _sequence(r: Row) -> SequenceObj:
    lo, hi = sequence_bounds(r["type"], r["increment"])
    return SequenceObj(
        schema=r["schema"],
        name=r["name"],
        type=r["type"],
        start=r["start"],
        increment=r["increment"],
        min_value=explicit_bound(r["min_value"], lo),
        max_value=explicit_bound(r["max_value"], hi),
        cache=r["cache"],
        cycle=r["cycle"],
        owned_by=r["owned_by"],
        comment=r["comment"],
    )


def _function(r: Row, deps: dict[str, list[str]]) -> Function:
    kind = _KIND[r["kind"]]
    if kind == "aggregate":
        body = r["aggregate"] or ""
    elif r["sqlbody"] is not None:
        body = r["sqlbody"]
    elif r["probin"]:
        body = json.dumps([r["probin"], r["source"]])
    else:
        body = r["source"]
    config = tuple(tuple(item.split("=", 1)) for item in (r["config"] or ()))
    key = f"func:{r['schema']}.{r['name']}({r['identity']})"
    return Function(
        schema=r["schema"],
        name=r["name"],
        kind=kind,
        arguments=r["arguments"],
        identity=r["identity"],
        returns=r["returns"],
        language=r["language"],
        body=body,
        volatility=_VOLATILITY[r["volatility"]],
        strict=r["strict"],
        security_definer=r["security_definer"],
        leakproof=r["leakproof"],
        parallel=_PARALLEL[r["parallel"]],
        cost=r["cost"],
        rows=r["rows"] if r["rows"] else None,
        config=config,
        comment=r["comment"],
        depends_on=tuple(deps.get(key, ())),
    )


def _collation(r: Row) -> Collation:
    provider = {"i": "icu", "c": "libc", "d": "default"}[r["provider"]]
    return Collation(
        schema=r["schema"],
        name=r["name"],
        provider=provider,  # type: ignore[arg-type]
        locale=r["icu_locale"],
        lc_collate=r["lc_collate"],
        lc_ctype=r["lc_ctype"],
        deterministic=r["deterministic"],
        comment=r["comment"],
    )


def _ts_config(r: Row) -> TextSearchConfig:
    return TextSearchConfig(
        schema=r["schema"],
        name=r["name"],
        parser=r["parser"],
        mappings=tuple((token, tuple(dicts)) for token, dicts in r["mappings"]),
        comment=r["comment"],
    )


def _grants(rows: list[Row], functions: list[Row], types: list[Row]) -> list[Grant]:
    out = [
        Grant(
            object_type=r["object_type"],
            object=r["object"],
            grantee=r["grantee"],
            privilege=r["privilege"],
            grantable=r["grantable"],
            columns=(r["column_name"],) if r["column_name"] else (),
        )
        for r in rows
    ]
    # A NULL ACL means the built-in default, which for functions and types includes PUBLIC.
    # Recording it makes "executable by PUBLIC" visible and lets a REVOKE round-trip.
    for f in functions:
        if f["default_acl"]:
            obj_type = "procedure" if f["kind"] == "p" else "function"
            obj = f"{qname(f['schema'], f['name'])}({f['identity']})"
            out.append(
                Grant(object_type=obj_type, object=obj, grantee="PUBLIC", privilege="EXECUTE")
            )
    for t in types:
        if t["default_acl"]:
            obj_type = "domain" if t["kind"] == "d" else "type"
            out.append(
                Grant(
                    object_type=obj_type,
                    object=qname(t["schema"], t["name"]),
                    grantee="PUBLIC",
                    privilege="USAGE",
                )
            )
    return out
