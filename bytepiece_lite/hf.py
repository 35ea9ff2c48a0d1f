"""``transformers`` integration: :class:`BytePieceTokenizer`, a ``PreTrainedTokenizer`` backed by
the compiled core, with subword regularization (``alpha``, ``sampler``, ``seed``).

Needs the optional extra: ``pip install "bytepiece-lite[hf]"``.  Importing this module
registers the class with ``AutoTokenizer`` (so ``AutoTokenizer.from_pretrained(d)`` loads a
directory this class saved, without ``trust_remote_code``).

>>> from bytepiece_lite.hf import BytePieceTokenizer            # doctest: +SKIP
>>> tok = BytePieceTokenizer("bytepiece_80k.zip", alpha=0.1)     # doctest: +SKIP
>>> batch = tok(["今天天气不错", "hello"], padding=True, return_tensors="np")  # doctest: +SKIP

Encoding goes straight to :meth:`Tokenizer.encode_batch` (the thread pool, GIL released):
no per-token string lookups.  Tokens as strings (``tokenize``, ``convert_ids_to_tokens``) use
the byte-to-unicode table of the ``tokenizer.json`` export (:mod:`bytepiece_lite._hf_export`).
"""
from __future__ import annotations

import itertools
import os
import re
import threading
from typing import Any

import numpy as np
import transformers

if int(transformers.__version__.split(".")[0]) < 5:
    raise ImportError(f"bytepiece_lite.hf needs transformers >= 5.0 (this is {transformers.__version__}); "
                      "the tokenizer.json export (Tokenizer.save_pretrained) works with 4.x too")

from transformers import AutoTokenizer, PreTrainedTokenizer
from transformers.tokenization_utils_base import (
    BatchEncoding,
    PaddingStrategy,
    TruncationStrategy,
)

from transformers import PreTrainedConfig as _Config

from . import _hf_batch, _rng
from ._hf_export import BOS, EOS, PAD, bytes_to_unicode, piece_to_token
from .tokenizer import Tokenizer

__all__ = ["BytePieceConfig", "BytePieceTokenizer", "register_auto_classes"]

VOCAB_FILE = "bytepiece.model"
_CHAR_TO_BYTE = {c: b for b, c in bytes_to_unicode().items()}
_SAMPLING_KEYS = ("alpha", "sampler", "seed", "num_threads")


def _token_bytes(token: str) -> bytes:
    """The bytes a token string stands for (ByteLevel characters), or its UTF-8 when it is
    not made of them (special tokens), as the ByteLevel decoder does."""
    try:
        return bytes(_CHAR_TO_BYTE[c] for c in token)
    except KeyError:
        return token.encode("utf-8")


class BytePieceConfig(_Config):
    """A minimal config to key the ``AutoTokenizer`` registration (``model_type="bytepiece"``)."""

    model_type = "bytepiece"


class BytePieceTokenizer(PreTrainedTokenizer):
    """A ``transformers`` tokenizer backed by :class:`bytepiece_lite.Tokenizer`.

    ``vocab_file``: an upstream model file (``.model``/``.json``/``.zip``); or use
    :meth:`from_tokenizer`.  Sampling (subword regularization) is set on the tokenizer with
    ``alpha`` (None or <= 0: deterministic), ``sampler`` ("viterbi" or "exact") and ``seed``,
    and per call with the same keyword arguments of ``__call__``/``encode``/``tokenize``.  A
    per-call ``seed`` is used as is (the same seed gives the same segmentation); a tokenizer
    ``seed`` starts a reproducible sequence of per-call seeds (call n uses a seed derived from
    ``(seed, n)``); with neither, every call draws fresh randomness.  ``num_threads`` (None:
    all cores) sizes the thread pool of batch calls.  ``add_bos``/``add_eos`` put ``<bos>``/
    ``<eos>`` around each text when ``add_special_tokens=True`` (the default of ``__call__``).

    Ids are ours: ``<pad>`` 0, ``<bos>`` 1, ``<eos>`` 2, pieces from 3, then the extra special
    tokens (``extra_special_tokens=[...]``) in order.  Special-token text in the input is
    ordinary text by default (``split_special_tokens=True``, as our ``encode``); with
    ``split_special_tokens=False`` every added token found in the raw text becomes its id.
    ``decode`` follows transformers: special tokens (``<bos>`` etc. included) appear as their
    text unless ``skip_special_tokens=True``.
    """

    vocab_files_names = {"vocab_file": VOCAB_FILE}
    model_input_names = ["input_ids", "attention_mask"]

    def __init__(self, vocab_file: str | None = None, *, alpha: float | None = None,
                 sampler: str = "viterbi", seed: int | None = None, num_threads: int | None = None,
                 add_bos: bool = False, add_eos: bool = False, bos_token: str = BOS,
                 eos_token: str = EOS, pad_token: str = PAD, **kwargs: Any):
        core = kwargs.pop("_core", None)
        extras = kwargs.get("extra_special_tokens", kwargs.get("additional_special_tokens")) or []
        if isinstance(extras, dict):
            extras = list(extras.values())
        extras = [str(t) for t in extras]
        if core is None:
            if vocab_file is None:
                raise ValueError("BytePieceTokenizer needs a vocab_file (an upstream model file) "
                                 "or use BytePieceTokenizer.from_tokenizer(tok)")
            core = self._load_core(vocab_file, extras)
        self.bytepiece: Tokenizer = core
        self.vocab_file = vocab_file
        # checked once here with the core's own messages (an empty text costs nothing)
        core.encode("", alpha, sampler=sampler, seed=seed)
        self.alpha, self.sampler, self.seed, self.num_threads = alpha, sampler, seed, num_threads
        self.add_bos, self.add_eos = bool(add_bos), bool(add_eos)
        self._calls = itertools.count()
        self._local = threading.local()
        self._n_base = len(core.pieces()) + 3
        self._base_vocab: dict[str, int] | None = None
        self._special_re: tuple[frozenset, Any] | None = None
        kwargs.setdefault("split_special_tokens", True)
        kwargs.setdefault("clean_up_tokenization_spaces", False)
        super().__init__(alpha=alpha, sampler=sampler, seed=seed, num_threads=num_threads,
                         add_bos=add_bos, add_eos=add_eos, bos_token=bos_token,
                         eos_token=eos_token, pad_token=pad_token, **kwargs)

    @staticmethod
    def _load_core(vocab_file: str, extras: list[str]) -> Tokenizer:
        # the model file keeps its special tokens; those named here and not in it follow
        core = Tokenizer(vocab_file)
        missing = [t for t in extras if t not in core.special_tokens]
        return Tokenizer(vocab_file, special_tokens=missing) if missing else core

    @classmethod
    def from_tokenizer(cls, tokenizer: Tokenizer, **kwargs: Any) -> "BytePieceTokenizer":
        """Wrap an existing :class:`Tokenizer` (shared, not copied)."""
        if not isinstance(tokenizer, Tokenizer):
            raise TypeError(f"tokenizer must be a bytepiece_lite.Tokenizer, not {type(tokenizer).__name__}")
        return cls(None, _core=tokenizer, **kwargs)

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_local", None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._local = threading.local()

    # ------------------------------------------------------------------ vocabulary
    @property
    def vocab_size(self) -> int:
        """The pieces plus <pad>, <bos>, <eos> (extra special tokens are added tokens)."""
        return self._n_base

    def _base(self) -> dict[str, int]:
        if self._base_vocab is None:
            vocab = {piece_to_token(p): i for i, p in enumerate(self.bytepiece.pieces(), 3)}
            vocab.update({PAD: 0, BOS: 1, EOS: 2})
            for token, i in (getattr(self.bytepiece, "special_tokens", None) or {}).items():
                vocab[token] = i
            self._base_vocab = vocab
        return self._base_vocab

    def get_vocab(self) -> dict[str, int]:
        vocab = dict(self._base())
        vocab.update(self._added_tokens_encoder)
        return vocab

    def _convert_token_to_id(self, token: str) -> int | None:
        return self._base().get(token)

    def _convert_id_to_token(self, index: int) -> str:
        index = int(index)
        if index < 3:
            return (PAD, BOS, EOS)[index]
        if index < self._n_base:
            return piece_to_token(self.bytepiece.id_to_piece(index))
        token = self._added_tokens_decoder.get(index)
        if token is None:
            raise IndexError(f"id {index} is outside the vocabulary (size {len(self)})")
        return token.content

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        added = self._added_tokens_encoder
        return b"".join(t.encode("utf-8") if t in added else _token_bytes(t)
                        for t in tokens).decode("utf-8", errors="replace")

    def save_vocabulary(self, save_directory: str, filename_prefix: str | None = None) -> tuple[str]:
        """Our model file, in upstream's JSON format."""
        path = os.path.join(save_directory, (filename_prefix + "-" if filename_prefix else "") + VOCAB_FILE)
        self.bytepiece.save(path)
        return (path,)

    # ------------------------------------------------------------------ sampling options
    def _options(self, kwargs: dict) -> tuple[float | None, str, int | None, int | None]:
        """(alpha, sampler, seed, num_threads) of a call: its own keyword arguments, else the
        tokenizer's; inside a fallback call, the options its outer call chose."""
        outer = getattr(self._local, "options", None)
        given = {k: kwargs.pop(k) for k in _SAMPLING_KEYS if k in kwargs}
        if outer is not None and not given:
            return outer
        alpha = given.get("alpha", self.alpha)
        sampler = given.get("sampler", self.sampler)
        seed = given.get("seed")
        threads = given.get("num_threads", self.num_threads)
        if seed is None and self.seed is not None and alpha is not None and alpha > 0:
            seed = _rng.stream_key(int(self.seed), next(self._calls))
        return alpha, sampler, seed, threads

    def _tokenize(self, text: str, **kwargs: Any) -> list[str]:
        alpha, sampler, seed, _ = self._options(kwargs)
        return [piece_to_token(p) for p in self.bytepiece.tokenize(text, alpha, sampler=sampler, seed=seed)]

    def tokenize(self, text: str, **kwargs: Any) -> list[str]:
        options = self._options(kwargs)
        outer = getattr(self._local, "options", None)
        self._local.options = options
        try:
            return super().tokenize(text, **kwargs)
        finally:
            self._local.options = outer

    # ------------------------------------------------------------------ encoding
    def _special_pattern(self):
        """A regex matching any added token (longest first), or None."""
        tokens = frozenset(self._added_tokens_encoder)
        if self._special_re is None or self._special_re[0] != tokens:
            alternatives = sorted(tokens, key=len, reverse=True)
            pattern = re.compile("(" + "|".join(map(re.escape, alternatives)) + ")") if alternatives else None
            self._special_re = (tokens, pattern)
        return self._special_re[1]

    def _encode_rows(self, texts: list[str], options, split_special_tokens: bool,
                     bos: bool, eos: bool) -> list[list[int]]:
        alpha, sampler, seed, threads = options
        pattern = None if split_special_tokens else self._special_pattern()
        core = self.bytepiece
        if pattern is None or not any(pattern.search(t) for t in texts):
            return core.encode_batch(texts, alpha, seed=seed, sampler=sampler, num_threads=threads,
                                     add_bos=bos, add_eos=eos)
        # Added tokens matched on the raw text (as the tokenizer.json export's added tokens):
        # the text between them is encoded in one batch, then the rows are put together.
        ids_of = self._added_tokens_encoder
        layout, segments = [], []
        for text in texts:
            parts = pattern.split(text)
            row = []
            for k, part in enumerate(parts):
                if k % 2:
                    row.append(ids_of[part])
                elif part:
                    row.append(None)
                    segments.append(part)
            layout.append(row)
        encoded = iter(core.encode_batch(segments, alpha, seed=seed, sampler=sampler, num_threads=threads))
        rows = []
        for row in layout:
            out = [1] if bos else []
            for item in row:
                if item is None:
                    out.extend(next(encoded))
                else:
                    out.append(item)
            if eos:
                out.append(2)
            rows.append(out)
        return rows

    def _fast_path_ok(self, text, text_pair, is_split_into_words, kwargs) -> bool:
        if text_pair is not None or is_split_into_words or kwargs.get("return_overflowing_tokens"):
            return False
        if kwargs.get("sanitize_control_tokens") or kwargs.get("return_offsets_mapping"):
            return False
        if isinstance(text, str):
            return True
        return isinstance(text, (list, tuple)) and all(type(t) is str for t in text)

    def _encode_plus(self, text, text_pair=None, add_special_tokens: bool = True,
                     padding_strategy: PaddingStrategy = PaddingStrategy.DO_NOT_PAD,
                     truncation_strategy: TruncationStrategy = TruncationStrategy.DO_NOT_TRUNCATE,
                     max_length: int | None = None, stride: int = 0, is_split_into_words: bool = False,
                     pad_to_multiple_of: int | None = None, padding_side: str | None = None,
                     return_tensors=None, return_token_type_ids: bool | None = None,
                     return_attention_mask: bool | None = None, return_overflowing_tokens: bool = False,
                     return_special_tokens_mask: bool = False, return_length: bool = False,
                     verbose: bool = True, split_special_tokens: bool | None = None,
                     **kwargs) -> BatchEncoding:
        options = self._options(kwargs)
        if split_special_tokens is None:
            split_special_tokens = self.split_special_tokens
        kwargs["return_overflowing_tokens"] = return_overflowing_tokens
        if not self._fast_path_ok(text, text_pair, is_split_into_words, kwargs):
            return self._slow_encode_plus(options, text, text_pair, add_special_tokens, padding_strategy,
                                          truncation_strategy, max_length, stride, is_split_into_words,
                                          pad_to_multiple_of, padding_side, return_tensors,
                                          return_token_type_ids, return_attention_mask,
                                          return_special_tokens_mask, return_length, verbose,
                                          split_special_tokens, kwargs)
        kwargs.pop("return_overflowing_tokens")
        kwargs.pop("return_offsets_mapping", None)
        batched = not isinstance(text, str)
        texts = list(text) if batched else [text]
        bos = bool(add_special_tokens and self.add_bos)
        eos = bool(add_special_tokens and self.add_eos)
        rows = self._encode_rows(texts, options, split_special_tokens, bos, eos)

        if truncation_strategy != TruncationStrategy.DO_NOT_TRUNCATE and max_length is not None:
            rows = _hf_batch.truncate(rows, max_length, bos, eos, self.truncation_side == "left")
        lengths = [len(r) for r in rows]
        if rows and verbose:
            self._eventual_warn_about_too_long_sequence(rows[lengths.index(max(lengths))], max_length, verbose)

        if return_attention_mask is None:
            return_attention_mask = "attention_mask" in self.model_input_names
        if return_token_type_ids is None:
            return_token_type_ids = "token_type_ids" in self.model_input_names
        target = None
        if padding_strategy == PaddingStrategy.LONGEST:
            target = max(lengths, default=0)
        elif padding_strategy == PaddingStrategy.MAX_LENGTH and max_length is not None:
            target = max(max_length, 0)
        if target is not None and pad_to_multiple_of:
            target = -(-target // pad_to_multiple_of) * pad_to_multiple_of
        side = padding_side or self.padding_side
        pad_id = self.pad_token_id if target is not None else 0

        data: dict[str, Any] = {}
        if target is not None and return_tensors is not None and all(n <= target for n in lengths):
            data = _hf_batch.padded_arrays(rows, lengths, target, side, pad_id)
            if not return_attention_mask:
                del data["attention_mask"]
        else:
            if target is not None:
                rows, masks = _hf_batch.pad_lists(rows, lengths, target, side, pad_id)
            else:
                masks = [[1] * n for n in lengths] if return_attention_mask else None
            data["input_ids"] = rows
            if return_attention_mask:
                data["attention_mask"] = masks
        if return_token_type_ids:
            data["token_type_ids"] = [[0] * len(r) for r in data["input_ids"]]
        if return_special_tokens_mask:
            data["special_tokens_mask"] = [_hf_batch.special_mask(r, n, side, bos, eos)
                                           for r, n in zip(data["input_ids"], lengths)]
        if return_length:
            data["length"] = lengths
        if not batched and return_tensors is None:
            data = {k: v[0] for k, v in data.items()}
        return BatchEncoding(data, tensor_type=return_tensors)

    def _slow_encode_plus(self, options, text, text_pair, add_special_tokens, padding_strategy,
                          truncation_strategy, max_length, stride, is_split_into_words,
                          pad_to_multiple_of, padding_side, return_tensors, return_token_type_ids,
                          return_attention_mask, return_special_tokens_mask, return_length, verbose,
                          split_special_tokens, kwargs) -> BatchEncoding:
        """Pairs, pre-split words, overflowing tokens, chat sanitizing: transformers' own
        PreTrainedTokenizer path (token strings), with this call's sampling options."""
        if kwargs.pop("return_offsets_mapping", False):
            raise NotImplementedError("return_offsets_mapping is not available for BytePieceTokenizer; "
                                      "use Tokenizer.encode_with_offsets (tok.bytepiece)")
        outer = getattr(self._local, "options", None)
        self._local.options = options
        try:
            return super()._encode_plus(
                text, text_pair=text_pair, add_special_tokens=add_special_tokens,
                padding_strategy=padding_strategy, truncation_strategy=truncation_strategy,
                max_length=max_length, stride=stride, is_split_into_words=is_split_into_words,
                pad_to_multiple_of=pad_to_multiple_of, padding_side=padding_side,
                return_tensors=return_tensors, return_token_type_ids=return_token_type_ids,
                return_attention_mask=return_attention_mask,
                return_special_tokens_mask=return_special_tokens_mask, return_length=return_length,
                verbose=verbose, split_special_tokens=split_special_tokens, **kwargs)
        finally:
            self._local.options = outer

    def build_inputs_with_special_tokens(self, token_ids_0, token_ids_1=None):
        bos = [1] if self.add_bos else []
        eos = [2] if self.add_eos else []
        if token_ids_1 is None:
            return bos + list(token_ids_0) + eos
        return bos + list(token_ids_0) + eos + bos + list(token_ids_1) + eos

    def get_special_tokens_mask(self, token_ids_0, token_ids_1=None, already_has_special_tokens=False):
        if already_has_special_tokens:
            return super().get_special_tokens_mask(token_ids_0, token_ids_1, already_has_special_tokens=True)
        bos = [1] if self.add_bos else []
        eos = [1] if self.add_eos else []
        mask = bos + [0] * len(token_ids_0) + eos
        if token_ids_1 is not None:
            mask += bos + [0] * len(token_ids_1) + eos
        return mask

    def num_special_tokens_to_add(self, pair: bool = False) -> int:
        return (int(self.add_bos) + int(self.add_eos)) * (2 if pair else 1)

    # ------------------------------------------------------------------ decoding
    def _decode(self, token_ids, skip_special_tokens: bool = False,
                clean_up_tokenization_spaces: bool | None = None, **kwargs) -> str:
        if isinstance(token_ids, (int, np.integer)):
            token_ids = [int(token_ids)]
        ids = np.asarray(token_ids, dtype=np.int64).ravel()
        n_base = self._n_base
        special = (ids < 3) | (ids >= n_base)
        if not special.any():
            text = self.bytepiece.decode(ids)
        else:
            skip = set(self.all_special_ids) if skip_special_tokens else ()
            decoder = self._added_tokens_decoder
            parts, start = [], 0
            for pos in np.flatnonzero(special).tolist():
                if pos > start:
                    parts.append(self.bytepiece.decode_bytes(ids[start:pos]))
                i = int(ids[pos])
                if i not in skip:
                    token = decoder.get(i)
                    parts.append((token.content if token is not None else self._convert_id_to_token(i))
                                 .encode("utf-8"))
                start = pos + 1
            if start < ids.size:
                parts.append(self.bytepiece.decode_bytes(ids[start:]))
            text = b"".join(parts).decode("utf-8", errors="replace")
        if clean_up_tokenization_spaces if clean_up_tokenization_spaces is not None else self.clean_up_tokenization_spaces:
            text = self.clean_up_tokenization(text)
        return text


def register_auto_classes() -> None:
    """Register :class:`BytePieceTokenizer` with ``AutoTokenizer`` (done on import): then
    ``AutoTokenizer.from_pretrained(d)`` loads a directory it saved
    (``tokenizer_class: "BytePieceTokenizer"``), with no ``trust_remote_code``."""
    AutoTokenizer.register(BytePieceConfig, tokenizer_class=BytePieceTokenizer, exist_ok=True)


register_auto_classes()
