"""Routing a segmentation request to the backend: one text on one thread or cut at chunk
boundaries across the pool, with or without allowed special tokens, batches, stream blocks
and corpus parts.  Arguments arrive checked (tokenizer.py is the API); this module decides
how the backend is called."""
from __future__ import annotations

import itertools
from typing import Callable, Union

import numpy as np

from . import _backend, _chunks, _special, _threads
from ._contracts import BOS_ID, EOS_ID, Backend, Output
from .normalize import nfc, nfc_utf8, to_bytes

__all__ = ["Segmenter"]

Text = Union[str, bytes]


def single_key(mode: int, seed: int) -> int:
    """The stream key of a single text (text 0 of its call); deterministic calls draw none."""
    return _backend.stream_key(seed, 0) if mode else 0


def _batch_text(text: object) -> Text:
    """A batch item the core's quick check did not take, as the core takes it: NFC str
    (its threads encode it), or bytes."""
    return nfc(text) if type(text) is str else to_bytes(text)


class Segmenter:
    """A backend and its tokenizer's special tokens, and the ways of calling it."""

    def __init__(self, vocab: Backend, special: _special.SpecialTokens):
        self.vocab = vocab
        self.special = special

    def pattern(self, allowed_special):
        """The matcher of `allowed_special`, or None (no allowed token: the ordinary path)."""
        return self.special.matcher(allowed_special) if allowed_special else None

    @staticmethod
    def threads(size: int, num_threads: int | None) -> int:
        """Threads for one text of `size` bytes (or code points of a str, a lower bound):
        by default one below PARALLEL_MIN_BYTES, else all cores; at most one per
        MIN_BYTES_PER_THREAD."""
        if num_threads is None and size < _threads.PARALLEL_MIN_BYTES or num_threads == 1:
            return 1
        return _threads.count(num_threads, max(1, size // _threads.MIN_BYTES_PER_THREAD))

    def one(self, text: Text, mode: int, alpha: float, seed: int, num_threads: int | None,
            allowed_special, output: int, bos: bool = False, eos: bool = False):
        """The ids (a list, or a uint32 array for Output.ARRAYS) or pieces of one text, with
        `bos`/`eos` around the ids.  A long text is cut at chunk boundaries and its parts run
        on a pool (a long str's parts are NFC-normalized and encoded by the threads); allowed
        special tokens cut it too.  Draws are keyed by absolute position, so the result is
        the whole text's either way."""
        pattern = self.pattern(allowed_special)
        # A str long enough in code points goes to the threads as it is; any other text is
        # first made bytes (a shorter str whose UTF-8 is long enough then goes as bytes).
        threads = self.threads(len(text), num_threads) if type(text) is str else 1
        if threads > 1 and pattern is None:
            cuts = _chunks.cuts(text, 16 * threads)
            if len(cuts) > 2:
                try:
                    return self._parts(text, cuts, mode, alpha, seed, threads, output, bos, eos)
                except UnicodeEncodeError:
                    to_bytes(text)      # the error message of the one-thread path
                    raise
        data = to_bytes(text)
        threads = self.threads(len(data), num_threads)
        if pattern is not None and pattern.search(data):
            row = _special.encode_rows(self.vocab, self.special, [data], pattern, mode=mode,
                                       alpha=alpha, seed=seed, streams=[0],
                                       pieces=output == Output.PIECES, num_threads=threads,
                                       executor=_threads.executor(threads), bos=bos, eos=eos)[0]
            return np.array(row, dtype=np.uint32) if output == Output.ARRAYS else row
        if threads > 1:
            cuts = _chunks.cuts(data, 16 * threads)
            if len(cuts) > 2:
                return self._parts(data, cuts, mode, alpha, seed, threads, output, bos, eos)
        if output == Output.ARRAYS:
            return self.vocab.encode_batch([data], mode=mode, alpha=alpha, seed=seed,
                                           bos=bos, eos=eos)[0]
        segment = self.vocab.tokenize if output == Output.PIECES else self.vocab.encode
        row = segment(data, mode, alpha, single_key(mode, seed))
        if bos:
            row.insert(0, BOS_ID)
        if eos:
            row.append(EOS_ID)
        return row

    def _parts(self, text: Text, cuts: list[int], mode: int, alpha: float, seed: int,
               threads: int, output: int, bos: bool, eos: bool):
        """One text cut at chunk boundaries `cuts`, its parts segmented on `threads` (a str's
        NFC-normalized by them, part by part: a part that changes becomes its UTF-8 at once)."""
        return self.vocab.encode_parts(text, np.array(cuts, dtype=np.int64), mode=mode,
                                       alpha=alpha, seed=seed, num_threads=threads,
                                       executor=_threads.executor(threads), output=output,
                                       bos=bos, eos=eos, prepare=nfc_utf8)

    def batch(self, data: list, mode: int, alpha: float, seed: int, num_threads: int | None,
              output: int, bos: bool, eos: bool, allowed_special):
        """The rows (or arrays) of a batch; text k draws from stream k."""
        threads = _threads.count(num_threads, len(data))
        pattern = self.pattern(allowed_special)
        if pattern is not None:
            rows = _special.encode_rows(self.vocab, self.special, [to_bytes(t) for t in data],
                                        pattern, mode=mode, alpha=alpha, seed=seed,
                                        streams=range(len(data)), pieces=output == Output.PIECES,
                                        num_threads=threads, executor=_threads.executor(threads),
                                        bos=bos, eos=eos)
            if output != Output.ARRAYS:
                return rows
            offsets = np.zeros(len(rows) + 1, dtype=np.int64)
            np.cumsum([len(r) for r in rows], out=offsets[1:])
            return np.fromiter(itertools.chain.from_iterable(rows), np.uint32, int(offsets[-1])), offsets
        try:
            return self.vocab.encode_batch(
                data, mode=mode, alpha=alpha, seed=seed, num_threads=threads,
                executor=_threads.executor(threads), output=output, bos=bos, eos=eos,
                prepare=_batch_text,
                min_bytes_per_thread=_threads.MIN_BYTES_PER_THREAD if num_threads is None else 0)
        except UnicodeEncodeError:
            for t in data:
                to_bytes(t)         # the error message of the single-text calls
            raise

    def stream_encoder(self, mode: int, alpha: float, seed: int,
                       allowed_special) -> Callable[[bytes, int], list[int]]:
        """encode_at(block, offset): the ids of a block of a stream at `offset` in it."""
        pattern = self.pattern(allowed_special)
        if pattern is None:
            key = single_key(mode, seed)

            def encode_at(data: bytes, offset: int) -> list[int]:
                return self.vocab.encode(data, mode, alpha, key, offset=offset)
        else:
            def encode_at(data: bytes, offset: int) -> list[int]:
                return _special.encode_rows(self.vocab, self.special, [data], pattern, mode=mode,
                                            alpha=alpha, seed=seed, streams=[0], offsets=[offset])[0]
        return encode_at

    def parts_encoder(self, mode: int, alpha: float, seed: int, allowed_special):
        """encode_parts(parts, starts, k, threads, min_bytes): the ids of consecutive parts of
        text (file) number k that start at `starts` in it, as one uint32 array."""
        pattern = self.pattern(allowed_special)

        def encode_parts(parts: list[bytes], starts: np.ndarray, stream: int, threads: int,
                         min_bytes: int) -> np.ndarray:
            if pattern is not None:
                rows = _special.encode_rows(self.vocab, self.special, parts, pattern, mode=mode,
                                            alpha=alpha, seed=seed, streams=[stream] * len(parts),
                                            offsets=starts.tolist(), num_threads=threads,
                                            executor=_threads.executor(threads))
                return np.fromiter(itertools.chain.from_iterable(rows), np.uint32)
            return self.vocab.encode_batch(
                parts, mode=mode, alpha=alpha, seed=seed, num_threads=threads,
                executor=_threads.executor(threads), output=Output.ARRAYS, starts=starts,
                streams=np.full(len(parts), stream, dtype=np.uint64),
                min_bytes_per_thread=min_bytes)[0]
        return encode_parts
