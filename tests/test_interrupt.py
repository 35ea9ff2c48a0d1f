"""Ctrl-C stops a long call within a fraction of a second (the core polls for signals between
windows of a megabyte), leaving the tokenizer usable."""
from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time

import pytest

from bytepiece_lite import Tokenizer
from bytepiece_lite._contracts import Mode, Output

CHILD = textwrap.dedent('''
    import faulthandler, os, signal, threading, time
    faulthandler.dump_traceback_later(100, exit=True)   # a hang shows where it is
    # A background job of a non-interactive shell (a CI script's `cmd &`) starts with SIGINT
    # ignored, which Python then keeps: Ctrl-C's handler is installed here, not inherited.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    from bytepiece_lite import Tokenizer
    tok = Tokenizer.default()
    line = ("the quick brown fox jumps over the lazy dog " * 900_000).encode()   # 40 MB, one line
    lines = [("line %d of a text\\n" % i) * 30 for i in range(60_000)]         # 40 MB of lines
    calls = {
        "one line": lambda: tok.encode(line, 0.1, sampler="exact", seed=1),
        "one line, threads": lambda: tok.encode_to_numpy(line + b"\\n" + line, num_threads=2),
        "batch": lambda: tok.encode_batch(lines, 0.1, seed=1, num_threads=2),
        "batch arrays": lambda: tok.encode_batch_to_numpy(lines, 0.1, seed=1, num_threads=1),
    }
    expect = tok.encode("still fine")
    DELAY = 0.1
    for name, call in calls.items():
        # the fastest call (the batch on 2 threads) takes ~0.3 s here: the signal comes well before
        threading.Timer(DELAY, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
        t0 = time.perf_counter()
        try:
            call()
            print(name, "finished", time.perf_counter() - t0)
        except KeyboardInterrupt:
            print(name, "interrupted", time.perf_counter() - t0 - DELAY)
        assert tok.encode("still fine") == expect
''')


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to oneself is POSIX")
def test_a_long_call_stops_soon_after_ctrl_c(tmp_path):
    proc = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True,
                          cwd=tmp_path, timeout=200)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 4, proc.stdout
    for line in lines:
        *name, what, seconds = line.split()
        # each call takes seconds uninterrupted; the bound is generous for a loaded machine
        assert what == "interrupted" and float(seconds) < 1.5, line


EXIT_CHILD = textwrap.dedent('''
    import threading
    from bytepiece_lite import _threads
    never = threading.Event()
    _threads.executor(2).submit(never.wait)     # a pool thread that is busy forever
    print("leaving")
''')


def test_the_exit_never_waits_for_the_pool():
    # The pool's threads are daemons: were the exit to wait for them, as it does for
    # concurrent.futures' pools, a thread that a Ctrl-C left unregistered while a pool
    # started it would keep the process from ever ending.
    proc = subprocess.run([sys.executable, "-c", EXIT_CHILD], capture_output=True, text=True,
                          timeout=60)
    assert (proc.returncode, proc.stdout) == (0, "leaving\n"), proc.stderr


class _InterruptedWait:
    """An executor whose tasks really run, on threads of their own, but whose wait for them
    raises KeyboardInterrupt at once: a Ctrl-C that lands after the calling thread has done
    its blocks, while it waits for a pool thread's."""

    def __init__(self):
        self.threads: list[threading.Thread] = []

    def submit(self, fn, *args):
        thread = threading.Thread(target=fn, args=args)
        thread.start()
        self.threads.append(thread)
        time.sleep(0.05)                    # the task takes the first block, the long one
        return self

    def cancel(self) -> bool:
        return False

    def result(self):
        raise KeyboardInterrupt


def test_a_ctrl_c_while_waiting_for_the_pool_stops_its_tasks():
    vocab = Tokenizer.default()._seg.vocab
    long = b"the quick brown fox jumps over the lazy dog " * 2_000_000     # ~0.7 s of work
    pool = _InterruptedWait()
    with pytest.raises(KeyboardInterrupt):
        # two blocks: the long text (the task's), then the short one (the caller's)
        vocab.encode_batch([long, b"short"], mode=Mode.DETERMINISTIC, alpha=0.0, seed=0,
                           num_threads=2, executor=pool, output=Output.IDS)
    t0 = time.perf_counter()
    for thread in pool.threads:
        thread.join()
    # the task stops at its next poll (a megabyte: ~10 ms), not at the end of its 88 MB
    assert time.perf_counter() - t0 < 0.2
