"""The public Tokenizer: argument checks and conversions around a compiled vocabulary."""
from __future__ import annotations

import functools
import math
import numbers
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Iterable, Iterator, Mapping, NamedTuple, Optional, Union

import numpy as np

from . import _rng
from . import model as _model
from . import stream as _stream
from .normalize import nfc, to_bytes

__all__ = ["Encoding", "Tokenizer"]

Text = Union[str, bytes]
_BACKENDS = ("native", "pyahocorasick")
_SAMPLERS = {"viterbi": 1, "exact": 2}
# Scores are sums of alpha * log p over the text: |log p| < 66 for counts below 2**63, so up to
# this alpha they stay finite for any text.
_MAX_ALPHA = 1e200
_SPECIALS = (b"<pad>", b"<bos>", b"<eos>")


class Encoding(NamedTuple):
    """Ids with their spans; see :meth:`Tokenizer.encode_with_offsets`."""

    ids: np.ndarray
    byte_spans: np.ndarray
    char_spans: Optional[np.ndarray]

#: The embedded model, in bytepiece_lite/data/ (see README: trained by our Trainer).
DEFAULT_MODEL = "default.model.zip"


try:
    from ._core import stream_key as _stream_key    # the same function as _rng's, ~20x faster
except ImportError:  # pragma: no cover - only without a compiled build
    _stream_key = _rng.stream_key


def _single_key(mode: int, seed: int) -> int:
    """The stream key of a single text (text 0 of its call); deterministic calls draw none."""
    return _stream_key(seed, 0) if mode else 0


def _make_vocab(backend: str, pieces: list[bytes], logp: np.ndarray):
    if backend == "native":
        try:
            from ._core import Vocab
        except ImportError as exc:  # pragma: no cover - only without a compiled build
            raise ImportError(
                "the compiled extension bytepiece_lite._core is not available "
                f"({exc}); reinstall the package or use backend='pyahocorasick'"
            ) from exc
        return Vocab(pieces, logp)
    from ._pyac import PyVocab

    return PyVocab(pieces, logp)


class Tokenizer:
    """A byte-level Unigram tokenizer, compatible with upstream BytePiece models.

    ``source`` is a path to an upstream model (``.model``/``.json``, or the ``.zip`` upstream
    publishes) or a ``{piece_bytes: count}`` mapping.

    >>> tok = Tokenizer({bytes([b]): 1 for b in range(256)} | {b"ab": 5})
    >>> tok.tokenize("abc")
    [b'ab', b'c']
    >>> tok.decode(tok.encode("abc"))
    'abc'

    Thread-safe: a Tokenizer is immutable after construction and every call keeps its own
    scratch memory, so any number of threads may share one (the compiled core releases the
    GIL).  Fork-safe: unseeded sampling seeds each call from the process's own OS entropy
    (drawn again in a forked child) and a call counter, so forked workers never share a
    random stream.
    """

    PAD_ID = 0
    BOS_ID = 1
    EOS_ID = 2

    def __init__(self, source: str | os.PathLike[str] | Mapping[bytes, int], *,
                 backend: str = "native"):
        if backend not in _BACKENDS:
            raise ValueError(f"backend must be one of {_BACKENDS}, not {backend!r}")
        if isinstance(source, Mapping):
            model = _model.from_counts(source)
        elif isinstance(source, (str, os.PathLike)):
            model = _model.load(source)
        else:
            raise TypeError("source must be a model path or a mapping of bytes to counts, "
                            f"not {type(source).__name__}")
        self._init(model, backend)

    @classmethod
    def from_pieces(cls, counts: Mapping[bytes, int], *, backend: str = "native") -> "Tokenizer":
        """A tokenizer from ``{piece: count}``; ids follow upstream's (length, bytes) order.

        >>> Tokenizer.from_pieces({bytes([b]): 1 for b in range(256)}).vocab_size
        259
        """
        return cls(counts, backend=backend)

    @classmethod
    def default(cls) -> "Tokenizer":
        """The embedded default model (shared instance: a Tokenizer is immutable).

        >>> Tokenizer.default().decode(Tokenizer.default().encode("今天天气不错"))
        '今天天气不错'
        """
        return _default_tokenizer()

    def _init(self, model: _model.Model, backend: str) -> None:
        self._model = model
        self._backend = backend
        self._vocab = _make_vocab(backend, model.pieces, model.log_probs())
        self._id_to_bytes = _SPECIALS + tuple(model.pieces)
        # bytes per id (specials: 0), for offsets
        self._lengths = np.fromiter(map(len, (b"", b"", b"") + tuple(model.pieces)), dtype=np.int64,
                                    count=len(model.pieces) + 3)
        # decode joins this table: specials decode to nothing
        self._decode_table = (b"", b"", b"") + tuple(model.pieces)

    # ------------------------------------------------------------------ properties
    @property
    def vocab_size(self) -> int:
        """Number of ids: the pieces plus <pad>, <bos>, <eos>."""
        return len(self._id_to_bytes)

    @property
    def backend(self) -> str:
        return self._backend

    def pieces(self) -> dict[bytes, int]:
        """A copy of the ``{piece: count}`` table, in id order."""
        return dict(zip(self._model.pieces, self._model.counts.tolist()))

    def __repr__(self) -> str:
        return f"Tokenizer(<{len(self._model.pieces)} pieces>, backend={self._backend!r})"

    # ------------------------------------------------------------------ segmentation
    def _mode(self, alpha: float | None, sampler: str, seed: int | None) -> tuple[int, float, int]:
        """(mode, alpha, seed) for the core; an unseeded sampling call gets a fresh seed."""
        if sampler not in _SAMPLERS:
            raise ValueError(f"sampler must be 'viterbi' or 'exact', not {sampler!r}")
        if alpha is None:
            mode, alpha = 0, 0.0
        else:
            # type() first: the ABC checks cost more than a short text's segmentation
            if type(alpha) is not float:
                if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
                    raise TypeError(f"alpha must be a real number or None, not {type(alpha).__name__}")
                alpha = float(alpha)
            if not math.isfinite(alpha):
                raise ValueError(f"alpha must be finite, not {alpha}")
            if alpha > _MAX_ALPHA:
                raise ValueError(f"alpha must be at most {_MAX_ALPHA:g} (beyond, alpha * log p "
                                 f"overflows), not {alpha}")
            mode = _SAMPLERS[sampler] if alpha > 0 else 0
        if seed is not None:
            if type(seed) is not int and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
                raise TypeError(f"seed must be an int or None, not {type(seed).__name__}")
            if not 0 <= seed < 1 << 64:
                raise ValueError(f"seed must be in [0, 2**64), not {seed}")
        if mode == 0:
            return 0, 0.0, 0
        return mode, alpha, _rng.fresh_seed() if seed is None else int(seed)

    def _batch(self, texts: Iterable[Text], alpha: float | None, sampler: str, seed: int | None,
               num_threads: int | None, output: int, bos: bool = False, eos: bool = False):
        mode, alpha, seed = self._mode(alpha, sampler, seed)
        if isinstance(texts, (str, bytes)) or not isinstance(texts, Iterable):
            raise TypeError(f"texts must be an iterable of str or bytes, not {type(texts).__name__}")
        data = list(texts)          # our own list: the threads point into its items
        threads = _thread_count(num_threads, len(data))
        try:
            return self._vocab.encode_batch(
                data, mode, alpha, seed, threads, _executor(threads) if threads > 1 else None,
                output, bos, eos, prepare=_batch_text,
                min_bytes_per_thread=_MIN_BYTES_PER_THREAD if num_threads is None else 0)
        except UnicodeEncodeError:
            for t in data:
                to_bytes(t)         # the error message of the single-text calls
            raise

    def tokenize(self, text: Text, alpha: float | None = None, *, sampler: str = "viterbi",
                 seed: int | None = None) -> list[bytes]:
        """Cut `text` into pieces (bytes); ``b"".join(result)`` is the UTF-8 of NFC(text).

        ``alpha`` None or <= 0: the most probable segmentation.  ``alpha > 0``: a random one
        (subword regularization) drawn by ``sampler``: "viterbi" (Viterbi Sampling; larger
        alpha is closer to deterministic) or "exact" (probability ∝ P(w)**alpha).  ``seed``
        makes sampling reproducible; without it every call gets a seed no other call had.

        >>> tok = Tokenizer({bytes([b]): 1 for b in range(256)} | {b"ab": 5})
        >>> tok.tokenize(b"abab")
        [b'ab', b'ab']
        """
        mode, alpha, seed = self._mode(alpha, sampler, seed)
        return self._vocab.tokenize(to_bytes(text), mode, alpha, _single_key(mode, seed))

    def encode(self, text: Text, alpha: float | None = None, *, sampler: str = "viterbi",
               seed: int | None = None, add_bos: bool = False, add_eos: bool = False) -> list[int]:
        """Token ids of `text` (see :meth:`tokenize` for ``alpha``, ``sampler`` and ``seed``).

        >>> tok = Tokenizer({bytes([b]): 1 for b in range(256)} | {b"ab": 5})
        >>> tok.encode("ab", add_bos=True, add_eos=True)
        [1, 259, 2]
        """
        mode, alpha, seed = self._mode(alpha, sampler, seed)
        ids = self._vocab.encode(to_bytes(text), mode, alpha, _single_key(mode, seed))
        if add_bos:
            ids.insert(0, self.BOS_ID)
        if add_eos:
            ids.append(self.EOS_ID)
        return ids

    def encode_array(self, text: Text, alpha: float | None = None, *, sampler: str = "viterbi",
                     seed: int | None = None, add_bos: bool = False,
                     add_eos: bool = False) -> np.ndarray:
        """Like :meth:`encode`, as a ``uint32`` numpy array (no Python list in between).

        >>> tok = Tokenizer({bytes([b]): 1 for b in range(256)} | {b"ab": 5})
        >>> tok.encode_array("abc")
        array([259, 102], dtype=uint32)
        """
        return self._batch([text], alpha, sampler, seed, 1, _OUT_ARRAYS, add_bos, add_eos)[0]

    def encode_batch(self, texts: Iterable[Text], alpha: float | None = None, *,
                     num_threads: int | None = None, seed: int | None = None,
                     sampler: str = "viterbi", add_bos: bool = False,
                     add_eos: bool = False) -> list[list[int]]:
        """:meth:`encode` of every text, on `num_threads` threads (default: all cores).

        Text number k of a seeded call draws from the stream (seed, k), so
        ``encode_batch(texts, a, seed=s)[k]`` is the same for every thread count, and
        ``encode_batch([t], a, seed=s)[0] == encode(t, a, seed=s)``.  The rows are not
        tracked by the cycle collector (they hold only ints): don't put one in a cycle.

        >>> tok = Tokenizer({bytes([b]): 1 for b in range(256)} | {b"ab": 5})
        >>> tok.encode_batch(["ab", "abc"], add_eos=True)
        [[259, 2], [259, 102, 2]]
        """
        return self._batch(texts, alpha, sampler, seed, num_threads, _OUT_IDS, add_bos, add_eos)

    def tokenize_batch(self, texts: Iterable[Text], alpha: float | None = None, *,
                       num_threads: int | None = None, seed: int | None = None,
                       sampler: str = "viterbi") -> list[list[bytes]]:
        """:meth:`tokenize` of every text, on `num_threads` threads (see :meth:`encode_batch`).

        >>> tok = Tokenizer({bytes([b]): 1 for b in range(256)} | {b"ab": 5})
        >>> tok.tokenize_batch(["ab", "abc"])
        [[b'ab'], [b'ab', b'c']]
        """
        return self._batch(texts, alpha, sampler, seed, num_threads, _OUT_PIECES)

    def encode_batch_flat(self, texts: Iterable[Text], alpha: float | None = None, *,
                          num_threads: int | None = None, seed: int | None = None,
                          sampler: str = "viterbi", add_bos: bool = False,
                          add_eos: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`encode_batch` as numpy arrays ``(ids, offsets)``: the ids of text k are
        ``ids[offsets[k]:offsets[k + 1]]`` (``uint32`` ids, ``int64`` offsets of length n + 1).

        >>> tok = Tokenizer({bytes([b]): 1 for b in range(256)} | {b"ab": 5})
        >>> ids, offsets = tok.encode_batch_flat(["ab", "abc"])
        >>> ids.tolist(), offsets.tolist()
        ([259, 259, 102], [0, 1, 3])
        """
        return self._batch(texts, alpha, sampler, seed, num_threads, _OUT_ARRAYS, add_bos, add_eos)

    def encode_with_offsets(self, text: Text, alpha: float | None = None, *,
                            sampler: str = "viterbi", seed: int | None = None) -> Encoding:
        """:meth:`encode` with every token's span in the input, as numpy arrays.

        ``ids`` (uint32), ``byte_spans`` (int64, shape (n, 2): start and end in the UTF-8
        bytes), ``char_spans`` (for ``str`` input, the same in characters of NFC(text);
        ``None`` for bytes input).  A token that begins or ends inside a multi-byte
        character spans every character it touches, so neighbouring char spans can overlap.

        >>> tok = Tokenizer({bytes([b]): 1 for b in range(256)} | {b"ab": 5})
        >>> enc = tok.encode_with_offsets("abé")
        >>> enc.ids.tolist(), enc.byte_spans.tolist(), enc.char_spans.tolist()
        ([259, 198, 172], [[0, 2], [2, 3], [3, 4]], [[0, 2], [2, 3], [2, 3]])
        """
        data = to_bytes(text)
        ids = self.encode_array(data, alpha, sampler=sampler, seed=seed)
        ends = np.cumsum(self._lengths[ids], dtype=np.int64)
        spans = np.stack([ends - self._lengths[ids], ends], axis=1)
        if not isinstance(text, str):
            return Encoding(ids, spans, None)
        # chars[p] = number of characters that start in data[:p + 1]
        chars = np.cumsum((np.frombuffer(data, dtype=np.uint8) & 0xC0) != 0x80, dtype=np.int64)
        if ids.size == 0:
            return Encoding(ids, spans, spans.copy())
        char_spans = np.stack([chars[spans[:, 0]] - 1, chars[spans[:, 1] - 1]], axis=1)
        return Encoding(ids, spans, char_spans)

    def encode_stream(self, source: Iterable[str] | Iterable[bytes] | IO, alpha: float | None = None,
                      *, sampler: str = "viterbi", seed: int | None = None) -> Iterator[list[int]]:
        """Encode a text that arrives in parts (an iterable of str, or of bytes, or a file
        object read in blocks), yielding ids a block of whole lines at a time.  The blocks
        joined equal ``encode(whole_text, alpha, sampler=..., seed=...)``, seeded sampling
        included; memory is bounded by the longest line.

        >>> tok = Tokenizer({bytes([b]): 1 for b in range(256)} | {b"ab": 5})
        >>> [ids for ids in tok.encode_stream(["a", "b\\na", "b"])]
        [[259, 13], [259]]
        """
        mode, alpha, seed = self._mode(alpha, sampler, seed)
        if isinstance(source, (str, bytes)) or not (hasattr(source, "read") or isinstance(source, Iterable)):
            raise TypeError(f"source must be an iterable of str or bytes parts, or a file object, not "
                            f"{type(source).__name__} (for one text use encode())")
        return _stream.encode_blocks(self._vocab, source, mode, alpha, _single_key(mode, seed))

    def decoder(self, *, errors: str = "replace") -> _stream.IncrementalDecoder:
        """An incremental decoder: ``.decode(ids)`` returns the text completed so far, holding
        back the bytes of a character split between ids; ``.flush()`` ends the text."""
        return _stream.IncrementalDecoder(self, errors=errors)

    # ------------------------------------------------------------------ ids and pieces
    def _check_ids(self, ids: Iterable[int]) -> list[int]:
        if isinstance(ids, np.ndarray):
            if ids.ndim != 1 or ids.dtype.kind not in "iu":
                raise TypeError(f"ids must be a 1-d integer array, not {ids.dtype} with shape {ids.shape}")
            ids = ids.tolist()
        elif isinstance(ids, (str, bytes)) or not isinstance(ids, Iterable):
            raise TypeError(f"ids must be an iterable of int, not {type(ids).__name__}")
        else:
            ids = list(ids)
        n = len(self._id_to_bytes)
        for pos, i in enumerate(ids):
            if type(i) is not int:
                if isinstance(i, bool) or not isinstance(i, numbers.Integral):
                    raise TypeError(f"id at position {pos} is {i!r}, not an int")
                ids[pos] = i = int(i)
            if not 0 <= i < n:
                raise ValueError(f"id {i} at position {pos} is outside [0, {n})")
        return ids

    def decode_bytes(self, ids: Iterable[int]) -> bytes:
        """The bytes of the pieces, joined; <pad>, <bos> and <eos> decode to nothing.

        >>> tok = Tokenizer({bytes([b]): 1 for b in range(256)})
        >>> tok.decode_bytes([1, 107, 108, 2])
        b'hi'
        """
        table = self._decode_table
        return b"".join([table[i] for i in self._check_ids(ids)])

    def decode(self, ids: Iterable[int], *, errors: str = "replace") -> str:
        """``decode_bytes(ids)`` as UTF-8 text; ``errors`` as in ``bytes.decode``.

        >>> tok = Tokenizer({bytes([b]): 1 for b in range(256)})
        >>> tok.decode(tok.encode("naïve"))
        'naïve'
        """
        return self.decode_bytes(ids).decode("utf-8", errors=errors)

    def piece_to_id(self, piece: bytes) -> int:
        """The id of a vocabulary piece; KeyError if it is not one.

        >>> Tokenizer({bytes([b]): 1 for b in range(256)}).piece_to_id(b"a")
        100
        """
        if not isinstance(piece, bytes):
            raise TypeError(f"piece must be bytes, not {type(piece).__name__}")
        i = self._vocab.find(bytes(piece))
        if i < 0:
            raise KeyError(piece)
        return i + _model.ID_OFFSET

    def id_to_piece(self, id: int) -> bytes:
        """The bytes of id `id` (``b"<pad>"``, ``b"<bos>"``, ``b"<eos>"`` for 0, 1, 2).

        >>> Tokenizer({bytes([b]): 1 for b in range(256)}).id_to_piece(100)
        b'a'
        """
        return self._id_to_bytes[self._check_ids([id])[0]]

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the model in upstream's JSON format (a ``.zip`` path zips it), atomically."""
        _model.save(self._model, path)

    def __reduce__(self):
        pieces = self._model.pieces
        lengths = np.fromiter(map(len, pieces), dtype=np.uint32, count=len(pieces))
        counts = self._model.counts
        dtype = np.uint32 if counts.max() < 1 << 32 else np.int64
        state = (b"".join(pieces), _narrow(lengths).tobytes(), _narrow(lengths).dtype.str,
                 counts.astype(dtype).tobytes(), np.dtype(dtype).str)
        return _restore, (self._backend, state)

    def save_pretrained(self, directory: str | os.PathLike[str], *,
                        model_max_length: int | None = None) -> list[str]:
        """Write a Hugging Face tokenizer directory (tokenizer.json, tokenizer_config.json,
        special_tokens_map.json) with our ids; see README, "Hugging Face".  Returns the paths."""
        from ._hf_export import write_pretrained

        return write_pretrained(directory, self._model.pieces, self._model.counts,
                                getattr(self, "special_tokens", None) or {},
                                model_max_length=model_max_length)


_OUT_ARRAYS, _OUT_IDS, _OUT_PIECES = 0, 1, 2
# Small batches are not worth a thread hop.
_MIN_BYTES_PER_THREAD = 1 << 16


def _batch_text(text: object) -> Text:
    """A batch item the core's quick check did not take, as the core takes it: NFC str
    (its threads encode it), or bytes."""
    return nfc(text) if type(text) is str else to_bytes(text)


def _thread_count(num_threads: int | None, count: int) -> int:
    """Threads for `count` texts: `num_threads` checked, or by default all cores; at most one
    per text.  (With the default, the core also runs at most one per _MIN_BYTES_PER_THREAD.)"""
    if num_threads is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        num_threads = cores or 1
    elif isinstance(num_threads, bool) or not isinstance(num_threads, int):
        raise TypeError(f"num_threads must be an int or None, not {type(num_threads).__name__}")
    elif num_threads < 1:
        raise ValueError(f"num_threads must be >= 1, not {num_threads}")
    return max(1, min(num_threads, count))


_pools: dict[int, ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()


def _executor(threads: int) -> ThreadPoolExecutor:
    """A shared thread pool per size (threads do not survive fork: see _reset_pools)."""
    with _pools_lock:
        pool = _pools.get(threads)
        if pool is None:
            pool = _pools[threads] = ThreadPoolExecutor(threads, thread_name_prefix="bytepiece-lite")
        return pool


def _reset_pools() -> None:
    # A forked child inherits the dict but not the threads: start afresh.
    global _pools_lock
    _pools.clear()
    _pools_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_pools)


@functools.lru_cache(maxsize=1)
def _default_tokenizer() -> Tokenizer:
    path = os.path.join(os.path.dirname(__file__), "data", DEFAULT_MODEL)
    if not os.path.exists(path):
        raise FileNotFoundError(f"the embedded default model {path} is missing from this installation")
    return Tokenizer(path)


def _narrow(lengths: np.ndarray) -> np.ndarray:
    return lengths.astype(np.uint8 if lengths.max() < 256 else np.uint32)


def _restore(backend: str, state: tuple) -> Tokenizer:
    blob, lengths, ldtype, counts, cdtype = state
    ends = np.cumsum(np.frombuffer(lengths, dtype=ldtype), dtype=np.int64).tolist()
    starts = [0] + ends[:-1]
    pieces = [blob[a:b] for a, b in zip(starts, ends)]
    tok = Tokenizer.__new__(Tokenizer)
    tok._init(_model.Model(pieces, np.frombuffer(counts, dtype=cdtype).astype(np.int64), "pickle"),
              backend)
    return tok
