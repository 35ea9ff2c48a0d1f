"""The second backend: the same Viterbi in plain Python over pyahocorasick's matches.

It is the oracle the compiled core is tested against (same decisions, same random draws, so
seeded sampling is identical) and the fallback where the extension is not built.  It works
with both builds of pyahocorasick: the PyPI wheel takes ``str`` (``ahocorasick.unicode == 1``;
bytes are fed as latin-1, one character per byte) and an ``AHOCORASICK_BYTES=1`` build takes
``bytes``.
"""
from __future__ import annotations

import math
import re
from typing import Sequence

import ahocorasick
import numpy as np

from . import _rng
from ._contracts import BOS_ID, EOS_ID, ID_OFFSET, Mode, Output
from ._fastexp import exp_neg

_CHUNKS = re.compile(rb"[^\n]*\n+|[^\n]+")      # the chunks of docs/semantics.md
_INF = math.inf
_LN2 = 0.6931471805599453
_FOLD_ABOVE = 1e100


def _sigmoid(x: float) -> float:
    # The same float operations as the core's 1.0 / (1.0 + exp(-x)); C's exp overflows to
    # inf (giving 0.0) where Python's raises.
    try:
        return 1.0 / (1.0 + math.exp(-x))
    except OverflowError:
        return 0.0


def _fold(base: float, total: float) -> tuple[float, float]:
    """exp(base) * total (total >= 1) as exp(base + k ln 2) * m, m in [1, 2): the core's
    _fold_exponent, operation for operation."""
    m, k = math.frexp(total)
    return base + (k - 1) * _LN2, m * 2.0


class PyVocab:
    """The pyahocorasick backend: a ``_contracts.Backend``, like ``_core.Vocab``."""

    def __init__(self, pieces: Sequence[bytes], logp: np.ndarray):
        self._pieces = tuple(pieces)
        self._ids = tuple(range(ID_OFFSET, ID_OFFSET + len(pieces)))
        self.num_pieces = len(pieces)
        self.max_len = max(map(len, pieces))
        self._index = {p: i for i, p in enumerate(pieces)}
        self._bytes_keys = not ahocorasick.unicode
        self._automaton = ahocorasick.Automaton()
        for i, (p, lp) in enumerate(zip(pieces, logp.tolist())):
            self._automaton.add_word(self._key(p), (i, len(p), lp))
        self._automaton.make_automaton()

    def _key(self, data: bytes) -> bytes | str:
        return data if self._bytes_keys else data.decode("latin-1")

    def find(self, piece: bytes) -> int:
        return self._index.get(piece, -1)

    def _segment(self, chunk: bytes, offset: int, mode: int, alpha: float, key: int) -> list[int]:
        """Piece indices of one chunk (docs/semantics.md, "Segmentation"), visiting the matches
        in Aho-Corasick order."""
        n = len(chunk)
        if n == 0:
            return []
        score = [0.0] + [-_INF] * n      # for exact sampling: the running maximum
        # Exact sampling: Z[e] = exp(score[e]) * wsum[e]; once every match ending at e is in,
        # folded if wsum[e] > _FOLD_ABOVE (see _fold).
        wsum = [1.0] + [0.0] * n
        folded = 0
        route = [0] * (n + 1)
        exact, deterministic = mode == Mode.EXACT, mode == Mode.DETERMINISTIC
        for last, (pid, length, lp) in self._automaton.iter(self._key(chunk)):
            e = last + 1
            s = e - length
            if exact:
                while folded < e - 1:    # matches arrive by end: ends before e are complete
                    folded += 1
                    if wsum[folded] > _FOLD_ABOVE:
                        score[folded], wsum[folded] = _fold(score[folded], wsum[folded])
                cand = score[s] + alpha * lp
                zs = wsum[s]
                total = wsum[e]
                if total == 0.0:
                    score[e], wsum[e], route[e] = cand, zs, pid
                    continue
                cur = score[e]
                if cand <= cur:
                    weight = zs * exp_neg(cand - cur)
                    total = total + weight
                else:
                    total = total * exp_neg(cur - cand) + zs
                    weight = zs
                    score[e] = cand
                wsum[e] = total
                if _rng.to_unit(_rng.draw(key, offset + e, length)) * total < weight:
                    route[e] = pid
                continue
            cand = score[s] + lp
            cur = score[e]
            if deterministic:
                accept = cand > cur
            else:
                accept = cur == -_INF or (
                    _rng.to_unit(_rng.draw(key, offset + e, length)) < _sigmoid(alpha * (cand - cur))
                )
            if accept:
                score[e], route[e] = cand, pid
        out = []
        e = n
        while e > 0:
            pid = route[e]
            out.append(pid)
            e -= len(self._pieces[pid])
        out.reverse()
        return out

    def chunk_indices(self, chunk: bytes) -> list[int]:
        """Piece indices of the deterministic segmentation of `chunk` as one chunk (no cut
        after newlines; the trainer re-segments pieces so)."""
        return self._segment(chunk, 0, Mode.DETERMINISTIC, 0.0, 0)

    def _indices(self, data: bytes, mode: int, alpha: float, key: int, offset: int) -> list[int]:
        out: list[int] = []
        for m in _CHUNKS.finditer(data):
            out.extend(self._segment(m.group(), offset + m.start(), mode, alpha, key))
        return out

    def tokenize(self, data: bytes, mode: int = 0, alpha: float = 0.0, key: int = 0, *,
                 offset: int = 0) -> list[bytes]:
        pieces = self._pieces
        return [pieces[i] for i in self._indices(data, mode, alpha, key, offset)]

    def encode(self, data: bytes, mode: int = 0, alpha: float = 0.0, key: int = 0, *,
               offset: int = 0) -> list[int]:
        ids = self._ids
        return [ids[i] for i in self._indices(data, mode, alpha, key, offset)]

    def encode_batch(self, texts: list, *, mode: int, alpha: float, seed: int,
                     num_threads: int = 1, executor=None, output: int = Output.ARRAYS,
                     bos: bool = False, eos: bool = False, starts=None, streams=None,
                     prepare=None, min_bytes_per_thread: int = 0):
        """Same contract as the core's encode_batch (threads are ignored: this is the oracle)."""
        if prepare is not None:
            texts = [t if type(t) is bytes else prepare(t) for t in texts]
        for k, t in enumerate(texts):
            if type(t) is not bytes and type(t) is not str:
                raise TypeError(f"text {k} is {type(t).__name__}, not bytes or str")
        texts = [t.encode("utf-8") if type(t) is str else t for t in texts]
        n = len(texts)
        starts = [0] * n if starts is None else [int(a) for a in starts]
        streams = range(n) if streams is None else [int(k) for k in streams]
        rows = [self._indices(t, mode, alpha, _rng.stream_key(seed, k), a)
                for t, a, k in zip(texts, starts, streams)]
        if output == Output.PIECES:
            return [[self._pieces[i] for i in row] for row in rows]
        head, tail = [BOS_ID] * bos, [EOS_ID] * eos
        rows = [head + [i + ID_OFFSET for i in row] + tail for row in rows]
        if output == Output.IDS:
            return rows
        lengths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        ids = np.fromiter((i for row in rows for i in row), dtype=np.uint32, count=int(offsets[-1]))
        return ids, offsets

    def encode_parts(self, text, cuts, *, mode: int, alpha: float, seed: int, stream: int = 0,
                     offset: int = 0, num_threads: int = 1, executor=None,
                     output: int = Output.IDS, bos: bool = False, eos: bool = False,
                     prepare=None):
        """Same contract as the core's encode_parts: the parts segmented as one text."""
        if type(text) is not str and type(text) is not bytes:
            raise TypeError(f"text is {type(text).__name__}, not bytes or str")
        if offset < 0:
            raise ValueError(f"offset must be >= 0, not {offset}")
        cuts = [int(c) for c in cuts]
        if len(cuts) < 2 or cuts[0] != 0 or cuts[-1] != len(text):
            raise ValueError("cuts must run from 0 to len(text)")
        if any(b < a for a, b in zip(cuts, cuts[1:])):
            raise ValueError("cuts must not decrease")
        parts = [text[a:b] for a, b in zip(cuts, cuts[1:])]
        if prepare is not None:
            parts = [prepare(p) if type(p) is str else p for p in parts]
        data = [p.encode("utf-8") if type(p) is str else p for p in parts]
        starts = np.cumsum([offset] + [len(p) for p in data[:-1]], dtype=np.int64)
        pieces = output == Output.PIECES
        rows = self.encode_batch(data, mode=mode, alpha=alpha, seed=seed,
                                 output=Output.PIECES if pieces else Output.IDS, starts=starts,
                                 streams=[stream] * len(data))
        whole = [t for row in rows for t in row]
        if pieces:
            return whole
        whole = [BOS_ID] * bos + whole + [EOS_ID] * eos
        return np.array(whole, dtype=np.uint32) if output == Output.ARRAYS else whole
