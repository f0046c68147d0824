"""Ctrl-C during a run: the first SIGINT stops work at its next safe point, a second one exits at once.

A safe point is between compiled training calls, between cells and between
scoring jobs: whatever is finished is stored, the unfinished cell stays pending
(params.json is written last), so the same command resumes. Exiting at once on
the second SIGINT is as safe as kill -9: every file of the store is written
atomically and leftovers are removed by the next command that takes the lock.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading

#: the exit status of a command stopped by SIGINT (128 + 2), as shells report it
EXIT_CODE = 130

_requested = threading.Event()


class Interrupted(Exception):
    """Work stopped at a safe point after Ctrl-C; the message says what is finished."""


def stop_if_requested() -> None:
    """Raise :class:`Interrupted` once Ctrl-C was pressed (call at safe points)."""
    if _requested.is_set():
        raise Interrupted("interrupted")


@contextlib.contextmanager
def stop_at_safe_points():
    """Within the block, SIGINT asks for a stop at the next :func:`stop_if_requested`; a second one exits."""

    def on_sigint(signum, frame):
        if _requested.is_set():
            os._exit(EXIT_CODE)
        _requested.set()
        # os.write, not print: a handler may run in the middle of another write to stderr
        os.write(2, b"\nstopping at the next safe point; Ctrl-C again stops at once\n")

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        _requested.clear()
