"""Jobs for the scoring pool's tests, in a module light enough for a spawned worker to import in a blink."""

import os
import signal
import time
from pathlib import Path


def record_pid_then_sleep(pids_dir: str, name: str, seconds: float) -> None:
    Path(pids_dir, f"{name}-{os.getpid()}").touch()
    time.sleep(seconds)


def die(pids_dir: str, name: str) -> None:
    Path(pids_dir, f"{name}-{os.getpid()}").touch()
    os.kill(os.getpid(), signal.SIGKILL)


def fail(message: str) -> None:
    raise KeyError(message)
