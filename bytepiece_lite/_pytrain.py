"""Plain-Python twins of the trainer's compiled kernels (train_kernels.pxi), for installations
without the compiled core: the same results, bit for bit, far more slowly."""
from __future__ import annotations

import math

import numpy as np

__all__ = ["Bnlm", "split_counts"]

_MAX_ORDER = 8
_NEG_INF = -math.inf


class Bnlm:
    """The pruned n-gram model: table j (1..order) maps a j-byte n-gram, packed big-endian
    into an int, to ln P(last byte | the j-1 before it).

    Bnlm(order, ensure_unicode, keys, logps): keys[j-1] / logps[j-1] are table j's arrays.
    """

    def __init__(self, order: int, ensure_unicode: bool, keys: list, logps: list):
        if not 1 <= order <= _MAX_ORDER:
            raise ValueError(f"order must be between 1 and {_MAX_ORDER}, not {order}")
        if len(keys) != order or len(logps) != order:
            raise ValueError(f"expected {order} n-gram tables")
        self.order = order
        self.ensure_unicode = bool(ensure_unicode)
        self._arrays = (keys, logps)
        self._tables = []
        for j, (k, v) in enumerate(zip(keys, logps), start=1):
            if len(k) != len(v):
                raise ValueError(f"table {j}: {len(k)} keys but {len(v)} values")
            self._tables.append(dict(zip(np.asarray(k).tolist(), np.asarray(v).tolist())))

    def __reduce__(self):
        return (Bnlm, (self.order, self.ensure_unicode) + self._arrays)

    def _starts(self, text: bytes) -> list[int]:
        """Piece start positions of the Viterbi over the model's states, last first (the
        same float64 sums and first-index argmax as the compiled kernel)."""
        K, tables = self.order, self._tables
        routes = []
        prev: list[float] = []
        for i, byte in enumerate(text):
            nd = [_NEG_INF] * K
            key = 0
            for j in range(min(K, i + 1)):
                key |= text[i - j] << (8 * j)
                nd[j] = tables[j].get(key, _NEG_INF)
                if nd[j] == _NEG_INF:
                    break       # a longer n-gram's suffix is absent: so is the n-gram
            if self.ensure_unicode and 0x80 <= byte < 0xC0:
                nd[0] = _NEG_INF
            if i == 0:
                prev = nd
                continue
            cur = [0.0] * K
            route = [0] * K
            best, arg = prev[0] + nd[0], 0
            for k in range(1, K):
                s = prev[k] + nd[0]
                if s > best:
                    best, arg = s, k
            cur[0], route[0] = best, arg
            for j in range(1, K):
                best, arg = prev[j - 1] + nd[j], j - 1
                if j == K - 1:
                    s = prev[j] + nd[j]
                    if s > best:
                        best, arg = s, j
                cur[j] = best
                route[j] = arg if best != _NEG_INF else 0
            routes.append(route)
            prev = cur
        arg = 0
        for j in range(1, K):
            if prev[j] > prev[arg]:
                arg = j
        starts = []
        for i in range(len(text) - 1, -1, -1):
            if arg == 0:
                starts.append(i)
            if i > 0:
                arg = routes[i - 1][arg]
        return starts

    def count_pieces(self, chunks: list[bytes], counter: dict[bytes, int]) -> None:
        """Segment each chunk (bytes) and add 1 to counter[piece] for every piece."""
        for chunk in chunks:
            end = len(chunk)
            for s in self._starts(chunk) if chunk else ():
                piece = chunk[s:end]
                counter[piece] = counter.get(piece, 0) + 1
                end = s


def split_counts(vocab, pieces: list[bytes], weights: np.ndarray) -> np.ndarray:
    """Segment each piece deterministically with `vocab` (a ``_pyac.PyVocab``; no newline
    chunking) and add its weight to every piece index it splits into; the totals per piece
    index (int64, exact)."""
    if len(weights) != len(pieces):
        raise ValueError(f"{len(pieces)} pieces but {len(weights)} weights")
    totals = [0] * vocab.num_pieces
    for piece, weight in zip(pieces, np.asarray(weights).tolist()):
        for i in vocab.chunk_indices(piece):
            totals[i] += weight
    return np.array(totals, dtype=np.int64)
