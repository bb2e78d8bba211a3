"""An independent fingerprint of a PostgreSQL database, read from the system catalogs.

The diff judge must not trust dbarchitect's own introspection (a blind spot there would hide the
same blind spot in the diff), so this module asks PostgreSQL directly: `pg_get_*def`,
`format_type`, `pg_get_expr`, `aclexplode` and friends. Objects are keyed by name, never by OID,
and everything is sorted, so two databases built differently but ending in the same state give
equal fingerprints, and `fingerprint_diff` lists the entries that differ in readable lines.

What is deliberately left out: OIDs, owners (everything here is created by the same superuser),
whether a materialized view has been refreshed (data, like its rows), sequence positions
(`last_value`; checked separately by `sequence_overruns`), statistics, and the names of identity
sequences and of partitions' copies of a parent's index (the server picks them; they are keyed
by their column or parent index instead).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql as pgsql
from psycopg.rows import dict_row

from dbarchitect.engines.postgres import conninfo
from dbarchitect.engines.url import DatabaseURL

Fingerprint = dict[str, dict[str, Any]]

# Schemas that belong to the system, and objects that belong to an extension, are not the
# user's schema: both sides get them from the server or from CREATE EXTENSION.
_USER_NS = "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_'"


def _not_ext(catalog: str, oid: str) -> str:
    return (
        f"NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '{catalog}'::regclass"
        f" AND d.objid = {oid} AND d.deptype = 'e')"
    )


def _explode(acl: str, owner: str = "0") -> str:
    return (
        "(SELECT array_agg(g ORDER BY g) FROM (SELECT CASE WHEN x.grantee = 0 THEN 'PUBLIC'"
        " ELSE pg_get_userbyid(x.grantee)::text END || ':' || x.privilege_type"
        " || CASE WHEN x.is_grantable THEN '*' ELSE '' END AS g"
        f" FROM aclexplode({acl}) x WHERE x.grantee <> {owner}) s)"
    )


def _acl(acl: str, kind: str, owner: str) -> str:
    # A NULL acl means the default one; after GRANT + REVOKE the catalog holds the explicit
    # default instead. Expanding acldefault() makes both spellings compare equal. The owner's
    # own privileges are implied by ownership, which is not compared (no owners here).
    return _explode(f"coalesce({acl}, acldefault('{kind}', {owner}))", owner)


Q_SCHEMAS = f"""
SELECT n.nspname AS name, obj_description(n.oid, 'pg_namespace') AS comment,
       {_acl("n.nspacl", "n", "n.nspowner")} AS acl
FROM pg_namespace n WHERE {_USER_NS} AND {_not_ext("pg_namespace", "n.oid")}
"""

Q_EXTENSIONS = """
SELECT e.extname AS name, n.nspname AS schema, e.extversion AS version,
       obj_description(e.oid, 'pg_extension') AS comment
FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
"""

Q_RELATIONS = f"""
SELECT n.nspname || '.' || c.relname AS name, c.relkind::text AS kind,
       c.relpersistence::text AS persistence, c.relrowsecurity AS rls,
       c.relforcerowsecurity AS force_rls,
       (SELECT array_agg(o ORDER BY o) FROM unnest(c.reloptions) o) AS options,
       CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partition_key,
       pg_get_expr(c.relpartbound, c.oid) AS partition_bound,
       (SELECT array_agg(pn.nspname || '.' || p.relname ORDER BY i.inhseqno)
          FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent
          JOIN pg_namespace pn ON pn.oid = p.relnamespace
          WHERE i.inhrelid = c.oid) AS parents,
       CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END AS view_definition,
       obj_description(c.oid, 'pg_class') AS comment,
       CASE WHEN c.relkind <> 'S' THEN {_acl("c.relacl", "r", "c.relowner")} END AS acl
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND {_USER_NS} AND {_not_ext("pg_class", "c.oid")}
"""

Q_COLUMNS = f"""
SELECT n.nspname || '.' || c.relname AS rel, a.attnum AS num, a.attname AS name,
       format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null,
       CASE WHEN a.attgenerated = '' THEN pg_get_expr(ad.adbin, ad.adrelid) END AS default,
       CASE WHEN a.attgenerated <> '' THEN pg_get_expr(ad.adbin, ad.adrelid) END AS generated,
       nullif(a.attidentity, '') AS identity,
       CASE WHEN a.attcollation <> t.typcollation THEN
         (SELECT cn.nspname || '.' || co.collname FROM pg_collation co
            JOIN pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = a.attcollation)
       END AS collation,
       CASE WHEN a.attstorage <> t.typstorage THEN a.attstorage::text END AS storage,
       nullif(a.attstattarget, -1) AS statistics, nullif(a.attcompression, '') AS compression,
       a.attislocal AS local, a.attinhcount AS inherited_count,
       (SELECT array_agg(o ORDER BY o) FROM unnest(a.attoptions) o) AS options,
       col_description(c.oid, a.attnum) AS comment,
       {_explode("a.attacl")} AS acl
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND {_USER_NS} AND {_not_ext("pg_class", "c.oid")}
ORDER BY 1, 2
"""

Q_CONSTRAINTS = f"""
SELECT coalesce(n.nspname || '.' || c.relname, tn.nspname || '.' || t.typname) AS owner,
       k.conname AS name, k.contype::text AS type, pg_get_constraintdef(k.oid) AS definition,
       k.condeferrable AS deferrable, k.condeferred AS deferred, k.convalidated AS validated,
       k.conislocal AS local, k.coninhcount AS inherited_count, k.connoinherit AS no_inherit,
       obj_description(k.oid, 'pg_constraint') AS comment
FROM pg_constraint k
LEFT JOIN pg_class c ON c.oid = k.conrelid LEFT JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_type t ON t.oid = k.contypid LEFT JOIN pg_namespace tn ON tn.oid = t.typnamespace
WHERE coalesce(n.nspname, tn.nspname) NOT IN ('pg_catalog', 'information_schema')
  AND coalesce(n.nspname, tn.nspname) !~ '^pg_' AND {_not_ext("pg_constraint", "k.oid")}
  AND (c.oid IS NULL OR {_not_ext("pg_class", "c.oid")})
  AND (t.oid IS NULL OR {_not_ext("pg_type", "t.oid")})
"""

Q_INDEXES = f"""
SELECT n.nspname || '.' || t.relname AS owner, c.relname AS name,
       quote_ident(c.relname) AS quoted, pg_get_indexdef(i.indexrelid) AS definition,
       i.indisvalid AS valid, i.indisready AS ready, i.indisprimary AS is_primary,
       (SELECT pn.nspname || '.' || p.relname FROM pg_inherits h
          JOIN pg_class p ON p.oid = h.inhparent JOIN pg_namespace pn ON pn.oid = p.relnamespace
          WHERE h.inhrelid = c.oid) AS parent,
       obj_description(c.oid, 'pg_class') AS comment
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE {_USER_NS} AND {_not_ext("pg_class", "t.oid")}
"""

Q_TRIGGERS = f"""
SELECT n.nspname || '.' || c.relname AS owner, g.tgname AS name,
       pg_get_triggerdef(g.oid) AS definition, g.tgenabled::text AS enabled,
       g.tgparentid <> 0 AS cloned, obj_description(g.oid, 'pg_trigger') AS comment
FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT g.tgisinternal AND {_USER_NS} AND {_not_ext("pg_class", "c.oid")}
"""

Q_POLICIES = f"""
SELECT n.nspname || '.' || c.relname AS owner, p.polname AS name, p.polcmd::text AS command,
       p.polpermissive AS permissive,
       (SELECT array_agg(g ORDER BY g) FROM (SELECT CASE WHEN r = 0 THEN 'PUBLIC'
          ELSE pg_get_userbyid(r)::text END AS g FROM unnest(p.polroles) r) s) AS roles,
       pg_get_expr(p.polqual, p.polrelid) AS using,
       pg_get_expr(p.polwithcheck, p.polrelid) AS with_check,
       obj_description(p.oid, 'pg_policy') AS comment
FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {_USER_NS}
"""

Q_FUNCTIONS = f"""
SELECT n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')'
         AS name,
       p.prokind::text AS kind,
       CASE WHEN p.prokind <> 'a' THEN pg_get_functiondef(p.oid) END AS definition,
       CASE WHEN p.prokind = 'a' THEN
         (SELECT g.aggtransfn::regproc::text || ' ' || format_type(g.aggtranstype, NULL)
                 || ' ' || g.aggfinalfn::regproc::text || ' ' || coalesce(g.agginitval, '')
            FROM pg_aggregate g WHERE g.aggfnoid = p.oid)
       END AS aggregate,
       pg_get_function_result(p.oid) AS returns,
       obj_description(p.oid, 'pg_proc') AS comment,
       {_acl("p.proacl", "f", "p.proowner")} AS acl
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE {_USER_NS} AND {_not_ext("pg_proc", "p.oid")}
"""

Q_TYPES = f"""
SELECT n.nspname || '.' || t.typname AS name, t.typtype::text AS kind,
       CASE WHEN t.typtype = 'e' THEN
         (SELECT array_agg(e.enumlabel::text ORDER BY e.enumsortorder)
            FROM pg_enum e WHERE e.enumtypid = t.oid) END AS labels,
       CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END AS base_type,
       CASE WHEN t.typtype = 'd' THEN t.typnotnull END AS not_null,
       t.typdefault AS default,
       CASE WHEN t.typtype = 'd' AND t.typcollation <> bt.typcollation THEN
         (SELECT co.collname::text FROM pg_collation co WHERE co.oid = t.typcollation)
       END AS collation,
       CASE WHEN t.typtype = 'c' THEN
         (SELECT array_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
                           || CASE WHEN a.attcollation <> at.typcollation
                              THEN ' COLLATE ' || a.attcollation::regcollation::text ELSE ''
                              END
                           || coalesce(' -- ' || col_description(t.typrelid, a.attnum), '')
                           ORDER BY a.attnum)
            FROM pg_attribute a JOIN pg_type at ON at.oid = a.atttypid
            WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped)
       END AS attributes,
       CASE WHEN t.typtype = 'r' THEN
         (SELECT format_type(r.rngsubtype, NULL) || ' opclass=' || r.rngsubopc::regclass::text
                 || ' collation=' || coalesce(r.rngcollation::regcollation::text, '')
                 || ' canonical=' || r.rngcanonical::text || ' diff=' || r.rngsubdiff::text
                 || ' multirange=' || format_type(r.rngmultitypid, NULL)
            FROM pg_range r WHERE r.rngtypid = t.oid)
       END AS range,
       obj_description(t.oid, 'pg_type') AS comment,
       {_acl("t.typacl", "T", "t.typowner")} AS acl
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
LEFT JOIN pg_type bt ON bt.oid = t.typbasetype
LEFT JOIN pg_class tc ON tc.oid = t.typrelid
WHERE (t.typtype IN ('e', 'd', 'r') OR (t.typtype = 'c' AND tc.relkind = 'c'))
  AND {_USER_NS} AND {_not_ext("pg_type", "t.oid")}
"""

# Identity sequences are named by the server; key them by the column they serve.
Q_SEQUENCES = f"""
SELECT coalesce('identity of ' || dn.nspname || '.' || dc.relname || '.' || da.attname,
                n.nspname || '.' || c.relname) AS name,
       format_type(s.seqtypid, NULL) AS type, s.seqstart AS start, s.seqincrement AS increment,
       s.seqmin AS min, s.seqmax AS max, s.seqcache AS cache, s.seqcycle AS cycle,
       (SELECT on_.nspname || '.' || oc.relname || '.' || oa.attname FROM pg_depend d
          JOIN pg_class oc ON oc.oid = d.refobjid
          JOIN pg_namespace on_ ON on_.oid = oc.relnamespace
          JOIN pg_attribute oa ON oa.attrelid = d.refobjid AND oa.attnum = d.refobjsubid
          WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
            AND d.refclassid = 'pg_class'::regclass AND d.deptype = 'a') AS owned_by,
       c.relpersistence::text AS persistence,
       obj_description(c.oid, 'pg_class') AS comment,
       {_acl("c.relacl", "s", "c.relowner")} AS acl
FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_depend di ON di.classid = 'pg_class'::regclass AND di.objid = c.oid
     AND di.refclassid = 'pg_class'::regclass AND di.deptype = 'i'
LEFT JOIN pg_class dc ON dc.oid = di.refobjid
LEFT JOIN pg_namespace dn ON dn.oid = dc.relnamespace
LEFT JOIN pg_attribute da ON da.attrelid = di.refobjid AND da.attnum = di.refobjsubid
WHERE {_USER_NS} AND {_not_ext("pg_class", "c.oid")}
"""

Q_COLLATIONS = f"""
SELECT n.nspname || '.' || c.collname AS name, c.collprovider::text AS provider,
       c.collcollate AS lc_collate, c.collctype AS lc_ctype, c.colliculocale AS icu_locale,
       c.collisdeterministic AS deterministic, obj_description(c.oid, 'pg_collation') AS comment
FROM pg_collation c JOIN pg_namespace n ON n.oid = c.collnamespace
WHERE {_USER_NS} AND {_not_ext("pg_collation", "c.oid")}
"""

Q_TS_CONFIGS = f"""
SELECT n.nspname || '.' || c.cfgname AS name, c.cfgparser::regprocedure::text AS parser_oid,
       (SELECT prsname FROM pg_ts_parser WHERE oid = c.cfgparser) AS parser,
       (SELECT array_agg(m.maptokentype || ':' || m.mapseqno || ':' || m.mapdict::regdictionary
                         ORDER BY m.maptokentype, m.mapseqno)
          FROM pg_ts_config_map m WHERE m.mapcfg = c.oid) AS mappings,
       obj_description(c.oid, 'pg_ts_config') AS comment
FROM pg_ts_config c JOIN pg_namespace n ON n.oid = c.cfgnamespace
WHERE {_USER_NS} AND {_not_ext("pg_ts_config", "c.oid")}
"""

Q_DEFAULT_ACLS = f"""
SELECT pg_get_userbyid(d.defaclrole)::text AS role, coalesce(n.nspname, '') AS schema,
       d.defaclobjtype::text AS object_type,
       {_explode("d.defaclacl")} AS acl
FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace
"""


@contextmanager
def _connect(url: DatabaseURL) -> Iterator[psycopg.Connection[dict[str, Any]]]:
    with psycopg.connect(conninfo(url), row_factory=dict_row, autocommit=True) as conn:
        conn.execute("SET search_path = pg_catalog")  # definitions print schema-qualified
        yield conn


def _rows(conn: psycopg.Connection[dict[str, Any]], query: str) -> list[dict[str, Any]]:
    return conn.execute(query.encode()).fetchall()


def _clean(row: Mapping[str, Any], *drop: str) -> dict[str, Any]:
    # Lists come back from array_agg; tuples would not matter but lists diff more readably.
    return {k: v for k, v in row.items() if k not in drop and v is not None and v != []}


def fingerprint(url: DatabaseURL) -> Fingerprint:
    """The user-visible schema of the database at `url`, by category then object name."""
    with _connect(url) as conn:
        fp: Fingerprint = {}
        fp["schema"] = {r["name"]: _clean(r, "name") for r in _rows(conn, Q_SCHEMAS)}
        fp["extension"] = {r["name"]: _clean(r, "name") for r in _rows(conn, Q_EXTENSIONS)}
        relations = {r["name"]: _clean(r, "name") for r in _rows(conn, Q_RELATIONS)}
        for col in _rows(conn, Q_COLUMNS):
            rel = relations.get(col["rel"])
            if rel is None:
                continue
            rel.setdefault("column_order", []).append(col["name"])
            rel.setdefault("columns", {})[col["name"]] = _clean(col, "rel", "num", "name")
        fp["relation"] = relations
        fp["constraint"] = {
            f"{r['owner']} {r['name']}": _clean(r, "owner", "name")
            for r in _rows(conn, Q_CONSTRAINTS)
        }
        fp["index"] = dict(_index_entry(r) for r in _rows(conn, Q_INDEXES))
        fp["trigger"] = {
            f"{r['owner']} {r['name']}": _clean(r, "owner", "name") for r in _rows(conn, Q_TRIGGERS)
        }
        fp["policy"] = {
            f"{r['owner']} {r['name']}": _clean(r, "owner", "name") for r in _rows(conn, Q_POLICIES)
        }
        fp["function"] = {r["name"]: _clean(r, "name") for r in _rows(conn, Q_FUNCTIONS)}
        fp["type"] = {r["name"]: _clean(r, "name") for r in _rows(conn, Q_TYPES)}
        fp["sequence"] = {r["name"]: _clean(r, "name") for r in _rows(conn, Q_SEQUENCES)}
        fp["collation"] = {r["name"]: _clean(r, "name") for r in _rows(conn, Q_COLLATIONS)}
        fp["ts_config"] = {
            r["name"]: _clean(r, "name", "parser_oid") for r in _rows(conn, Q_TS_CONFIGS)
        }
        fp["default_acl"] = {
            f"{r['role']} {r['schema']} {r['object_type']}": r["acl"]
            for r in _rows(conn, Q_DEFAULT_ACLS)
        }
    return {k: dict(sorted(v.items())) for k, v in fp.items()}


def _index_entry(row: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    # A partition's copy of a parent's index is named by the server, and the name depends on
    # the order the parent's indexes were created in: key it by its parent instead.
    if not row["parent"]:
        return f"{row['owner']} {row['name']}", _clean(row, "owner", "name", "quoted")
    entry = _clean(row, "owner", "name", "quoted", "parent")
    entry["definition"] = row["definition"].replace(f" INDEX {row['quoted']} ON ", " INDEX ON ")
    return f"{row['owner']} (index of {row['parent']})", entry


def without_column_order(fp: Fingerprint) -> Fingerprint:
    """The fingerprint with each relation's physical column order left out.

    Used only where a case declares that the order cannot be reproduced (a column dropped from
    the middle comes back at the end on the way down: PostgreSQL cannot insert columns).
    """
    out = dict(fp)
    out["relation"] = {
        name: {k: v for k, v in rel.items() if k != "column_order"}
        for name, rel in fp["relation"].items()
    }
    return out


def fingerprint_diff(have: Fingerprint, want: Fingerprint, *, limit: int = 40) -> list[str]:
    """Readable lines naming each entry that differs: `path: have=… want=…`."""
    lines: list[str] = []
    _walk(have, want, "", lines)
    if len(lines) > limit:
        lines = [*lines[:limit], f"... and {len(lines) - limit} more"]
    return lines


def _walk(have: Any, want: Any, path: str, out: list[str]) -> None:
    if isinstance(have, dict) and isinstance(want, dict):
        for key in sorted(set(have) | set(want), key=str):
            sub = f"{path} / {key}" if path else str(key)
            if key not in have:
                out.append(f"{sub}: missing, want {_short(want[key])}")
            elif key not in want:
                out.append(f"{sub}: unexpected {_short(have[key])}")
            else:
                _walk(have[key], want[key], sub, out)
    elif have != want:
        out.append(f"{path}: have {_short(have)}, want {_short(want)}")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 300 else text[:300] + "…"


# ---- data ----------------------------------------------------------------------------------

# Tables with storage, partitions and inheritance children included: each is read with ONLY,
# so rows that move with an ATTACH/DETACH PARTITION stay counted in their own table.
# Generated columns are derived data and left out.
Q_TABLE_COLUMNS = f"""
SELECT n.nspname AS schema, c.relname AS table, a.attname AS column,
       format_type(a.atttypid, a.atttypmod) AS type,
       t.typtype = 'c' OR (t.typtype = 'd' AND bt.typtype = 'c') AS composite,
       coalesce(bt.oid, t.oid) = 'numeric'::regtype AS is_numeric
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_type t ON t.oid = a.atttypid LEFT JOIN pg_type bt ON bt.oid = t.typbasetype
WHERE c.relkind = 'r' AND a.attgenerated = '' AND {_USER_NS}
  AND {_not_ext("pg_class", "c.oid")}
ORDER BY 1, 2, a.attnum
"""


@dataclass(frozen=True, slots=True)
class DataColumn:
    type: str
    composite: bool = False  # its text changes when the type gains an attribute
    numeric: bool = False  # 12.5 and 12.500 are the same value


TableColumns = dict[str, dict[str, DataColumn]]  # "schema.table" -> column -> type


def table_columns(url: DatabaseURL) -> TableColumns:
    """Each table's stored (not generated) columns and their types."""
    out: TableColumns = {}
    with _connect(url) as conn:
        for r in _rows(conn, Q_TABLE_COLUMNS):
            col = DataColumn(r["type"], bool(r["composite"]), bool(r["is_numeric"]))
            out.setdefault(f"{r['schema']}.{r['table']}", {})[r["column"]] = col
    return out


ColumnRef = tuple[str, str, str, bool]  # schema, table, column, numeric


def checksums(
    url: DatabaseURL, columns: Mapping[str, tuple[ColumnRef, ...]]
) -> dict[str, tuple[int, str]]:
    """Row count and md5 of the sorted rows for each table, over the given columns only.

    `columns` maps a key to (schema, table, column, numeric) as they are named in this
    database; rows are rendered as JSON arrays of those columns, so the result does not depend
    on the physical column order, and numerics are compared without trailing zeros.
    """
    out: dict[str, tuple[int, str]] = {}
    with _connect(url) as conn:
        for key, cols in sorted(columns.items()):
            if not cols:
                continue
            schema, table = cols[0][0], cols[0][1]
            values = [
                pgsql.SQL("trim_scale({})" if c[3] else "{}").format(pgsql.Identifier(c[2]))
                for c in cols
            ]
            query = pgsql.SQL(
                "SELECT count(*) AS n, md5(coalesce(string_agg(r, E'\\n' ORDER BY r), '')) AS h"
                " FROM (SELECT jsonb_build_array({})::text AS r FROM ONLY {}) s"
            ).format(pgsql.SQL(", ").join(values), pgsql.Identifier(schema, table))
            got = conn.execute(query).fetchone()
            assert got is not None
            out[key] = (int(got["n"]), str(got["h"]))
    return out


Q_OWNED_SEQUENCES = f"""
SELECT n.nspname AS schema, c.relname AS table, a.attname AS column,
       sn.nspname AS seq_schema, s.relname AS seq_name, q.seqincrement AS increment
FROM pg_depend d JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
JOIN pg_namespace sn ON sn.oid = s.relnamespace JOIN pg_sequence q ON q.seqrelid = s.oid
JOIN pg_class c ON c.oid = d.refobjid JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = d.refobjsubid
WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
  AND d.deptype IN ('a', 'i') AND c.relkind IN ('r', 'p') AND {_USER_NS}
"""


def sequence_overruns(url: DatabaseURL) -> list[str]:
    """Columns fed by a sequence whose next value is already taken by a row.

    This is what a serial → identity change that restarts the counter at 1 breaks: the next
    INSERT would collide with existing keys. The sequence itself is read (pg_sequences shows
    no last_value after `setval(…, false)`).
    """
    problems: list[str] = []
    with _connect(url) as conn:
        for r in _rows(conn, Q_OWNED_SEQUENCES):
            if r["increment"] <= 0:
                continue
            seq = pgsql.Identifier(r["seq_schema"], r["seq_name"])
            state = conn.execute(
                pgsql.SQL("SELECT last_value, is_called FROM {}").format(seq)
            ).fetchone()
            assert state is not None
            following = state["last_value"] + (r["increment"] if state["is_called"] else 0)
            query = pgsql.SQL("SELECT max({}) AS m FROM {}").format(
                pgsql.Identifier(r["column"]), pgsql.Identifier(r["schema"], r["table"])
            )
            got = conn.execute(query).fetchone()
            top = got["m"] if got else None
            if top is not None and following <= top:
                problems.append(
                    f"{r['schema']}.{r['table']}.{r['column']}: sequence {r['seq_schema']}."
                    f"{r['seq_name']} would give {following} but the column holds up to {top}"
                )
    return problems
