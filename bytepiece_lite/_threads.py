"""The thread pools that batches and long texts run on, and how many threads a call gets."""
from __future__ import annotations

import os
import queue
import threading
from concurrent.futures import Executor, Future

__all__ = ["MIN_BYTES_PER_THREAD", "PARALLEL_MIN_BYTES", "Pool", "count", "cores", "executor"]

#: Small batches are not worth a thread hop: by default a batch runs at most one thread per
#: this many bytes.
MIN_BYTES_PER_THREAD = 1 << 16
#: A single text shorter than this runs on one thread by default (see README: where threads
#: pay).
PARALLEL_MIN_BYTES = 1 << 20


def cores() -> int:
    """The cores this process may run on."""
    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return n or 1


def count(num_threads: int | None, items: int) -> int:
    """Threads for `items` units of work: `num_threads` checked, or by default all cores; at
    most one per item."""
    if num_threads is None:
        num_threads = cores()
    elif isinstance(num_threads, bool) or not isinstance(num_threads, int):
        raise TypeError(f"num_threads must be an int or None, not {type(num_threads).__name__}")
    elif num_threads < 1:
        raise ValueError(f"num_threads must be >= 1, not {num_threads}")
    return max(1, min(num_threads, items))


class Pool(Executor):
    """A fixed set of daemon threads taking tasks from one queue.

    Not concurrent.futures.ThreadPoolExecutor: it starts its threads on demand, inside
    submit(), and the interpreter's exit waits for them.  A Ctrl-C that lands while submit()
    starts one leaves a thread registered nowhere, which the exit then waits for forever.
    These threads are all running before the pool is handed out, and the exit never waits
    for them (a call still running then stops with the interpreter, as a C library's
    threads do; the calls themselves wait for their tasks).

    >>> Pool(2).submit(sum, [1, 2]).result()
    3
    """

    def __init__(self, threads: int):
        self._tasks: queue.SimpleQueue = queue.SimpleQueue()
        for k in range(threads):
            threading.Thread(target=_serve, args=(self._tasks,), name=f"bytepiece-lite_{k}",
                             daemon=True).start()

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        self._tasks.put((future, fn, args, kwargs))
        return future


def _serve(tasks: queue.SimpleQueue) -> None:
    """A pool thread: run the tasks as they come (a cancelled one is skipped)."""
    while True:
        future, fn, args, kwargs = tasks.get()
        if future.set_running_or_notify_cancel():
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:
                future.set_exception(exc)
            else:
                future.set_result(result)
                del result
        # what the task held (a batch and its texts) is not kept while the thread waits
        del future, fn, args, kwargs


_pools: dict[int, Pool] = {}
_pools_lock = threading.Lock()


def executor(threads: int) -> Pool | None:
    """A shared pool for `threads` threads (None for one: the caller's own thread does the
    work).  Threads do not survive fork: see _reset."""
    if threads <= 1:
        return None
    with _pools_lock:
        pool = _pools.get(threads)
        if pool is None:
            pool = _pools[threads] = Pool(threads)
        return pool


def _reset() -> None:
    # A forked child inherits the dict but not the threads: start afresh.
    global _pools_lock
    _pools.clear()
    _pools_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset)
