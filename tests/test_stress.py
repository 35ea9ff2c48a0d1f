"""Threads and forks at once, and memory that stays flat over many calls (bounded in time)."""
from __future__ import annotations

import os
import select
import sys
import threading
import time

import pytest

from bytepiece_lite import Tokenizer

TEXTS = ["今天天气不错，我们去公园散步吧。\n" * 40, "The quick brown fox jumps over the lazy dog. " * 60,
         "def f(x):\n    return x * 2\n\n\n" * 30, "混合 mixed текст 🎉 ναι\n" * 40, "", "a"]


def _calls(tok: Tokenizer, k: int):
    """The k-th call of the mix: deterministic, seeded Viterbi and exact sampling, batches,
    offsets, decode; its result is a plain value comparable across threads and processes."""
    text = TEXTS[k % len(TEXTS)]
    kind = k % 6
    if kind == 0:
        return tok.encode(text)
    if kind == 1:
        return tok.encode(text, 0.1, seed=k)
    if kind == 2:
        return tok.encode(text, 0.5, sampler="exact", seed=k)
    if kind == 3:
        return tok.encode_batch(TEXTS, 0.2, seed=k, num_threads=2)
    if kind == 4:
        return tok.encode_with_offsets(text, 0.1, seed=k).byte_spans.tolist()
    return tok.tokenize_batch([text, text])[1], tok.decode(tok.encode(text))


@pytest.fixture(scope="module")
def tok():
    return Tokenizer.default()


# gcc 12's AddressSanitizer does not hold its allocator's locks across fork(): a child forked
# while another thread allocates can deadlock inside ASan's malloc (seen under
# scripts/sanitize.sh; glibc's malloc has fork handlers).  The threads still run there.
UNDER_ASAN = "libasan" in os.environ.get("LD_PRELOAD", "")
# BPL_STRESS_SCALE=K makes both tests K times longer (a long soak run); the suite runs K = 1.
SCALE = max(1, int(os.environ.get("BPL_STRESS_SCALE", "1")))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_threads_and_forks_give_the_single_thread_results(tok):
    calls = 2000 * SCALE                # per thread; x 8 threads, plus the forked children
    expected = [_calls(tok, k) for k in range(calls)]
    errors: list[str] = []
    start = threading.Barrier(9)

    def worker(w: int):
        start.wait()
        for j in range(calls):
            k = (j * 7 + w * 31) % calls        # each thread its own order of the same calls
            got = _calls(tok, k)
            if got != expected[k]:
                errors.append(f"thread {w}, call {k}: {got!r} != {expected[k]!r}")
                return

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    start.wait()
    children, reads = [], []
    long_text = "今天天气不错，我们去公园散步吧。" * 20
    parent_sample = " ".join(map(str, tok.encode(long_text, 0.1))).encode()   # unseeded, before forking
    deadline = time.monotonic() + 60 * SCALE
    while not UNDER_ASAN and (any(t.is_alive() for t in threads) or len(children) < 4):
        if len(children) >= 12:
            break
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:                    # the child: single-thread calls only, then leave at once
            try:
                ok = all(_calls(tok, k) == expected[k] for k in range(0, calls, 5) if k % 6 != 3)
                sample = " ".join(map(str, tok.encode(long_text, 0.1)))     # unseeded
                os.write(w, sample.encode())
                os._exit(0 if ok else 3)
            except BaseException:       # pragma: no cover - reported by the exit code
                os._exit(4)
        os.close(w)
        children.append(pid)
        reads.append(r)
        time.sleep(0.05)
    samples = []
    for pid, r in zip(children, reads):
        chunks = []
        while True:         # read with the deadline: a child that hangs (a lock held across fork)
            ready, _, _ = select.select([r], [], [], max(0.0, deadline - time.monotonic()))
            chunk = os.read(r, 1 << 16) if ready else None
            if not chunk:
                break
            chunks.append(chunk)
        os.close(r)
        samples.append(b"".join(chunks))
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                for p in children:
                    try:
                        os.kill(p, 9)
                        os.waitpid(p, 0)
                    except (ProcessLookupError, ChildProcessError):
                        pass
                pytest.fail(f"forked child {pid} hung")
            time.sleep(0.01)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, f"child exit status {status}"
    for t in threads:
        t.join(timeout=max(1.0, deadline - time.monotonic()))
        assert not t.is_alive(), "a thread hung"
    assert errors == []
    if UNDER_ASAN:
        return
    assert len(children) >= 4
    print(f"{len(children)} forked children, 8 threads x {calls} calls")
    # each forked child drew its own randomness (no stream shared with the parent or a sibling)
    assert len(set(samples)) == len(samples), "two forked children sampled the same segmentation"
    assert parent_sample not in samples


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm")
@pytest.mark.skipif(UNDER_ASAN, reason="ASan holds freed memory back (its quarantine, up to 256 MB) "
                    "to catch use after free: RSS there measures that, not leaks; the plain run measures them")
def test_memory_stays_flat_over_many_calls(tok):
    def run(n: int):
        for k in range(n):
            text = TEXTS[k % len(TEXTS)]
            kind = k % 5
            if kind == 0:
                tok.encode(text)
            elif kind == 1:
                tok.encode(text, 0.1, seed=None if k % 2 else k)
            elif kind == 2:
                tok.encode_array(text, 0.3, sampler="exact")
            elif kind == 3:
                tok.encode_with_offsets(text)
            else:
                tok.decode(tok.encode(text))
        tok.encode_batch(TEXTS * 10, 0.1)

    run(3000)                           # warm-up: caches, allocator pools, the thread pool
    before = _rss_bytes()
    calls = 20000 * SCALE
    run(calls)
    growth = _rss_bytes() - before
    # 20,000 calls: a leak of even 200 bytes per call would show as 4 MB
    print(f"RSS {before / 1e6:.1f} MB, grew by {growth / 1e6:.2f} MB over {calls:,} calls")
    assert growth < 3 * 1024 * 1024, f"RSS grew by {growth / 1e6:.1f} MB over {calls:,} calls"
