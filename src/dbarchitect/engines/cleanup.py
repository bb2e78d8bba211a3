"""Stop the scratch servers we started, also when we are terminated rather than exiting.

`atexit` handlers run on a normal exit and on SystemExit, but not when the default SIGTERM
action kills the process (CI runners, `timeout`, `kill`): the servers would outlive us. So the
first scratch server installs a SIGTERM handler that turns the signal into SystemExit, unless
the program has a handler of its own.
"""

from __future__ import annotations

import atexit
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType

_installed = False


def _exit_on_term(signum: int, frame: FrameType | None) -> None:
    sys.exit(128 + signum)


def stop_at_exit(stop: Callable[[], None]) -> None:
    """Run `stop` at exit, including after SIGTERM."""
    global _installed
    atexit.register(stop)
    if _installed or threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _exit_on_term)
    _installed = True
