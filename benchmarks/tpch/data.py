"""TPC-H data and queries, generated offline with DuckDB's tpch extension and cached.

The extension comes from the `duckdb-extension-tpch` wheel (bench extra), which carries the
binary built for exactly one DuckDB release and pins that release; DuckDB would otherwise
download it on `INSTALL tpch`. Tables are exported as `|`-separated CSV and the 22 queries as
one file, under `cache_dir()/tpch-sf<N>/`, so reruns skip generation.

Loading goes into a database kept for the run on the scratch PostgreSQL cluster: the TPC-H
specification's column types, COPY, primary keys only (added after the rows, which is
faster), ANALYZE, and HypoPG installed.
"""

from __future__ import annotations

import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
from psycopg import sql as pgsql

from dbarchitect.engines import pgcluster
from dbarchitect.engines.postgres import conninfo
from dbarchitect.engines.url import DatabaseURL

# The TPC-H specification's schema (clause 1.4), with primary keys (clause 1.4.2).
TABLES: dict[str, tuple[str, str]] = {
    "region": (
        "r_regionkey integer NOT NULL, r_name char(25) NOT NULL, r_comment varchar(152)",
        "r_regionkey",
    ),
    "nation": (
        "n_nationkey integer NOT NULL, n_name char(25) NOT NULL, n_regionkey integer NOT NULL,"
        " n_comment varchar(152)",
        "n_nationkey",
    ),
    "part": (
        "p_partkey integer NOT NULL, p_name varchar(55) NOT NULL, p_mfgr char(25) NOT NULL,"
        " p_brand char(10) NOT NULL, p_type varchar(25) NOT NULL, p_size integer NOT NULL,"
        " p_container char(10) NOT NULL, p_retailprice decimal(15,2) NOT NULL,"
        " p_comment varchar(23) NOT NULL",
        "p_partkey",
    ),
    "supplier": (
        "s_suppkey integer NOT NULL, s_name char(25) NOT NULL, s_address varchar(40) NOT NULL,"
        " s_nationkey integer NOT NULL, s_phone char(15) NOT NULL,"
        " s_acctbal decimal(15,2) NOT NULL, s_comment varchar(101) NOT NULL",
        "s_suppkey",
    ),
    "partsupp": (
        "ps_partkey integer NOT NULL, ps_suppkey integer NOT NULL,"
        " ps_availqty integer NOT NULL, ps_supplycost decimal(15,2) NOT NULL,"
        " ps_comment varchar(199) NOT NULL",
        "ps_partkey, ps_suppkey",
    ),
    "customer": (
        "c_custkey integer NOT NULL, c_name varchar(25) NOT NULL,"
        " c_address varchar(40) NOT NULL, c_nationkey integer NOT NULL,"
        " c_phone char(15) NOT NULL, c_acctbal decimal(15,2) NOT NULL,"
        " c_mktsegment char(10) NOT NULL, c_comment varchar(117) NOT NULL",
        "c_custkey",
    ),
    "orders": (
        "o_orderkey integer NOT NULL, o_custkey integer NOT NULL,"
        " o_orderstatus char(1) NOT NULL, o_totalprice decimal(15,2) NOT NULL,"
        " o_orderdate date NOT NULL, o_orderpriority char(15) NOT NULL,"
        " o_clerk char(15) NOT NULL, o_shippriority integer NOT NULL,"
        " o_comment varchar(79) NOT NULL",
        "o_orderkey",
    ),
    "lineitem": (
        "l_orderkey integer NOT NULL, l_partkey integer NOT NULL, l_suppkey integer NOT NULL,"
        " l_linenumber integer NOT NULL, l_quantity decimal(15,2) NOT NULL,"
        " l_extendedprice decimal(15,2) NOT NULL, l_discount decimal(15,2) NOT NULL,"
        " l_tax decimal(15,2) NOT NULL, l_returnflag char(1) NOT NULL,"
        " l_linestatus char(1) NOT NULL, l_shipdate date NOT NULL,"
        " l_commitdate date NOT NULL, l_receiptdate date NOT NULL,"
        " l_shipinstruct char(25) NOT NULL, l_shipmode char(10) NOT NULL,"
        " l_comment varchar(44) NOT NULL",
        "l_orderkey, l_linenumber",
    ),
}

EXCLUDED = (2, 17, 20)  # left out of the literature's TPC-H index-selection workload
_DONE = ".complete"


def cache_dir() -> Path:
    """Where generated data and the peer's virtual environment are kept between runs."""
    base = os.environ.get("DBARCH_BENCH_CACHE")
    if base:
        return Path(base)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "dbarchitect-bench"


def data_dir(sf: float) -> Path:
    return cache_dir() / f"tpch-sf{sf:g}"


def _tpch_extension() -> str:
    import duckdb
    import duckdb_extension_tpch  # type: ignore[import-untyped]

    root = Path(duckdb_extension_tpch.__file__).parent / "extensions"
    found = sorted(root.glob(f"v{duckdb.__version__}/**/tpch.duckdb_extension"))
    if not found:
        raise SystemExit(
            f"no tpch extension for DuckDB {duckdb.__version__} under {root}: install the "
            "bench extra (pip install -e '.[bench]'), which pins matching versions"
        )
    return str(found[0])


def generate(sf: float) -> tuple[Path, float]:
    """The cached CSV directory for scale factor `sf` (generated now if missing) and the
    seconds generation took (0 when it came from the cache)."""
    out = data_dir(sf)
    if (out / _DONE).exists():
        return out, 0.0
    import duckdb

    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    con = duckdb.connect()
    try:
        con.execute(f"LOAD '{_tpch_extension()}'")
        con.execute(f"CALL dbgen(sf={sf})")
        for table in TABLES:
            target = out / f"{table}.csv"
            con.execute(f"COPY {table} TO '{target}' (HEADER false, DELIMITER '|')")
        rows = con.execute("SELECT query_nr, query FROM tpch_queries() ORDER BY query_nr")
        queries = [(int(n), str(q)) for n, q in rows.fetchall()]
    finally:
        con.close()
    (out / "queries.sql").write_text(queries_file(queries), encoding="utf-8")
    (out / _DONE).write_text("", encoding="utf-8")
    return out, time.perf_counter() - t0


def adapt(sql: str) -> str:
    """A DuckDB TPC-H query in PostgreSQL's syntax. DuckDB ships them with dates already
    computed and Q15's view as a CTE, so they run as written; what remains DuckDB-only is the
    `INTERVAL n DAY` spelling, rewritten to PostgreSQL's quoted form if a release uses it."""
    sql = re.sub(r"\bINTERVAL\s+(\d+)\s+(DAY|MONTH|YEAR)S?\b", r"INTERVAL '\1 \2'", sql, flags=re.I)
    return sql.strip().rstrip(";").strip()


def queries_file(queries: list[tuple[int, str]]) -> str:
    """One statement per query, each after a `-- Qn` line naming it."""
    return "".join(f"-- Q{n}\n{adapt(q)};\n\n" for n, q in queries)


def read_queries(path: Path) -> dict[int, str]:
    """Query number → text, from a file written by `queries_file`."""
    out: dict[int, str] = {}
    for block in re.split(r"^-- Q(\d+)\n", path.read_text(encoding="utf-8"), flags=re.M)[1:]:
        if block.isdigit():
            current = int(block)
        else:
            out[current] = block.strip().rstrip(";").strip()
    return out


def _copy(url: DatabaseURL, table: str, path: Path) -> None:
    with psycopg.connect(conninfo(url), autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '512MB'")
        copy_sql = pgsql.SQL("COPY {} FROM STDIN (FORMAT csv, DELIMITER '|')").format(
            pgsql.Identifier(table)
        )
        with conn.cursor() as cur, cur.copy(copy_sql) as copy, path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                copy.write(chunk)
        conn.execute(
            pgsql.SQL("ALTER TABLE {} ADD PRIMARY KEY ({})").format(
                pgsql.Identifier(table), pgsql.SQL(TABLES[table][1])
            )
        )
        conn.execute(pgsql.SQL("VACUUM ANALYZE {}").format(pgsql.Identifier(table)))


def load(csv_dir: Path, database: str = "tpch_sf1") -> tuple[DatabaseURL, float]:
    """Create `database` on the scratch cluster, load the CSVs into it, and return its URL
    and the load time in seconds (DDL, COPY, primary keys, VACUUM ANALYZE, HypoPG)."""
    cluster = pgcluster.get_cluster()
    url = cluster.url.with_database(database)
    t0 = time.perf_counter()
    with psycopg.connect(conninfo(cluster.url), autocommit=True) as conn:
        name = pgsql.Identifier(database)
        conn.execute(pgsql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        conn.execute(pgsql.SQL("CREATE DATABASE {} TEMPLATE template0").format(name))
    with psycopg.connect(conninfo(url), autocommit=True) as conn:
        for table, (columns, _) in TABLES.items():
            conn.execute(f"CREATE TABLE {table} ({columns})")
        conn.execute("CREATE EXTENSION hypopg")
    # Two loaders for two cores: lineitem alone is about 70% of the rows.
    order = sorted(TABLES, key=lambda t: -(csv_dir / f"{t}.csv").stat().st_size)
    with ThreadPoolExecutor(max_workers=2) as pool:
        for future in [pool.submit(_copy, url, t, csv_dir / f"{t}.csv") for t in order]:
            future.result()
    return url, time.perf_counter() - t0
