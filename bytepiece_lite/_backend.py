"""Which segmentation backend serves a Tokenizer: the compiled core, or its pyahocorasick twin.

The compiled extension ``_core`` is optional at run time: where it is not built (an install
without a C compiler), every feature still works through the pure-Python backend, slowly,
and a warning says so once.
"""
from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np

from ._contracts import Backend

try:
    from . import _core
except ImportError as _exc:  # no compiled build: see warn_missing_core
    _core = None
    _CORE_ERROR = str(_exc)

__all__ = ["BACKENDS", "active", "make", "stream_key"]

#: The names a Tokenizer's ``backend=`` takes; "native" falls back to "pyahocorasick"
#: (with a warning) where the compiled core is missing.
BACKENDS = ("native", "pyahocorasick")

if _core is not None:
    stream_key = _core.stream_key   # the same function as _rng's, ~20x faster
else:
    from ._rng import stream_key

_warned = False


def active() -> str:
    """"native" if the compiled core is importable, else "pyahocorasick"."""
    return "native" if _core is not None else "pyahocorasick"


def warn_missing_core() -> None:
    """Warn, once per process, that the pure-Python backend is serving native requests."""
    global _warned
    if not _warned:
        _warned = True
        warnings.warn(
            "bytepiece_lite's compiled core is not available "
            f"({_CORE_ERROR}); the pure-Python backend serves every call, 30-100x slower. "
            "Install a wheel (pip install --force-reinstall bytepiece-lite) or build from "
            "source with a C compiler for the fast path.", RuntimeWarning, stacklevel=3)


def make(name: str, pieces: Sequence[bytes], logp: np.ndarray) -> tuple[str, Backend]:
    """(the backend's name, the vocabulary compiled by it)."""
    if name not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, not {name!r}")
    if name == "native" and _core is not None:
        return name, _core.Vocab(list(pieces), logp)
    if name == "native":
        warn_missing_core()
    from ._pyac import PyVocab

    return "pyahocorasick", PyVocab(pieces, logp)
