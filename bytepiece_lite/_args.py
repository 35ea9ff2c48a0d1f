"""Checks of the public API's arguments, shared by its methods: what is wrong is said by name."""
from __future__ import annotations

import math
import numbers
from typing import Iterable

import numpy as np

from . import _rng
from ._contracts import SAMPLERS, Mode

__all__ = ["ids", "sampling"]

# Scores are sums of alpha * log p over the text: |log p| < 66 for counts below 2**63, so up to
# this alpha they stay finite for any text.
MAX_ALPHA = 1e200


def sampling(alpha: float | None, sampler: str, seed: int | None) -> tuple[int, float, int]:
    """(mode, alpha, seed) for the backend, checked; an unseeded sampling call gets a fresh
    seed, a deterministic one (0, 0.0, 0)."""
    mode = SAMPLERS.get(sampler)
    if mode is None:
        raise ValueError(f"sampler must be 'viterbi' or 'exact', not {sampler!r}")
    if alpha is None:
        mode, alpha = Mode.DETERMINISTIC, 0.0
    else:
        # type() first: the ABC checks cost more than a short text's segmentation
        if type(alpha) is not float:
            if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
                raise TypeError(f"alpha must be a real number or None, not {type(alpha).__name__}")
            alpha = float(alpha)
        if not math.isfinite(alpha):
            raise ValueError(f"alpha must be finite, not {alpha}")
        if alpha > MAX_ALPHA:
            raise ValueError(f"alpha must be at most {MAX_ALPHA:g} (beyond, alpha * log p "
                             f"overflows), not {alpha}")
        if alpha <= 0:
            mode = Mode.DETERMINISTIC
    if seed is not None:
        if type(seed) is not int and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
            raise TypeError(f"seed must be an int or None, not {type(seed).__name__}")
        if not 0 <= seed < 1 << 64:
            raise ValueError(f"seed must be in [0, 2**64), not {seed}")
    if mode == Mode.DETERMINISTIC:
        return 0, 0.0, 0
    return mode, alpha, _rng.fresh_seed() if seed is None else int(seed)


def ids(ids: Iterable[int], vocab_size: int) -> list[int]:
    """`ids` as a list of ints, each checked to lie in [0, vocab_size)."""
    if isinstance(ids, np.ndarray):
        if ids.ndim != 1 or ids.dtype.kind not in "iu":
            raise TypeError(f"ids must be a 1-d integer array, not {ids.dtype} with shape {ids.shape}")
        ids = ids.tolist()
    elif isinstance(ids, (str, bytes)) or not isinstance(ids, Iterable):
        raise TypeError(f"ids must be an iterable of int, not {type(ids).__name__}")
    else:
        ids = list(ids)
    for pos, i in enumerate(ids):
        if type(i) is not int:
            if isinstance(i, bool) or not isinstance(i, numbers.Integral):
                raise TypeError(f"id at position {pos} is {i!r}, not an int")
            ids[pos] = i = int(i)
        if not 0 <= i < vocab_size:
            raise ValueError(f"id {i} at position {pos} is outside [0, {vocab_size})")
    return ids
