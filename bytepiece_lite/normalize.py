"""Turning user text into the bytes the tokenizer segments.

`str` is NFC-normalized and encoded as UTF-8; `bytes` is taken as is.  Whole-text NFC costs
~15 ms per MB as soon as one character needs it, against ~1 ms per MB for the quick check
(~0.5 ms for the core's check in C, which knows the common scripts); and NFC never acts
across a newline, so the text is checked in blocks that end at a newline and only the blocks
that fail the quick check are normalized.
"""
from __future__ import annotations

import unicodedata

from ._core import nfc_quick_check

__all__ = ["nfc", "to_bytes"]

_BLOCK = 1 << 16


def nfc(text: str) -> str:
    """NFC-normalize `text`, touching only the newline-delimited blocks that need it.

    >>> nfc("cafe\\u0301")
    'café'
    """
    if _is_nfc(text):
        return text
    parts = []
    start, n = 0, len(text)
    while start < n:
        end = text.find("\n", min(start + _BLOCK, n))
        end = n if end < 0 else end + 1
        block = text[start:end]
        if not _is_nfc(block):
            block = unicodedata.normalize("NFC", block)
        parts.append(block)
        start = end
    return "".join(parts)


def _is_nfc(text: str) -> bool:
    # The core's check in C first (about twice as fast; it knows the common scripts).
    return (type(text) is str and nfc_quick_check(text)) or unicodedata.is_normalized("NFC", text)


def to_bytes(text: str | bytes) -> bytes:
    """The UTF-8 bytes to segment: NFC + UTF-8 for `str`, `bytes` unchanged.

    >>> to_bytes("e\\u0301")
    b'\\xc3\\xa9'
    """
    if type(text) is bytes:
        return text
    if isinstance(text, str):
        try:
            return nfc(text).encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError(
                f"text is not valid Unicode: {exc.reason} at index {exc.start} "
                f"({text[exc.start:exc.end]!r}); pass bytes to tokenize raw data"
            ) from None
    if isinstance(text, bytes):
        return bytes(text)
    raise TypeError(f"text must be str or bytes, not {type(text).__name__}")
