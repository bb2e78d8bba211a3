"""Scratch servers die with the process that started them, also on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

SCRIPT = """
import sys, time
from dbarchitect.engines import pgcluster, mariadb_server
pg = pgcluster.get_cluster()
my = mariadb_server.get_server()
pid = int((pg.data_dir / "postmaster.pid").read_text().split()[0])
print(pg.root, pid, my.root, my.pid, flush=True)
time.sleep(120)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_sigterm_stops_scratch_servers_and_removes_their_files() -> None:
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    pg_root, pg_pid, my_root, my_pid = proc.stdout.readline().split()
    assert _alive(int(pg_pid)) and _alive(int(my_pid))
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 128 + signal.SIGTERM
    deadline = time.monotonic() + 30
    while (_alive(int(pg_pid)) or _alive(int(my_pid))) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(int(pg_pid)) and not _alive(int(my_pid))
    assert not Path(pg_root).exists() and not Path(my_root).exists()
