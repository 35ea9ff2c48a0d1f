"""Export to the Hugging Face formats: ``tokenizer.json`` (the `tokenizers` library) plus the
``tokenizer_config.json`` and ``special_tokens_map.json`` that ``transformers`` reads.

Only the standard library and numpy: the core package never imports transformers/tokenizers.

The pipeline written to tokenizer.json reproduces our deterministic ids exactly:

- normalizer ``NFC``;
- pre-tokenizer ``Split(\\n+, MergedWithPrevious)``: a cut after every run of newlines, the run
  staying at the end of its chunk (``"a\\n\\nb"`` -> ``"a\\n\\n"``, ``"b"``; ``"\\n\\na"`` ->
  ``"\\n\\n"``, ``"a"``), as our core chunks; then ``ByteLevel(add_prefix_space=False,
  use_regex=False)``, which maps every UTF-8 byte to one character of GPT-2's byte-to-unicode
  table and nothing else;
- model ``Unigram``: our pieces (each byte mapped through the same table) with their log
  probabilities, scaled by one power of two (see :func:`scaled_scores`); no byte fallback, no
  unk (every single byte is a piece, so no character is ever unknown);
- ``<pad>``/``<bos>``/``<eos>`` and the extra special tokens as added tokens (``special``,
  matched on the raw text) with our ids; in the Unigram table they sit at those ids with a
  score so low that the Viterbi never picks them when their text is segmented as text;
- decoder ``ByteLevel``: the characters back to bytes, decoded as UTF-8 (invalid bytes become
  U+FFFD, like our ``decode(errors="replace")``).
"""
from __future__ import annotations

import json
import math
import os
from typing import Mapping, Sequence

import numpy as np

from ._files import write_atomic

__all__ = ["bytes_to_unicode", "scaled_scores", "tokenizer_json", "write_pretrained"]

PAD, BOS, EOS = "<pad>", "<bos>", "<eos>"
#: scores must stay below this in magnitude so that the JSON integer is read as an exact i64
_I64 = 1 << 63


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte-to-character table (the one the ByteLevel pre-tokenizer and decoder use):
    printable Latin-1 bytes stand for themselves, the other 68 bytes for U+0100 onwards."""
    keep = list(range(0x21, 0x7F)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    table = {b: chr(b) for b in keep}
    n = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(0x100 + n)
            n += 1
    return table


_TABLE = bytes_to_unicode()
#: str.translate table: the Latin-1 decoding of a byte string, mapped through _TABLE
_LATIN1_TO_BYTELEVEL = {b: c for b, c in _TABLE.items()}


def piece_to_token(piece: bytes) -> str:
    """The ByteLevel string of a piece: one character per byte."""
    return piece.decode("latin-1").translate(_LATIN1_TO_BYTELEVEL)


def log_probs(counts: np.ndarray) -> np.ndarray:
    """``ln c - ln Σc`` in float64, the formula of upstream (and of :meth:`Model.log_probs`)."""
    counts = np.asarray(counts)
    total = int(counts.sum(dtype=object))
    return np.log(counts.astype(np.float64)) - np.log(np.array([total], dtype=np.float64))[0]


def _read_like_serde(text: str) -> float:
    """The f64 that serde_json's default (not correctly rounded) parser gives for a JSON
    number: the decimal significand as a u64 converted to f64, then one multiplication or
    division by a power of ten (``f64_from_parts``).  Used to pick scores that survive
    tokenizers' own save and reload."""
    mantissa, _, exp = text.lower().partition("e")
    negative = mantissa.startswith("-")
    mantissa = mantissa.lstrip("-")
    whole, _, frac = mantissa.partition(".")
    digits = (whole + frac).lstrip("0") or "0"
    exponent = (int(exp) if exp else 0) - len(frac)
    significand = int(digits)
    if significand >= 1 << 64 or abs(exponent) > 308:
        return float("nan")     # the slow paths: never accept
    f = float(significand)
    f = f * 10.0 ** exponent if exponent >= 0 else f / 10.0 ** -exponent
    return -f if negative else f


def _ryu(value: float) -> str:
    """The text serde_json writes for an f64 (ryu's format: the shortest round-trip digits,
    positional below 1e16, else ``d.ddde<exp>``)."""
    digits, exponent = _shortest_digits(value)
    point = len(digits) + exponent          # position of the decimal point
    sign = "-" if value < 0 else ""
    if 0 <= exponent and point <= 16:
        return f"{sign}{digits}{'0' * exponent}.0"
    if 0 < point <= 16:
        return f"{sign}{digits[:point]}.{digits[point:]}"
    if -5 < point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    frac = f".{digits[1:]}" if len(digits) > 1 else ""
    return f"{sign}{digits[0]}{frac}e{point - 1}"


def _shortest_digits(value: float) -> tuple[str, int]:
    """(digits, exponent) with ``|value| == int(digits) * 10**exponent`` in shortest form."""
    text = repr(abs(value))
    mantissa, _, exp = text.partition("e")
    whole, _, frac = mantissa.partition(".")
    frac = frac.rstrip("0")
    digits = (whole + frac).lstrip("0") or "0"
    exponent = (int(exp) if exp else 0) - len(frac)
    stripped = digits.rstrip("0")
    exponent += len(digits) - len(stripped)
    return stripped or "0", exponent


def scaled_scores(logp: np.ndarray) -> tuple[list[int], int]:
    """The log probabilities times ``2**k``, as exact Python ints, and ``k``.

    Scaling by a power of two is exact in binary floating point and keeps every sum and every
    comparison of the Viterbi (including the exact ties that float64 rounding decides), so the
    scaled table segments exactly as ours.  The point is the decimal text: tokenizers' JSON
    reader (serde_json without ``float_roundtrip``) is not correctly rounded for 17-digit
    decimals, so ``repr(logp)`` comes back 1 ulp off for some pieces and flips those ties.  An
    integer below 2**63 is read exactly; ``k`` is the smallest that makes every score an integer
    and whose shortest decimal (what tokenizers writes on save) is also read back exactly.
    """
    values = [float(v) for v in np.asarray(logp, dtype=np.float64).tolist()]
    for v in values:
        if not (math.isfinite(v) and v < 0.0):
            raise ValueError(f"log probabilities must be finite and negative, not {v!r}")
    denominators = [v.as_integer_ratio()[1] for v in values]
    k = max(denominators).bit_length() - 1
    best: tuple[int, int] | None = None      # (failures, k)
    while max(-math.ldexp(v, k) for v in values) < _I64:
        failures = sum(_read_like_serde(_ryu(s)) != s for s in (math.ldexp(v, k) for v in values))
        if failures == 0:
            break
        if best is None or failures < best[0]:
            best = (failures, k)
        k += 1
    else:
        if best is None:
            raise ValueError("the scores cannot be written exactly: some log probability is too "
                             "close to 0 for the others")
        # Read exactly from our file all the same; only a re-save by tokenizers may move
        # `best[0]` scores by an ulp.
        k = best[1]
    return [int(math.ldexp(v, k)) for v in values], k


def _special_score(scores: list[int], specials: Mapping[str, int]) -> float:
    """A score for the special tokens' entries of the Unigram table below any segmentation of
    their text into pieces (each byte is a piece scoring >= min(scores)), so the Viterbi never
    takes them; a power of ten, which every JSON reader reads exactly."""
    longest = max((len(t.encode("utf-8")) for t in specials), default=1)
    bound = (longest + 1) * -min(scores)
    j = 20
    while 10.0 ** j <= bound:
        j += 1
    return -(10.0 ** j)


def tokenizer_json(pieces: Sequence[bytes], counts_or_logp, special_tokens: Mapping[str, int]) -> dict:
    """The tokenizer.json object (see the module docstring)."""
    pieces = list(pieces)
    arr = np.asarray(counts_or_logp)
    if len(arr) != len(pieces):
        raise ValueError(f"{len(pieces)} pieces but {len(arr)} scores")
    logp = log_probs(arr) if arr.dtype.kind in "iu" else arr.astype(np.float64)
    scores, _ = scaled_scores(logp)
    specials = dict(special_tokens)
    for name, i in ((PAD, 0), (BOS, 1), (EOS, 2)):
        specials.setdefault(name, i)
    n_ids = len(pieces) + 3
    by_id: dict[int, str] = {}
    for token, i in specials.items():
        if not isinstance(token, str) or not token:
            raise ValueError(f"special tokens must be non-empty str, not {token!r}")
        if i in by_id or not (i < 3 or i >= len(pieces) + 3):
            raise ValueError(f"special token {token!r} has id {i}, which is taken")
        by_id[i] = token
        n_ids = max(n_ids, i + 1)
    if sorted(i for i in by_id if i >= 3) != list(range(len(pieces) + 3, n_ids)):
        raise ValueError(f"special token ids must follow the pieces without gaps: {sorted(by_id)}")
    tokens = [piece_to_token(p) for p in pieces]
    clash = set(tokens) & set(by_id.values())
    if clash:
        raise ValueError(f"special tokens {sorted(clash)} are also pieces of the vocabulary")
    low = _special_score(scores, specials)
    vocab: list[list] = [[by_id[0], low], [by_id[1], low], [by_id[2], low]]
    vocab += [[t, s] for t, s in zip(tokens, scores)]
    vocab += [[by_id[i], low] for i in range(len(pieces) + 3, n_ids)]
    added = [{"id": i, "content": by_id[i], "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for i in sorted(by_id)]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": {"type": "NFC"},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": "\n+"}, "behavior": "MergedWithPrevious",
             "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False,
             "use_regex": False},
        ]},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False,
                    "use_regex": False},
        "model": {"type": "Unigram", "unk_id": None, "vocab": vocab, "byte_fallback": False},
    }


def write_pretrained(directory: str | os.PathLike[str], pieces: Sequence[bytes], counts_or_logp,
                     special_tokens: Mapping[str, int] | None = None, *,
                     model_max_length: int | None = None) -> list[str]:
    """Write ``tokenizer.json``, ``tokenizer_config.json`` and ``special_tokens_map.json`` into
    `directory` (created if needed), each atomically; returns their paths.

    ``pieces`` in id order (ids from 3), ``counts_or_logp`` their counts (integers: the log
    probabilities are computed as upstream does) or float64 log probabilities;
    ``special_tokens`` ``{token: id}`` (``<pad>``/``<bos>``/``<eos>`` are 0/1/2 when absent;
    the others must have the ids after the pieces).  ``model_max_length`` goes to
    tokenizer_config.json when given (None: transformers' "no limit").

    The config sets ``split_special_tokens: true``: transformers then encodes special-token
    text in the input as ordinary text, like our ``encode`` by default.
    """
    directory = os.fspath(directory)
    os.makedirs(directory, exist_ok=True)
    tj = tokenizer_json(pieces, counts_or_logp, special_tokens or {})
    added = tj["added_tokens"]
    extra = [t["content"] for t in added if t["content"] not in (PAD, BOS, EOS)]
    config: dict = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": BOS,
        "eos_token": EOS,
        "pad_token": PAD,
        "add_bos_token": False,
        "add_eos_token": False,
        "clean_up_tokenization_spaces": False,
        "split_special_tokens": True,
        "added_tokens_decoder": {str(t["id"]): {k: v for k, v in t.items() if k != "id"} for t in added},
    }
    if extra:
        # the name both transformers 4.x (a list) and 5.x (which reads it as its
        # extra_special_tokens) take
        config["additional_special_tokens"] = extra
    if model_max_length is not None:
        config["model_max_length"] = int(model_max_length)
    special_map: dict = {"bos_token": BOS, "eos_token": EOS, "pad_token": PAD}
    if extra:
        special_map["additional_special_tokens"] = extra
    files = {
        "tokenizer.json": json.dumps(tj, ensure_ascii=False, separators=(",", ":")),
        "tokenizer_config.json": json.dumps(config, ensure_ascii=False, indent=2) + "\n",
        "special_tokens_map.json": json.dumps(special_map, ensure_ascii=False, indent=2) + "\n",
    }
    paths = []
    for name, text in files.items():
        path = os.path.join(directory, name)
        write_atomic(path, text.encode("utf-8"))
        paths.append(path)
    return paths
