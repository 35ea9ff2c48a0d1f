"""The counter-based random stream of the samplers, in plain Python.

The compiled core has the same functions; this copy serves the pyahocorasick backend, which
must draw exactly the numbers the core draws (it is the core's test oracle), and works where
the extension is not built.

A candidate piece ending at byte `end` of a text with length `length` draws the 64 bits
``mix64(key + ((end << 16) | length) * GAMMA)`` where mix64 is SplitMix64's output function;
``u = (bits >> 11) / 2**53``.  The key of text number `index` in a call seeded with `seed` is
``mix64(mix64(seed) + (index + 1) * GAMMA)``.  Draws are keyed by the candidate, not by the
order of visits, so they do not depend on the backend, on chunking or on threads.
"""
from __future__ import annotations

import itertools
import os

__all__ = ["draw", "fresh_seed", "stream_key", "to_unit"]

_M64 = (1 << 64) - 1
GAMMA = 0x9E3779B97F4A7C15


def _mix64(z: int) -> int:
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    return z ^ (z >> 31)


def stream_key(seed: int, index: int) -> int:
    """The key of the random stream of text `index` in a call seeded with `seed`."""
    return _mix64((_mix64(seed) + (index + 1) * GAMMA) & _M64)


def draw(key: int, end: int, length: int) -> int:
    """64 random bits for the candidate piece text[end - length:end]."""
    return _mix64((key + ((end << 16) | length) * GAMMA) & _M64)


def to_unit(bits: int) -> float:
    """u in [0, 1) from 64 random bits (the top 53)."""
    return (bits >> 11) * (1.0 / 9007199254740992.0)


_process_key: int | None = None     # OS entropy, drawn once per process (again after a fork)
_calls = itertools.count()          # next() on it is atomic: no two calls get one number


def _forget_process_key() -> None:
    global _process_key
    _process_key = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_process_key)


def fresh_seed() -> int:
    """A seed no other call in any process has drawn (up to 2**-64 chances between processes).

    mix64 of the process's own OS entropy plus a per-call counter: distinct across calls and
    tokenizers (mix64 is a bijection), and across forked processes (a child draws its own
    entropy), for a fraction of an os.urandom() call each time."""
    global _process_key
    key = _process_key
    if key is None:
        key = _process_key = int.from_bytes(os.urandom(8), "little")
    return _mix64((key + next(_calls) * GAMMA) & _M64)
