"""Score finished cells in worker processes while the caller trains the next ones.

A grid's wall time then approaches max(training, scoring ÷ workers) instead of
their sum. Workers are started with the spawn method (no forked TensorFlow or
JAX state), see only the CPU (the accelerator stays with training), and get
their share of this process's cores: pinned to them where the OS allows, and
told so through the thread-count variables the backends and OpenMP read.

A worker that dies (kill -9, the OOM killer) loses only its current job: the
job is submitted again, at most ``RETRIES`` more times, and otherwise reported
as not done. Scoring is safe to repeat because ``score_cell`` stores each
metric atomically as soon as it is computed and skips those already stored.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import wait as wait_for
from typing import Callable

from vaebench.errors import VaebenchError
from vaebench.interruption import stop_if_requested

#: times a job whose worker died is submitted again before it is reported as not done
RETRIES = 2
#: seconds a worker gets to exit after being told to, before it is killed
STOP_GRACE = 5.0


def auto_workers(accelerator: bool, cores: int) -> int:
    """The default worker count: every core but one beside an accelerator; inline scoring on a CPU-only host.

    Without an accelerator training already keeps every core busy, so workers
    only add their start-up time (measured on 2 cores: README, "Scoring").
    """
    return max(1, cores - 1) if accelerator else 0


def usable_cores() -> list[int]:
    """The cores this process may run on (its affinity, e.g. under Slurm)."""
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))


class ScoringWorkerError(RuntimeError):
    """A job raised inside a worker; the message carries the worker's traceback."""


@dataclass
class PoolCounts:
    done: int = 0
    running: int = 0
    waiting: int = 0
    not_done: int = 0


@dataclass
class _Job:
    name: str
    function: Callable
    args: tuple
    attempts: int = 0


@dataclass
class _Worker:
    slot: int
    process: multiprocessing.process.BaseProcess
    connection: multiprocessing.connection.Connection
    job: _Job | None = None


class ScoringPool:
    """Run ``function(*args)`` jobs in ``workers`` processes (0: at once, in the caller).

    Each worker calls ``start_up()`` once before its first job (the runner loads
    the backend there, quietly). Use as a context manager; :meth:`finish` waits
    for every job. Leaving the ``with`` block early (an error, Ctrl-C) stops the
    workers at once.
    """

    def __init__(self, workers: int, on_update: Callable[[PoolCounts], None] | None = None,
                 start_up: Callable[[], None] | None = None):
        self.workers = workers
        self._start_up = start_up
        self._on_update = on_update or (lambda counts: None)
        self._counts = PoolCounts()
        self._submitted: queue.Queue[_Job] = queue.Queue()
        self._not_done: dict[str, str] = {}
        self._error: Exception | None = None
        self._finishing = threading.Event()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._pool: list[_Worker] = []
        self._dispatcher: threading.Thread | None = None

    # --- the caller's side ---------------------------------------------------------

    def __enter__(self) -> ScoringPool:
        if self.workers:
            self._cores = usable_cores()
            self._threads = max(1, len(self._cores) // self.workers)
            self._environment = _worker_environment(self._threads)
            self._pool = [self._spawn(slot) for slot in range(self.workers)]
            self._dispatcher = threading.Thread(target=self._dispatch, name="scoring-pool", daemon=True)
            self._dispatcher.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stopping.set()
        if self._dispatcher is not None:
            self._dispatcher.join()
        _stop(self._pool)

    def submit(self, name: str, function: Callable, *args) -> None:
        """Queue ``function(*args)`` under ``name`` (run it now when there are no workers)."""
        self._raise_any_error()
        if not self.workers:
            self._update(running=1)
            function(*args)
            self._update(running=-1, done=1)
            return
        self._update(waiting=1)
        self._submitted.put(_Job(name, function, args))

    def finish(self) -> dict[str, str]:
        """Wait for every job; return {name: reason} of the jobs whose workers kept dying."""
        if self._dispatcher is not None:
            self._finishing.set()
            while self._dispatcher.is_alive():  # a timed wait, so Ctrl-C stops the wait (and leaving stops the workers)
                self._dispatcher.join(0.2)
                stop_if_requested()
        self._raise_any_error()
        return dict(self._not_done)

    def _raise_any_error(self) -> None:
        if self._error is not None:
            raise self._error

    def _update(self, **changes: int) -> None:
        with self._lock:
            for field, change in changes.items():
                setattr(self._counts, field, getattr(self._counts, field) + change)
            counts = PoolCounts(**vars(self._counts))
        self._on_update(counts)

    # --- the dispatcher thread -------------------------------------------------------

    def _spawn(self, slot: int) -> _Worker:
        """Start the worker of ``slot``, pinned to its own ``self._threads`` cores (shared round robin when too few)."""
        context = multiprocessing.get_context("spawn")
        cores = [self._cores[(slot * self._threads + k) % len(self._cores)] for k in range(self._threads)]
        ours, theirs = context.Pipe()
        process = context.Process(target=_serve, args=(theirs, self._environment, cores, os.getpid(), self._start_up),
                                  name=f"vaebench-scoring-{slot}", daemon=True)
        process.start()
        theirs.close()
        return _Worker(slot, process, ours)

    def _dispatch(self) -> None:
        waiting: deque[_Job] = deque()
        while not self._stopping.is_set():
            while not self._submitted.empty():
                waiting.append(self._submitted.get())
            for worker in self._pool:
                if worker.job is None and waiting:
                    worker.job = waiting.popleft()
                    worker.connection.send((worker.job.function, worker.job.args))
                    self._update(waiting=-1, running=1)
            busy = [worker for worker in self._pool if worker.job is not None]
            if self._finishing.is_set() and not busy and not waiting and self._submitted.empty():
                return
            ready = wait_for([w.connection for w in busy] + [w.process.sentinel for w in self._pool], timeout=0.1)
            for worker in busy:
                if worker.connection in ready:
                    self._receive(worker)
            for index, worker in enumerate(self._pool):
                if worker.process.sentinel in ready:
                    self._pool[index] = self._replace_dead(worker, waiting)
            if self._error is not None:
                return

    def _receive(self, worker: _Worker) -> None:
        try:
            outcome = worker.connection.recv()
        except EOFError:  # died mid-job: its sentinel is ready too, and _replace_dead resubmits the job
            return
        job, worker.job = worker.job, None
        self._update(running=-1, done=1)
        if outcome is not None and self._error is None:
            user_error, message = outcome
            self._error = VaebenchError(message) if user_error else ScoringWorkerError(
                f"scoring {job.name} failed in a worker process:\n{message}")

    def _replace_dead(self, worker: _Worker, waiting: deque[_Job]) -> _Worker:
        worker.process.join()
        worker.connection.close()
        job = worker.job
        if job is not None:
            job.attempts += 1
            self._update(running=-1)
            if job.attempts <= RETRIES:
                waiting.appendleft(job)
                self._update(waiting=1)
            else:
                self._not_done[job.name] = (f"its scoring worker died {job.attempts} times "
                                            f"(last exit code {worker.process.exitcode})")
                self._update(not_done=1)
        return self._spawn(worker.slot)


def _worker_environment(threads: int) -> dict[str, str]:
    """What a worker sets before importing Keras: the parent's backend, no accelerator, ``threads`` threads."""
    from vaebench.environment import backend

    count = str(threads)
    return {"KERAS_BACKEND": backend(), "CUDA_VISIBLE_DEVICES": "", "JAX_PLATFORMS": "cpu",
            "TF_CPP_MIN_LOG_LEVEL": "2", "OMP_NUM_THREADS": count, "TF_NUM_INTRAOP_THREADS": count,
            "TF_NUM_INTEROP_THREADS": count}


def _stop(pool: list[_Worker]) -> None:
    """Tell idle workers to exit, terminate busy ones, and kill any still alive after ``STOP_GRACE``."""
    for worker in pool:
        if worker.process.is_alive():
            if worker.job is None:
                try:
                    worker.connection.send(None)
                except OSError:
                    pass
            else:
                worker.process.terminate()
    deadline = time.monotonic() + STOP_GRACE
    for worker in pool:
        worker.process.join(max(0.0, deadline - time.monotonic()))
        if worker.process.is_alive():
            worker.process.kill()
            worker.process.join()
        worker.connection.close()


# --- inside a worker process -----------------------------------------------------------

def _serve(connection, environment: dict[str, str], cores: list[int], parent: int, start_up) -> None:
    """A worker's life: set up a CPU-only environment, then run jobs until told to stop or orphaned."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group; the parent stops us
    os.environ.update(environment)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, cores)
    threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()
    if start_up is not None:
        start_up()
    while True:
        try:
            job = connection.recv()
        except EOFError:
            return
        if job is None:
            return
        function, args = job
        try:
            function(*args)
            outcome = None
        except VaebenchError as error:
            outcome = (True, str(error))
        except Exception:  # sent to the parent, which raises it with this traceback
            outcome = (False, traceback.format_exc())
        connection.send(outcome)


def _exit_with(parent: int) -> None:
    """Exit as soon as the parent is gone (kill -9 included), so no worker outlives its grid."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)
