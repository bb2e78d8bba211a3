"""An ephemeral MariaDB server: mariadb-install-db + mariadbd on a temp dir, unix socket only.

Started once per process on first use and stopped at exit. Binaries come from the directory
`DBARCH_MARIADB_BIN` names (only there, when set), else the PATH, /usr/sbin and /usr/bin
(Debian puts mariadbd in /usr/sbin, which is not on every user's PATH). mariadbd refuses to
run as root, so a root process runs the server as the `mysql` user the Debian package
creates, or as `nobody`.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from dbarchitect.engines.cleanup import stop_at_exit
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.errors import EngineUnavailable

START_TIMEOUT_S = 60.0

# Small and unsafe on purpose: scratch data is thrown away, so durability buys nothing and
# startup time and memory matter (one server per test process).
SERVER_OPTIONS = (
    "--skip-networking",
    "--skip-name-resolve",
    "--skip-log-bin",
    "--performance-schema=OFF",
    "--innodb-buffer-pool-size=64M",
    "--innodb-log-file-size=16M",
    "--innodb-flush-log-at-trx-commit=0",
    "--innodb-doublewrite=0",
    "--innodb-use-native-aio=0",
    "--innodb-fast-shutdown=2",
    "--character-set-server=utf8mb4",
    "--collation-server=utf8mb4_general_ci",
    "--max-connections=200",
    "--max-allowed-packet=256M",
)

_SERVER_NAMES = ("mariadbd", "mysqld")
_INSTALL_NAMES = ("mariadb-install-db", "mysql_install_db")
_CLIENT_NAMES = ("mariadb", "mysql")


def _search_dirs() -> list[str]:
    env = os.environ.get("DBARCH_MARIADB_BIN")
    if env:  # an explicit choice: only there
        return [env]
    dirs: list[str] = []
    dirs.extend(p for p in os.environ.get("PATH", "").split(os.pathsep) if p)
    dirs.extend(("/usr/sbin", "/usr/bin", "/usr/local/mysql/bin"))
    return dirs


def find_binary(*names: str) -> Path | None:
    """The first of `names` found in DBARCH_MARIADB_BIN, the PATH or the usual system dirs."""
    path = os.pathsep.join(_search_dirs())
    for name in names:
        found = shutil.which(name, path=path)
        if found:
            return Path(found)
    return None


def client_binary() -> Path:
    """The command-line client (mariadb, else mysql); EngineUnavailable when neither exists."""
    found = find_binary(*_CLIENT_NAMES)
    if found is None:
        raise EngineUnavailable(
            "no MariaDB/MySQL client found (install the mariadb-client package "
            "or set DBARCH_MARIADB_BIN)"
        )
    return found


@dataclass
class Server:
    """A running scratch server: where it lives and how to reach and stop it."""

    root: Path
    pid: int
    proc: subprocess.Popen[bytes] | None
    owner_pid: int = 0  # the process that started it; forked children must not stop it

    @property
    def socket(self) -> Path:
        return self.root / "mysqld.sock"

    @property
    def url(self) -> DatabaseURL:
        return DatabaseURL(
            dialect="mysql", scheme="mysql", user="root", host=str(self.socket), database=None
        )

    def stop(self) -> None:
        """Stop the server we started (by its pid) and remove its directory."""
        if self.owner_pid and self.owner_pid != os.getpid():
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGTERM)
        if self.proc is not None:
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)


_lock = threading.Lock()
_server: Server | None = None


def get_server() -> Server:
    """The process's scratch server, started on first call."""
    global _server
    with _lock:
        if _server is None:
            _server = start_server()
            stop_at_exit(_server.stop)
        return _server


def _unprivileged_user() -> pwd.struct_passwd | None:
    if os.geteuid() != 0:
        return None
    for name in ("mysql", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise EngineUnavailable("scratch MariaDB: running as root and no 'mysql' or 'nobody' user")


def _temp_parent(account: pwd.struct_passwd | None) -> str | None:
    # The server account must reach its directory (a root-only TMPDIR would stop it) and a
    # unix socket path must stay under ~107 bytes: /tmp satisfies both.
    default = tempfile.gettempdir()
    if (account is not None or len(default) > 60) and os.path.isdir("/tmp"):
        return "/tmp"
    return None


def start_server() -> Server:
    """Initialise a data directory in a new temp dir and start mariadbd on a unix socket."""
    mariadbd = find_binary(*_SERVER_NAMES)
    install = find_binary(*_INSTALL_NAMES)
    if mariadbd is None or install is None:
        raise EngineUnavailable(
            "no MariaDB server binaries found (install the mariadb-server package "
            "or set DBARCH_MARIADB_BIN)"
        )
    account = _unprivileged_user()
    root = Path(tempfile.mkdtemp(prefix="dbarch-my-", dir=_temp_parent(account)))
    try:
        if account is not None:
            os.chown(root, account.pw_uid, account.pw_gid)
        data = root / "data"
        _run_install(install, mariadbd, data, account)
        return _launch(mariadbd, root, data, account)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise


def _ids(account: pwd.struct_passwd | None) -> tuple[int | None, int | None, list[int] | None]:
    """uid, gid and supplementary groups for subprocess: the account's alone, or unchanged."""
    if account is None:
        return None, None, None
    return account.pw_uid, account.pw_gid, []


def _run_install(
    install: Path, mariadbd: Path, data: Path, account: pwd.struct_passwd | None
) -> None:
    cmd = [
        str(install),
        "--no-defaults",
        f"--datadir={data}",
        # "normal": root may log in over the socket with an empty password whatever the OS
        # user is (the default, unix_socket, would tie it to the OS account).
        "--auth-root-authentication-method=normal",
        "--skip-test-db",
        "--skip-name-resolve",
        "--innodb-buffer-pool-size=64M",
        "--innodb-log-file-size=16M",
    ]
    basedir = mariadbd.parent.parent
    if (basedir / "share").is_dir():
        cmd.insert(2, f"--basedir={basedir}")
    uid, gid, groups = _ids(account)
    proc = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        check=False,
        cwd="/",
        stdin=subprocess.DEVNULL,
        user=uid,
        group=gid,
        extra_groups=groups,
    )
    if proc.returncode != 0:
        raise EngineUnavailable(f"scratch MariaDB: {install.name} failed: {_last_line(proc)}")


def _launch(mariadbd: Path, root: Path, data: Path, account: pwd.struct_passwd | None) -> Server:
    log = root / "error.log"
    cmd = [
        str(mariadbd),
        "--no-defaults",
        f"--datadir={data}",
        f"--socket={root / 'mysqld.sock'}",
        f"--pid-file={root / 'mysqld.pid'}",
        f"--log-error={log}",
        f"--tmpdir={root}",
        *SERVER_OPTIONS,
    ]
    uid, gid, groups = _ids(account)
    proc = subprocess.Popen(
        cmd,
        cwd="/",
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        user=uid,
        group=gid,
        extra_groups=groups,
    )
    server = Server(root=root, pid=proc.pid, proc=proc, owner_pid=os.getpid())
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            detail = _log_tail(log)
            shutil.rmtree(root, ignore_errors=True)
            raise EngineUnavailable(f"scratch MariaDB: mariadbd exited: {detail}")
        if server.socket.exists() and _ready(log):
            return server
        time.sleep(0.05)
    server.stop()
    raise EngineUnavailable(f"scratch MariaDB: mariadbd not ready after {START_TIMEOUT_S:.0f}s")


def _ready(log: Path) -> bool:
    # The socket file appears a moment before the server accepts connections on it.
    try:
        return "ready for connections" in log.read_text(errors="replace")
    except OSError:
        return False


def _log_tail(log: Path) -> str:
    try:
        lines = [ln for ln in log.read_text(errors="replace").splitlines() if "ERROR" in ln]
    except OSError:
        return "no error log"
    return lines[-1].strip() if lines else "see its error log"


def _last_line(proc: subprocess.CompletedProcess[str]) -> str:
    lines = [ln for ln in (proc.stderr or proc.stdout or "").splitlines() if ln.strip()]
    return lines[-1].strip() if lines else f"exit status {proc.returncode}"
