"""The public Tokenizer: argument checks and conversions around a compiled vocabulary.

The segmentation itself is a backend's (``_backend``: the compiled core, or its pyahocorasick
twin); streams, corpora on disk and the thread pools have modules of their own, which this
one calls with explicit arguments.
"""
from __future__ import annotations

import functools
import os
from typing import IO, AbstractSet, Iterable, Iterator, Mapping, Sequence, Union

import numpy as np

from . import _args, _backend, _offsets, _pickling, _segmenter, _special
from . import model as _model
from . import stream as _stream
from ._contracts import BOS_ID, EOS_ID, ID_OFFSET, PAD_ID, RESERVED_TOKENS, Output
from ._offsets import Encoding
from .normalize import to_bytes

__all__ = ["Encoding", "Tokenizer"]

Text = Union[str, bytes]
AllowedSpecial = Union[AbstractSet[Union[str, bytes]], str]
#: The embedded model, in bytepiece_lite/data/ (see README: trained by our Trainer).
DEFAULT_MODEL = "default.model.zip"
DEFAULT_MODEL_PATH = os.path.join(os.path.dirname(__file__), "data", DEFAULT_MODEL)


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
                 special_tokens: Sequence[str | bytes] | None = None, backend: str = "native"):
        if backend not in _backend.BACKENDS:
            raise ValueError(f"backend must be one of {_backend.BACKENDS}, not {backend!r}")
        if isinstance(source, Mapping):
            model = _model.from_counts(source)
        elif isinstance(source, (str, os.PathLike)):
            model = _model.load(source)
        else:
            raise TypeError("source must be a model path or a mapping of bytes to counts, "
                            f"not {type(source).__name__}")
        self._init(model, backend, () if special_tokens is None else special_tokens)

    @classmethod
    def from_pieces(cls, counts: Mapping[bytes, int], *,
                    special_tokens: Sequence[str | bytes] | None = None,
                    backend: str = "native") -> "Tokenizer":
        """A tokenizer from ``{piece: count}``; ids follow upstream's (length, bytes) order.

        >>> Tokenizer.from_pieces({bytes([b]): 1 for b in range(256)}).vocab_size
        259
        """
        return cls(counts, special_tokens=special_tokens, backend=backend)

    @classmethod
    def default(cls) -> "Tokenizer":
        """The embedded default model (shared instance: a Tokenizer is immutable).

        >>> Tokenizer.default().decode(Tokenizer.default().encode("今天天气不错"))
        '今天天气不错'
        """
        return _default_tokenizer()

    def _init(self, model: _model.Model, backend: str, special_tokens: tuple = ()) -> None:
        pieces = frozenset(model.pieces)
        tokens = _special.check_tokens(model.special + _special.check_tokens(special_tokens, pieces),
                                       pieces)
        model = _model.Model(model.pieces, model.counts, "tokenizer", tokens) if tokens else model
        self._model = model
        self._special = _special.SpecialTokens(tokens, ID_OFFSET + len(model.pieces))
        self._backend, vocab = _backend.make(backend, model.pieces, model.log_probs())
        self._seg = _segmenter.Segmenter(vocab, self._special)
        self._id_to_bytes = RESERVED_TOKENS + tuple(model.pieces) + tokens
        # decode joins these tables: the reserved tokens decode to nothing, special tokens to
        # their text (or nothing, skipped)
        self._decode_table = (b"",) * ID_OFFSET + tuple(model.pieces) + tokens
        self._decode_skip = self._decode_table[:len(self._decode_table) - len(tokens)] + (b"",) * len(tokens)
        # bytes per id, for offsets
        self._lengths = np.fromiter(map(len, self._decode_table), dtype=np.int64,
                                    count=len(self._decode_table))

    # ------------------------------------------------------------------ properties
    @property
    def vocab_size(self) -> int:
        """Number of ids: <pad>, <bos>, <eos>, the pieces and the special tokens."""
        return len(self._id_to_bytes)

    @property
    def special_tokens(self) -> dict[str | bytes, int]:
        """``{token: id}`` of the reserved and the special tokens (a copy).

        >>> Tokenizer({bytes([b]): 1 for b in range(256)}, special_tokens=["<mask>"]).special_tokens
        {'<pad>': 0, '<bos>': 1, '<eos>': 2, '<mask>': 259}
        """
        return dict(self._special.mapping)

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
                 seed: int | None = None, num_threads: int | None = None,
                 allowed_special: AllowedSpecial = frozenset()) -> list[bytes]:
        """Cut `text` into pieces (bytes); ``b"".join(result)`` is the UTF-8 of NFC(text).

        ``alpha`` None or <= 0: the most probable segmentation.  ``alpha > 0``: a random one
        (subword regularization) drawn by ``sampler``: "viterbi" (Viterbi Sampling; larger
        alpha is closer to deterministic) or "exact" (probability ∝ P(w)**alpha).  ``seed``
        makes sampling reproducible; without it every call gets a seed no other call had.
        ``num_threads``: a long text is cut at line boundaries and its parts segmented on
        that many threads (default: one below 1 MB, all cores above), same result.
        ``allowed_special``: the special tokens (a set, or "all") that become their own id
        (here: their own piece) where they occur; by default none, and special-token text is
        ordinary text.

        >>> tok = Tokenizer({bytes([b]): 1 for b in range(256)} | {b"ab": 5}, special_tokens=["<s>"])
        >>> tok.tokenize(b"abab<s>"), tok.tokenize(b"abab<s>", allowed_special="all")
        ([b'ab', b'ab', b'<', b's', b'>'], [b'ab', b'ab', b'<s>'])
        """
        mode, alpha, seed = _args.sampling(alpha, sampler, seed)
        return self._seg.one(text, mode, alpha, seed, num_threads, allowed_special,
                             Output.PIECES)

    def encode(self, text: Text, alpha: float | None = None, *, sampler: str = "viterbi",
               seed: int | None = None, add_bos: bool = False, add_eos: bool = False,
               num_threads: int | None = None,
               allowed_special: AllowedSpecial = frozenset()) -> list[int]:
        """Token ids of `text` (see :meth:`tokenize` for ``alpha``, ``sampler``, ``seed``,
        ``num_threads`` and ``allowed_special``); ``add_bos``/``add_eos`` put ids 1/2 around
        them.

        >>> tok = Tokenizer({bytes([b]): 1 for b in range(256)} | {b"ab": 5})
        >>> tok.encode("ab", add_bos=True, add_eos=True)
        [1, 259, 2]
        """
        mode, alpha, seed = _args.sampling(alpha, sampler, seed)
        return self._seg.one(text, mode, alpha, seed, num_threads, allowed_special,
                             Output.IDS, add_bos, add_eos)

    def encode_to_numpy(self, text: Text, alpha: float | None = None, *,
                        sampler: str = "viterbi", seed: int | None = None,
                        add_bos: bool = False, add_eos: bool = False,
                        num_threads: int | None = None,
                        allowed_special: AllowedSpecial = frozenset()) -> np.ndarray:
        """Like :meth:`encode`, as a ``uint32`` numpy array (no Python list in between).

        >>> tok = Tokenizer({bytes([b]): 1 for b in range(256)} | {b"ab": 5})
        >>> tok.encode_to_numpy("abc")
        array([259, 102], dtype=uint32)
        """
        mode, alpha, seed = _args.sampling(alpha, sampler, seed)
        return self._seg.one(text, mode, alpha, seed, num_threads, allowed_special,
                             Output.ARRAYS, add_bos, add_eos)

    def encode_with_offsets(self, text: Text, alpha: float | None = None, *,
                            sampler: str = "viterbi", seed: int | None = None,
                            add_bos: bool = False, add_eos: bool = False,
                            allowed_special: AllowedSpecial = frozenset()) -> Encoding:
        """:meth:`encode` with every token's span in the input, as numpy arrays.

        ``ids`` (uint32), ``byte_spans`` (int64, shape (n, 2): start and end in the UTF-8
        bytes), ``char_spans`` (for ``str`` input, the same in characters of NFC(text);
        ``None`` for bytes input).  A token that begins or ends inside a multi-byte
        character spans every character it touches, so neighbouring char spans can overlap.
        ``<bos>``/``<eos>`` get empty spans at the start/end, an allowed special token the span
        of its text.

        >>> tok = Tokenizer({bytes([b]): 1 for b in range(256)} | {b"ab": 5})
        >>> enc = tok.encode_with_offsets("abé")
        >>> enc.ids.tolist(), enc.byte_spans.tolist(), enc.char_spans.tolist()
        ([259, 198, 172], [[0, 2], [2, 3], [3, 4]], [[0, 2], [2, 3], [2, 3]])
        """
        data = to_bytes(text)
        ids = self.encode_to_numpy(data, alpha, sampler=sampler, seed=seed, add_bos=add_bos,
                                   add_eos=add_eos, allowed_special=allowed_special)
        return _offsets.encoding(ids, self._lengths[ids], data, isinstance(text, str))

    def encode_stream(self, source: Iterable[str] | Iterable[bytes] | IO, alpha: float | None = None,
                      *, sampler: str = "viterbi", seed: int | None = None, add_bos: bool = False,
                      add_eos: bool = False,
                      allowed_special: AllowedSpecial = frozenset()) -> Iterator[list[int]]:
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
        encode_at = self._seg.stream_encoder(mode, alpha, seed, allowed_special)
        return _stream.encode_blocks(encode_at, source, bos=add_bos, eos=add_eos)

    def decoder(self, *, errors: str = "replace",
                skip_special_tokens: bool = False) -> _stream.IncrementalDecoder:
        """An incremental decoder: ``.decode(ids)`` returns the text completed so far, holding
        back the bytes of a character split between ids; ``.flush()`` ends the text.

        >>> tok = Tokenizer({bytes([b]): 1 for b in range(256)})
        >>> dec = tok.decoder()
        >>> [dec.decode([i]) for i in tok.encode("é!")] + [dec.flush()]
        ['', 'é', '!', '']
        """
        return _stream.IncrementalDecoder(
            functools.partial(self.decode_bytes, skip_special_tokens=skip_special_tokens),
            errors=errors)

    # ------------------------------------------------------------------ many texts
    def _batch(self, texts: Iterable[Text], alpha: float | None, sampler: str, seed: int | None,
               num_threads: int | None, output: int, bos: bool = False, eos: bool = False,
               allowed_special: AllowedSpecial = frozenset()):
        mode, alpha, seed = _args.sampling(alpha, sampler, seed)
        if isinstance(texts, (str, bytes)) or not isinstance(texts, Iterable):
            raise TypeError(f"texts must be an iterable of str or bytes, not {type(texts).__name__}")
        data = list(texts)          # our own list: the threads point into its items
        return self._seg.batch(data, mode, alpha, seed, num_threads, output, bos, eos,
                               allowed_special)

    def encode_batch(self, texts: Iterable[Text], alpha: float | None = None, *,
                     num_threads: int | None = None, seed: int | None = None,
                     sampler: str = "viterbi", add_bos: bool = False,
                     add_eos: bool = False,
                     allowed_special: AllowedSpecial = frozenset()) -> list[list[int]]:
        """:meth:`encode` of every text, on `num_threads` threads (default: all cores).

        Text number k of a seeded call draws from the stream (seed, k), so
        ``encode_batch(texts, a, seed=s)[k]`` is the same for every thread count, and
        ``encode_batch([t], a, seed=s)[0] == encode(t, a, seed=s)``.  The rows are not
        tracked by the cycle collector (they hold only ints): don't put one in a cycle.

        >>> tok = Tokenizer({bytes([b]): 1 for b in range(256)} | {b"ab": 5})
        >>> tok.encode_batch(["ab", "abc"], add_eos=True)
        [[259, 2], [259, 102, 2]]
        """
        return self._batch(texts, alpha, sampler, seed, num_threads, Output.IDS, add_bos, add_eos,
                           allowed_special)

    def tokenize_batch(self, texts: Iterable[Text], alpha: float | None = None, *,
                       num_threads: int | None = None, seed: int | None = None,
                       sampler: str = "viterbi",
                       allowed_special: AllowedSpecial = frozenset()) -> list[list[bytes]]:
        """:meth:`tokenize` of every text, on `num_threads` threads (see :meth:`encode_batch`).

        >>> tok = Tokenizer({bytes([b]): 1 for b in range(256)} | {b"ab": 5})
        >>> tok.tokenize_batch(["ab", "abc"])
        [[b'ab'], [b'ab', b'c']]
        """
        return self._batch(texts, alpha, sampler, seed, num_threads, Output.PIECES,
                           allowed_special=allowed_special)

    def encode_batch_to_numpy(self, texts: Iterable[Text], alpha: float | None = None, *,
                              num_threads: int | None = None, seed: int | None = None,
                              sampler: str = "viterbi", add_bos: bool = False,
                              add_eos: bool = False,
                              allowed_special: AllowedSpecial = frozenset()) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`encode_batch` as numpy arrays ``(ids, offsets)``: the ids of text k are
        ``ids[offsets[k]:offsets[k + 1]]`` (``uint32`` ids, ``int64`` offsets of length n + 1).

        >>> tok = Tokenizer({bytes([b]): 1 for b in range(256)} | {b"ab": 5})
        >>> ids, offsets = tok.encode_batch_to_numpy(["ab", "abc"])
        >>> ids.tolist(), offsets.tolist()
        ([259, 259, 102], [0, 1, 3])
        """
        return self._batch(texts, alpha, sampler, seed, num_threads, Output.ARRAYS, add_bos, add_eos,
                           allowed_special)

    # The names of earlier releases.
    encode_array = encode_to_numpy
    encode_batch_flat = encode_batch_to_numpy

    def encode_files(self, inputs: Sequence[str | os.PathLike[str]], output: str | os.PathLike[str],
                     *, alpha: float | None = None, sampler: str = "viterbi", seed: int | None = None,
                     num_threads: int | None = None, add_bos: bool = False, add_eos: bool = False,
                     allowed_special: AllowedSpecial = frozenset(), progress: bool = True) -> dict:
        """Encode text files into ``output`` (``.npy`` or ``.bin``) and its ``.json`` sidecar,
        in bounded memory; returns the sidecar's content (see :mod:`bytepiece_lite.corpus`).
        File k's ids equal ``encode_batch(file_texts, alpha, seed=seed, ...)[k]``."""
        from . import corpus

        mode, alpha, seed = _args.sampling(alpha, sampler, seed)
        encode_parts = self._seg.parts_encoder(mode, alpha, seed, allowed_special)
        settings = {"alpha": alpha if mode else None, "sampler": sampler if mode else None,
                    "seed": seed if mode else None}
        return corpus.encode_files(encode_parts, self.vocab_size, [os.fspath(p) for p in inputs],
                                   os.fspath(output), settings=settings, num_threads=num_threads,
                                   add_bos=add_bos, add_eos=add_eos, progress=progress)

    # ------------------------------------------------------------------ ids and pieces
    def decode_bytes(self, ids: Iterable[int], *, skip_special_tokens: bool = False) -> bytes:
        """The bytes of the pieces, joined; <pad>, <bos> and <eos> decode to nothing, special
        tokens to their text (to nothing with ``skip_special_tokens``).

        >>> tok = Tokenizer({bytes([b]): 1 for b in range(256)})
        >>> tok.decode_bytes([1, 107, 108, 2])
        b'hi'
        """
        table = self._decode_skip if skip_special_tokens else self._decode_table
        return b"".join([table[i] for i in _args.ids(ids, len(self._id_to_bytes))])

    def decode(self, ids: Iterable[int], *, errors: str = "replace",
               skip_special_tokens: bool = False) -> str:
        """``decode_bytes(ids)`` as UTF-8 text; ``errors`` as in ``bytes.decode``.

        >>> tok = Tokenizer({bytes([b]): 1 for b in range(256)})
        >>> tok.decode(tok.encode("naïve"))
        'naïve'
        """
        return self.decode_bytes(ids, skip_special_tokens=skip_special_tokens).decode("utf-8", errors=errors)

    def piece_to_id(self, piece: bytes) -> int:
        """The id of a vocabulary piece; KeyError if it is not one.

        >>> Tokenizer({bytes([b]): 1 for b in range(256)}).piece_to_id(b"a")
        100
        """
        if not isinstance(piece, bytes):
            raise TypeError(f"piece must be bytes, not {type(piece).__name__}")
        i = self._seg.vocab.find(bytes(piece))
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
        return _restore, (self._backend, _pickling.pack(self._model), self._special.tokens)

    def save_pretrained(self, directory: str | os.PathLike[str], *,
                        model_max_length: int | None = None) -> list[str]:
        """Write a Hugging Face tokenizer directory (tokenizer.json, tokenizer_config.json,
        special_tokens_map.json) with our ids; see README, "Hugging Face".  Returns the paths."""
        from ._hf_export import write_pretrained

        return write_pretrained(directory, self._model.pieces, self._model.counts,
                                self.special_tokens, model_max_length=model_max_length)


@functools.lru_cache(maxsize=1)
def _default_tokenizer() -> Tokenizer:
    if not os.path.exists(DEFAULT_MODEL_PATH):
        raise FileNotFoundError(
            f"the embedded default model {DEFAULT_MODEL_PATH} is missing from this installation")
    return Tokenizer(DEFAULT_MODEL_PATH)


def _restore(backend: str, state: tuple, special_tokens: tuple = ()) -> Tokenizer:
    tok = Tokenizer.__new__(Tokenizer)
    tok._init(_pickling.unpack(state), backend, special_tokens)
    return tok
