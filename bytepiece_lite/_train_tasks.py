"""How the trainer's two passes over a corpus run (trainer.py): step 1's cut of each text
into chunks, the corpus in batches of texts, and each batch as a task, inline, on the
trainer's own worker processes or on a caller's ``concurrent.futures.Executor``.  Tasks are
module-level functions, so that process pools and cluster executors can pickle them; their
results are summed by the caller, so the output never depends on where they ran."""
from __future__ import annotations

import contextlib
import multiprocessing
import re
import threading
from collections import deque
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Callable, Iterator

from ._ngrams import count_ngrams
from .normalize import nfc

try:
    from ._core import Bnlm
except ImportError:  # no compiled core: the same kernels in plain Python
    from ._pytrain import Bnlm

_MAX_CHUNK_CHARS = 10000
_SPLIT = re.compile(r".{,%d}\n{1,100}|.{1,%d}" % (_MAX_CHUNK_CHARS, _MAX_CHUNK_CHARS))
_SPLIT_DIGITS = re.compile(r"\d|[^\n\d]{,%d}\n{1,100}|[^\n\d]{1,%d}"
                           % (_MAX_CHUNK_CHARS, _MAX_CHUNK_CHARS))
BATCH_CHARS = 1 << 19       # texts per task; bounds each task's arrays to ~50 MB


def presplit(text: str, *, isolate_digits: bool = False) -> list[bytes]:
    """Step 1: NFC, then cut into the chunks the statistics are taken over.

    >>> presplit("ab\\n\\ncd")
    [b'ab\\n\\n', b'cd']
    >>> presplit("a12", isolate_digits=True)
    [b'a', b'1', b'2']
    """
    regex = _SPLIT_DIGITS if isolate_digits else _SPLIT
    return [t.encode("utf-8") for t in regex.findall(nfc(text))]


def batches(texts: Iterator[str]) -> Iterator[list[str]]:
    """The texts in lists of about BATCH_CHARS characters: a task each."""
    batch: list[str] = []
    size = 0
    for t in texts:
        batch.append(t)
        size += len(t)
        if size >= BATCH_CHARS:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def ngram_task(texts: list[str], order: int, isolate_digits: bool) -> tuple[int, list]:
    return count_ngrams([c for t in texts for c in presplit(t, isolate_digits=isolate_digits)], order)


_worker_bnlm: Bnlm | None = None      # set in the processes of the trainer's own pool


def _install_bnlm(bnlm: Bnlm | None) -> None:
    global _worker_bnlm
    _worker_bnlm = bnlm


def piece_task(texts: list[str], bnlm: Bnlm | None, isolate_digits: bool) -> dict[bytes, int]:
    bnlm = bnlm if bnlm is not None else _worker_bnlm
    counter: dict[bytes, int] = {}
    bnlm.count_pieces([c for t in texts for c in presplit(t, isolate_digits=isolate_digits)], counter)
    return counter


def run(task: Callable, batches: Iterator[list[str]], args: tuple, executor: Executor | None,
         window: int) -> Iterator:
    """task(batch, *args) for every batch: inline, or on `executor` with at most `window`
    batches in flight (memory stays bounded whatever the corpus size)."""
    if executor is None:
        for b in batches:
            yield task(b, *args)
        return
    pending: deque = deque()
    for b in batches:
        pending.append(executor.submit(task, b, *args))
        if len(pending) >= window:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


@contextlib.contextmanager
def pool(workers: int, executor: Executor | None, bnlm: Bnlm | None = None) -> Iterator[Executor | None]:
    """The executor a pass runs on: the caller's, a pool of our own, or None (inline)."""
    if executor is not None or workers == 1:
        yield executor
        return
    init = (_install_bnlm, (bnlm,)) if bnlm is not None else (None, ())
    with ProcessPoolExecutor(max_workers=workers, mp_context=process_context(),
                             initializer=init[0], initargs=init[1]) as pool:
        yield pool


def process_context() -> multiprocessing.context.BaseContext:
    """How our pool's workers start.  fork is the quickest (a worker inherits the n-gram
    model) and safe while this process runs no other Python thread.  Another thread (a
    tokenizer's pool, a data loader's, Dask's) may hold a lock when fork() copies the
    process, and the child then waits on it forever: the workers then start from a
    forkserver, a clean process.  (Native threads are not counted: numpy's OpenBLAS starts
    one at import, and it guards fork() itself.)  A platform whose default is not fork
    (spawn on macOS and Windows, forkserver from Python 3.14) keeps its default."""
    if multiprocessing.get_start_method() != "fork" or threading.active_count() == 1:
        return multiprocessing.get_context()
    return multiprocessing.get_context("forkserver")
