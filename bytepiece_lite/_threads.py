"""The thread pools that batches and long texts run on, and how many threads a call gets."""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

__all__ = ["MIN_BYTES_PER_THREAD", "PARALLEL_MIN_BYTES", "count", "cores", "executor"]

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


_pools: dict[int, ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()


def executor(threads: int) -> ThreadPoolExecutor | None:
    """A shared pool for `threads` threads (None for one: the caller's own thread does the
    work).  Threads do not survive fork: see _reset."""
    if threads <= 1:
        return None
    with _pools_lock:
        pool = _pools.get(threads)
        if pool is None:
            pool = _pools[threads] = ThreadPoolExecutor(threads, thread_name_prefix="bytepiece-lite")
        return pool


def _reset() -> None:
    # A forked child inherits the dict but not the threads: start afresh.
    global _pools_lock
    _pools.clear()
    _pools_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset)
