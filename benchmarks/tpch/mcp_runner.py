"""postgres-mcp's index tuning ("dta" method), run from its own virtual environment.

postgres-mcp needs Python ≥ 3.12 and pins its own pglast, so it cannot share the project's
environment: benchmarks/tpch/peer.py runs this file with that environment's interpreter.

The call is the one its MCP tool `analyze_query_indexes` makes — a `DatabaseTuningAdvisor`
with its default settings (30 s time limit, width ≤ 3) behind `analyze_workload(query_list=…,
max_index_size_mb=…)` — minus the tool's cap of 10 queries, so it sees all 22. The driver is
its unrestricted `SqlDriver` (its RESTRICTED mode only adds a statement filter and a timeout).
What-if calls are the EXPLAINs it sends, counted by wrapping the driver.

Input (JSON on stdin): {"conninfo": str, "runs": [{"queries": [sql, ...], "budget_mb": int}]}.
Output (JSON on stdout): one record per run, in order; each run has a fresh advisor (no cache
carried over) and is timed on its own.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from typing import Any

from postgres_mcp.index.dta_calc import DatabaseTuningAdvisor  # type: ignore[import-not-found]
from postgres_mcp.sql import DbConnPool, SqlDriver  # type: ignore[import-not-found]


class CountingDriver(SqlDriver):  # type: ignore[misc]
    """Its SQL driver, counting the EXPLAIN statements it sends (one per query and
    configuration evaluated: a what-if call)."""

    def __init__(self, pool: Any) -> None:
        super().__init__(conn=pool)
        self.explains = 0
        self.statements = 0

    async def execute_query(
        self, query: Any, params: Any = None, force_readonly: bool = False
    ) -> Any:
        self.statements += 1
        self.explains += str(query).upper().count("EXPLAIN (")
        return await super().execute_query(query, params, force_readonly=force_readonly)


class Errors(logging.Handler):
    """The errors it logs, with the innermost cause of each exception."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            exc: BaseException = record.exc_info[1]
            while exc.__cause__ is not None:
                exc = exc.__cause__
            msg += f" [cause: {type(exc).__name__}: {exc}]"
        self.messages.append(" ".join(msg.split()))


async def run_budget(conninfo: str, queries: list[str], budget_mb: int) -> dict[str, Any]:
    pool = DbConnPool(conninfo)
    await pool.pool_connect()
    driver = CountingDriver(pool)
    errors = Errors()
    logging.getLogger("postgres_mcp").addHandler(errors)
    try:
        advisor = DatabaseTuningAdvisor(driver)
        t0 = time.perf_counter()
        result = await advisor.analyze_workload(
            query_list=list(queries), max_index_size_mb=budget_mb
        )
        seconds = time.perf_counter() - t0
    finally:
        logging.getLogger("postgres_mcp").removeHandler(errors)
        await pool.close()
    return {
        "budget_mb": budget_mb,
        "seconds": seconds,
        "whatif_calls": driver.explains,
        "statements": driver.statements,
        "error": result.error,
        "logged_errors": errors.messages,
        "analysed": len(result.workload or []) if result.error is None else 0,
        "indexes": [
            {
                "definition": rec.definition,
                "table": rec.table,
                "columns": list(rec.columns),
                "estimated_size_bytes": rec.estimated_size_bytes,
            }
            for rec in result.recommendations
        ],
        "time_limit_hit": any("Time limit reached" in str(t) for t in result.dta_traces),
    }


async def main() -> None:
    job = json.load(sys.stdin)
    out = [await run_budget(job["conninfo"], r["queries"], r["budget_mb"]) for r in job["runs"]]
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    asyncio.run(main())
