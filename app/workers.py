"""A pool of worker processes, kept for as long as the server runs (imports validate large files in it).

Starting one (a fresh interpreter that imports the models) takes longer than validating 50,000
rows, so they start with the server and stay. They are spawned, not forked: the server has
threads, and a forked child can inherit a lock one of them held. Nothing here knows what the
work is: `warm_up` (a module-level function) is what each worker runs once when it starts.
"""

import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

Task = TypeVar("Task")
Result = TypeVar("Result")

_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


def worker_pool(workers: int, warm_up: Callable[[], None] | None = None) -> ProcessPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=_start_worker, initargs=(os.getpid(), warm_up))
        return _pool


def start_workers(workers: int, warm_up: Callable[[], None] | None = None) -> None:
    """Spawn the workers now (the server does at start-up), so the first large import does not wait."""
    if workers < 2:
        return
    pool = worker_pool(workers, warm_up)
    for future in [pool.submit(os.getpid) for _ in range(workers)]:
        future.result()


def stop_workers() -> None:
    """Let the workers finish and leave (the server does at shutdown)."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


def run_in_workers(function: Callable[[Task], Result], tasks: Iterable[Task], workers: int,
                   warm_up: Callable[[], None] | None = None) -> Iterator[Result]:
    """function(task) for every task, run by the workers, answered in the tasks' order as soon as each
    is done. At most two tasks per worker wait at once, so the tasks' data is never all in memory.
    If the pool breaks (a worker killed), the rest run here."""
    pool: ProcessPoolExecutor | None = worker_pool(workers, warm_up)
    pending: deque[tuple[Task, Future | None]] = deque()
    tasks = iter(tasks)
    try:
        while True:
            while len(pending) < 2 * workers and (task := next(tasks, None)) is not None:
                future = None
                if pool is not None:
                    try:
                        future = pool.submit(function, task)
                    except (BrokenProcessPool, RuntimeError):  # broken, or shut down by another thread
                        _discard(pool)
                        pool = None
                pending.append((task, future))
            if not pending:
                return
            task, future = pending.popleft()
            try:
                result = future.result() if future else function(task)
            except BrokenProcessPool:
                if pool is not None:
                    _discard(pool)
                    pool = None
                result = function(task)
            yield result
    finally:
        # Stopped early (a bad file, a missing dataset): drop what has not started, and wait for what
        # has, so that no worker writes into the caller's folder after this returns.
        running = [future for _, future in pending if future and not future.cancel()]
        wait(running)


def _discard(pool: ProcessPoolExecutor) -> None:
    global _pool
    with _pool_lock:
        if _pool is pool:
            _pool = None
    pool.shutdown(wait=False, cancel_futures=True)


def _start_worker(parent: int, warm_up: Callable[[], None] | None) -> None:
    # The parent's pid comes from the parent: if it died while this worker started, getppid() is already another's.
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True, name="parent-watch").start()
    if warm_up is not None:
        warm_up()


def _exit_with_parent(parent: int) -> None:
    """A worker would outlive a server killed with SIGKILL (it holds both ends of its task queue, so it
    never reads end-of-file): it leaves once it has been handed to another parent."""
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(0)
