"""The public Tokenizer: argument checks and conversions around a compiled vocabulary.

The segmentation itself is a backend's (``_backend``: the compiled core, or its pyahocorasick
twin); streams, corpora on disk and the thread pools have modules of their own, which this
one calls with explicit arguments.
"""
from __future__ import annotations

import functools
import itertools
import os
from typing import IO, Iterable, Iterator, Mapping, NamedTuple, Optional, Sequence, Union

import numpy as np

from . import _args, _backend, _chunks, _pickling, _threads
from . import model as _model
from . import stream as _stream
from ._contracts import BOS_ID, EOS_ID, ID_OFFSET, PAD_ID, RESERVED_TOKENS, Output
from .normalize import nfc, to_bytes

__all__ = ["Encoding", "Tokenizer"]

Text = Union[str, bytes]
#: The embedded model, in bytepiece_lite/data/ (see README: trained by our Trainer).
DEFAULT_MODEL = "default.model.zip"


class Encoding(NamedTuple):
    """Ids with their spans; see :meth:`Tokenizer.encode_with_offsets`."""

    ids: np.ndarray
    byte_spans: np.ndarray
    char_spans: Optional[np.ndarray]


def _single_key(mode: int, seed: int) -> int:
    """The stream key of a single text (text 0 of its call); deterministic calls draw none."""
    return _backend.stream_key(seed, 0) if mode else 0


def _batch_text(text: object) -> Text:
    """A batch item the core's quick check did not take, as the core takes it: NFC str
    (its threads encode it), or bytes."""
    return nfc(text) if type(text) is str else to_bytes(text)


class Tokenizer:
    """A byte-level Unigram tokenizer, compatible with upstream BytePiece models.

    ``source`` is a path to an upstream model (``.model``/``.json``, or the ``.zip`` upstream
    publishes) or a ``{piece_bytes: count}`` mapping.  ``backend="pyahocorasick"`` runs the
    plain-Python twin of the compiled core (same results, slowly).

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

    PAD_ID = PAD_ID
    BOS_ID = BOS_ID
    EOS_ID = EOS_ID

    def __init__(self, source: str | os.PathLike[str] | Mapping[bytes, int], *,
                 backend: str = "native"):
        if backend not in _backend.BACKENDS:
            raise ValueError(f"backend must be one of {_backend.BACKENDS}, not {backend!r}")
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
        self._backend, self._vocab = _backend.make(backend, model.pieces, model.log_probs())
        self._id_to_bytes = RESERVED_TOKENS + tuple(model.pieces)
        # decode joins this table: the reserved tokens decode to nothing
        self._decode_table = (b"",) * ID_OFFSET + tuple(model.pieces)
        # bytes per id, for offsets
        self._lengths = np.fromiter(map(len, self._decode_table), dtype=np.int64,
                                    count=len(self._decode_table))

    # ------------------------------------------------------------------ properties
    @property
    def vocab_size(self) -> int:
        """Number of ids: the pieces plus <pad>, <bos>, <eos>."""
        return len(self._id_to_bytes)

    @property
    def backend(self) -> str:
        """The backend serving this tokenizer: "native" or "pyahocorasick"."""
        return self._backend

    def pieces(self) -> dict[bytes, int]:
        """A copy of the ``{piece: count}`` table, in id order."""
        return dict(zip(self._model.pieces, self._model.counts.tolist()))

    def __repr__(self) -> str:
        return f"Tokenizer(<{len(self._model.pieces)} pieces>, backend={self._backend!r})"

    # ------------------------------------------------------------------ one text
    def tokenize(self, text: Text, alpha: float | None = None, *, sampler: str = "viterbi",
                 seed: int | None = None, num_threads: int | None = None) -> list[bytes]:
        """Cut `text` into pieces (bytes); ``b"".join(result)`` is the UTF-8 of NFC(text).

        ``alpha`` None or <= 0: the most probable segmentation.  ``alpha > 0``: a random one
        (subword regularization) drawn by ``sampler``: "viterbi" (Viterbi Sampling; larger
        alpha is closer to deterministic) or "exact" (probability ∝ P(w)**alpha).  ``seed``
        makes sampling reproducible; without it every call gets a seed no other call had.
        ``num_threads``: a long text is cut at line boundaries and its parts segmented on
        that many threads (default: one below 1 MB, all cores above), same result.

        >>> tok = Tokenizer({bytes([b]): 1 for b in range(256)} | {b"ab": 5})
        >>> tok.tokenize(b"abab")
        [b'ab', b'ab']
        """
        mode, alpha, seed = _args.sampling(alpha, sampler, seed)
        data = to_bytes(text)
        if num_threads is None and len(data) < _threads.PARALLEL_MIN_BYTES or num_threads == 1:
            return self._vocab.tokenize(data, mode, alpha, _single_key(mode, seed))
        return list(itertools.chain.from_iterable(
            self._parts(data, mode, alpha, seed, num_threads, Output.PIECES)))

    def encode(self, text: Text, alpha: float | None = None, *, sampler: str = "viterbi",
               seed: int | None = None, add_bos: bool = False, add_eos: bool = False,
               num_threads: int | None = None) -> list[int]:
        """Token ids of `text` (see :meth:`tokenize` for ``alpha``, ``sampler``, ``seed`` and
        ``num_threads``); ``add_bos``/``add_eos`` put ids 1/2 around them.

        >>> tok = Tokenizer({bytes([b]): 1 for b in range(256)} | {b"ab": 5})
        >>> tok.encode("ab", add_bos=True, add_eos=True)
        [1, 259, 2]
        """
        mode, alpha, seed = _args.sampling(alpha, sampler, seed)
        data = to_bytes(text)
        if num_threads is None and len(data) < _threads.PARALLEL_MIN_BYTES or num_threads == 1:
            ids = self._vocab.encode(data, mode, alpha, _single_key(mode, seed))
        else:
            ids, _ = self._parts(data, mode, alpha, seed, num_threads, Output.ARRAYS)
            ids = ids.tolist()
        if add_bos:
            ids.insert(0, BOS_ID)
        if add_eos:
            ids.append(EOS_ID)
        return ids

    def encode_to_numpy(self, text: Text, alpha: float | None = None, *,
                        sampler: str = "viterbi", seed: int | None = None,
                        add_bos: bool = False, add_eos: bool = False,
                        num_threads: int | None = None) -> np.ndarray:
        """Like :meth:`encode`, as a ``uint32`` numpy array (no Python list in between).

        >>> tok = Tokenizer({bytes([b]): 1 for b in range(256)} | {b"ab": 5})
        >>> tok.encode_to_numpy("abc")
        array([259, 102], dtype=uint32)
        """
        mode, alpha, seed = _args.sampling(alpha, sampler, seed)
        data = to_bytes(text)
        if num_threads is None and len(data) < _threads.PARALLEL_MIN_BYTES or num_threads == 1:
            return self._vocab.encode_batch([data], mode=mode, alpha=alpha, seed=seed,
                                            bos=add_bos, eos=add_eos)[0]
        ids, _ = self._parts(data, mode, alpha, seed, num_threads, Output.ARRAYS)
        if add_bos or add_eos:
            ids = np.concatenate([np.array([BOS_ID] * add_bos, np.uint32), ids,
                                  np.array([EOS_ID] * add_eos, np.uint32)])
        return ids

    def _parts(self, data: bytes, mode: int, alpha: float, seed: int, num_threads: int | None,
               output: int):
        """Segment `data` as one text whose parts, cut at chunk boundaries, run on a pool:
        the draws are keyed by absolute position, so the result is the whole text's."""
        threads = _threads.count(num_threads, max(1, len(data) // _threads.MIN_BYTES_PER_THREAD))
        parts, starts = _chunks.split(data, 16 * threads)
        return self._vocab.encode_batch(
            parts, mode=mode, alpha=alpha, seed=seed, num_threads=threads,
            executor=_threads.executor(threads), output=output,
            starts=np.array(starts, dtype=np.int64), stream=0)

    def encode_with_offsets(self, text: Text, alpha: float | None = None, *,
                            sampler: str = "viterbi", seed: int | None = None,
                            add_bos: bool = False, add_eos: bool = False) -> Encoding:
        """:meth:`encode` with every token's span in the input, as numpy arrays.

        ``ids`` (uint32), ``byte_spans`` (int64, shape (n, 2): start and end in the UTF-8
        bytes), ``char_spans`` (for ``str`` input, the same in characters of NFC(text);
        ``None`` for bytes input).  A token that begins or ends inside a multi-byte
        character spans every character it touches, so neighbouring char spans can overlap.
        ``<bos>``/``<eos>`` get empty spans at the start/end.

        >>> tok = Tokenizer({bytes([b]): 1 for b in range(256)} | {b"ab": 5})
        >>> enc = tok.encode_with_offsets("abé")
        >>> enc.ids.tolist(), enc.byte_spans.tolist(), enc.char_spans.tolist()
        ([259, 198, 172], [[0, 2], [2, 3], [3, 4]], [[0, 2], [2, 3], [2, 3]])
        """
        data = to_bytes(text)
        ids = self.encode_to_numpy(data, alpha, sampler=sampler, seed=seed, add_bos=add_bos,
                                   add_eos=add_eos)
        lengths = self._lengths[ids]
        ends = np.cumsum(lengths, dtype=np.int64)
        spans = np.stack([ends - lengths, ends], axis=1)
        if not isinstance(text, str):
            return Encoding(ids, spans, None)
        # chars[p] = number of characters that start in data[:p]
        chars = np.concatenate([[0], np.cumsum((np.frombuffer(data, dtype=np.uint8) & 0xC0) != 0x80,
                                               dtype=np.int64)])
        # a token [a, b) spans the characters that start before b, from the one holding a
        starts = chars[np.minimum(spans[:, 0] + 1, chars.size - 1)] - 1
        char_spans = np.stack([np.where(lengths > 0, starts, chars[spans[:, 0]]),
                               chars[spans[:, 1]]], axis=1)
        return Encoding(ids, spans, char_spans)

    def encode_stream(self, source: Iterable[str] | Iterable[bytes] | IO, alpha: float | None = None,
                      *, sampler: str = "viterbi", seed: int | None = None, add_bos: bool = False,
                      add_eos: bool = False) -> Iterator[list[int]]:
        """Encode a text that arrives in parts (an iterable of str, or of bytes, or a file
        object read in blocks), yielding ids a block of whole lines at a time.  The blocks
        joined equal ``encode(whole_text, alpha, sampler=..., seed=..., add_bos=...,
        add_eos=...)``, seeded sampling included; memory is bounded by the longest line.

        >>> tok = Tokenizer({bytes([b]): 1 for b in range(256)} | {b"ab": 5})
        >>> [ids for ids in tok.encode_stream(["a", "b\\na", "b"], add_eos=True)]
        [[259, 13], [259, 2]]
        """
        mode, alpha, seed = _args.sampling(alpha, sampler, seed)
        if isinstance(source, (str, bytes)) or not (hasattr(source, "read") or isinstance(source, Iterable)):
            raise TypeError(f"source must be an iterable of str or bytes parts, or a file object, not "
                            f"{type(source).__name__} (for one text use encode())")
        return _stream.encode_blocks(self._vocab, source, mode, alpha, _single_key(mode, seed),
                                     bos=add_bos, eos=add_eos)

    def decoder(self, *, errors: str = "replace") -> _stream.IncrementalDecoder:
        """An incremental decoder: ``.decode(ids)`` returns the text completed so far, holding
        back the bytes of a character split between ids; ``.flush()`` ends the text.

        >>> tok = Tokenizer({bytes([b]): 1 for b in range(256)})
        >>> dec = tok.decoder()
        >>> [dec.decode([i]) for i in tok.encode("é!")] + [dec.flush()]
        ['', 'é', '!', '']
        """
        return _stream.IncrementalDecoder(self.decode_bytes, errors=errors)

    # ------------------------------------------------------------------ many texts
    def _batch(self, texts: Iterable[Text], alpha: float | None, sampler: str, seed: int | None,
               num_threads: int | None, output: int, bos: bool = False, eos: bool = False):
        mode, alpha, seed = _args.sampling(alpha, sampler, seed)
        if isinstance(texts, (str, bytes)) or not isinstance(texts, Iterable):
            raise TypeError(f"texts must be an iterable of str or bytes, not {type(texts).__name__}")
        data = list(texts)          # our own list: the threads point into its items
        threads = _threads.count(num_threads, len(data))
        try:
            return self._vocab.encode_batch(
                data, mode=mode, alpha=alpha, seed=seed, num_threads=threads,
                executor=_threads.executor(threads), output=output, bos=bos, eos=eos,
                prepare=_batch_text,
                min_bytes_per_thread=_threads.MIN_BYTES_PER_THREAD if num_threads is None else 0)
        except UnicodeEncodeError:
            for t in data:
                to_bytes(t)         # the error message of the single-text calls
            raise

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
        return self._batch(texts, alpha, sampler, seed, num_threads, Output.IDS, add_bos, add_eos)

    def tokenize_batch(self, texts: Iterable[Text], alpha: float | None = None, *,
                       num_threads: int | None = None, seed: int | None = None,
                       sampler: str = "viterbi") -> list[list[bytes]]:
        """:meth:`tokenize` of every text, on `num_threads` threads (see :meth:`encode_batch`).

        >>> tok = Tokenizer({bytes([b]): 1 for b in range(256)} | {b"ab": 5})
        >>> tok.tokenize_batch(["ab", "abc"])
        [[b'ab'], [b'ab', b'c']]
        """
        return self._batch(texts, alpha, sampler, seed, num_threads, Output.PIECES)

    def encode_batch_to_numpy(self, texts: Iterable[Text], alpha: float | None = None, *,
                              num_threads: int | None = None, seed: int | None = None,
                              sampler: str = "viterbi", add_bos: bool = False,
                              add_eos: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`encode_batch` as numpy arrays ``(ids, offsets)``: the ids of text k are
        ``ids[offsets[k]:offsets[k + 1]]`` (``uint32`` ids, ``int64`` offsets of length n + 1).

        >>> tok = Tokenizer({bytes([b]): 1 for b in range(256)} | {b"ab": 5})
        >>> ids, offsets = tok.encode_batch_to_numpy(["ab", "abc"])
        >>> ids.tolist(), offsets.tolist()
        ([259, 259, 102], [0, 1, 3])
        """
        return self._batch(texts, alpha, sampler, seed, num_threads, Output.ARRAYS, add_bos, add_eos)

    # The names of earlier releases.
    encode_array = encode_to_numpy
    encode_batch_flat = encode_batch_to_numpy

    def encode_files(self, inputs: Sequence[str | os.PathLike[str]], output: str | os.PathLike[str],
                     *, alpha: float | None = None, sampler: str = "viterbi", seed: int | None = None,
                     num_threads: int | None = None, add_bos: bool = False, add_eos: bool = False,
                     progress: bool = True) -> dict:
        """Encode text files into ``output`` (``.npy`` or ``.bin``) and its ``.json`` sidecar,
        in bounded memory; returns the sidecar's content (see :mod:`bytepiece_lite.corpus`).
        File k's ids equal ``encode_batch(file_texts, alpha, seed=seed, ...)[k]``."""
        from . import corpus

        mode, alpha, seed = _args.sampling(alpha, sampler, seed)
        return corpus.encode_files(self._vocab, self.vocab_size, [os.fspath(p) for p in inputs],
                                   os.fspath(output), mode=mode, alpha=alpha, sampler=sampler,
                                   seed=seed, num_threads=num_threads, add_bos=add_bos,
                                   add_eos=add_eos, progress=progress)

    # ------------------------------------------------------------------ ids and pieces
    def decode_bytes(self, ids: Iterable[int]) -> bytes:
        """The bytes of the pieces, joined; <pad>, <bos> and <eos> decode to nothing.

        >>> tok = Tokenizer({bytes([b]): 1 for b in range(256)})
        >>> tok.decode_bytes([1, 107, 108, 2])
        b'hi'
        """
        table = self._decode_table
        return b"".join([table[i] for i in _args.ids(ids, len(self._id_to_bytes))])

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
        return i + ID_OFFSET

    def id_to_piece(self, id: int) -> bytes:
        """The bytes of id `id` (``b"<pad>"``, ``b"<bos>"``, ``b"<eos>"`` for 0, 1, 2).

        >>> Tokenizer({bytes([b]): 1 for b in range(256)}).id_to_piece(100)
        b'a'
        """
        return self._id_to_bytes[_args.ids([id], len(self._id_to_bytes))[0]]

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the model in upstream's JSON format (a ``.zip`` path zips it), atomically."""
        _model.save(self._model, path)

    def __reduce__(self):
        return _restore, (self._backend, _pickling.pack(self._model))


@functools.lru_cache(maxsize=1)
def _default_tokenizer() -> Tokenizer:
    path = os.path.join(os.path.dirname(__file__), "data", DEFAULT_MODEL)
    if not os.path.exists(path):
        raise FileNotFoundError(f"the embedded default model {path} is missing from this installation")
    return Tokenizer(path)


def _restore(backend: str, state: tuple) -> Tokenizer:
    tok = Tokenizer.__new__(Tokenizer)
    tok._init(_pickling.unpack(state), backend)
    return tok
