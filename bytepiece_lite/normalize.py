"""Turning user text into the bytes the tokenizer segments.

`str` is NFC-normalized and encoded as UTF-8; `bytes` is taken as is.  Whole-text NFC costs
~15 ms per MB as soon as one character needs it, against ~1.4 ms per MB for unicodedata's
quick check and 0.05-0.4 ms for the core's (in C; it knows the common scripts).  NFC never acts
across a newline, so only the lines around a character the core cannot clear go through
unicodedata, and only those of them that need it are normalized.
"""
from __future__ import annotations

import unicodedata

try:
    from ._core import nfc_unstable_at, utf8_join
except ImportError:  # no compiled core: the same contracts in plain Python
    from ._pytext import nfc_unstable_at, utf8_join

__all__ = ["nfc", "to_bytes"]

_BLOCK = 1 << 12


def nfc(text: str) -> str:
    """NFC-normalize `text`, touching only the newline-delimited blocks that need it.

    >>> nfc("cafe\\u0301")
    'café'
    """
    spans = _nfc_spans(text)
    return text if spans is None else "".join(s[a:b] for s, a, b in spans)


def nfc_utf8(text: str) -> str | bytes:
    """`text` itself if it is NFC, else the UTF-8 of NFC(text), joined from the spans that
    make it up without building the normalized str first.  (A lone surrogate, which has no
    UTF-8, leaves `text` as it is, for the caller's encoder to report.)

    >>> nfc_utf8("cafe\u0301"), nfc_utf8("café")
    (b'caf\xc3\xa9', 'café')
    """
    spans = _nfc_spans(text)
    data = None if spans is None else utf8_join(spans)
    return text if data is None else data


def _nfc_spans(text: str) -> list[tuple[str, int, int]] | None:
    """None if `text` is NFC, else spans (str, start, end) that make up NFC(text)."""
    if type(text) is not str:
        text = unicodedata.normalize("NFC", text[:])   # a str subclass: a plain str
        return [(text, 0, len(text))]
    n = len(text)
    pos = nfc_unstable_at(text, 0)
    if pos == n:
        return None
    spans = []
    start = 0               # text[start:a] needs no change
    size = _BLOCK
    while pos < n:
        # From the start of the line holding the first character the quick check cannot
        # clear to the first newline `size` characters on; then the quick check again.
        a = (text.rfind("\n", start, pos) + 1) or start
        b = text.find("\n", min(pos + size, n))
        b = n if b < 0 else b + 1
        block = text[a:b]
        if unicodedata.is_normalized("NFC", block):
            size *= 2       # NFC in a script the quick check does not know: larger blocks
        else:
            block = unicodedata.normalize("NFC", block)
            spans += [(text, start, a), (block, 0, len(block))]
            start = b
        pos = nfc_unstable_at(text, b)
    if not spans:
        return None
    spans.append((text, start, n))
    return spans


def to_bytes(text: str | bytes) -> bytes:
    """The UTF-8 bytes to segment: NFC + UTF-8 for `str`, `bytes` unchanged.

    >>> to_bytes("e\\u0301")
    b'\\xc3\\xa9'
    """
    if type(text) is bytes:
        return text
    if isinstance(text, str):
        data = nfc_utf8(text)
        if type(data) is bytes:
            return data
        try:
            # text itself: NFC already, or holding a lone surrogate, which encode reports
            # (at its index in the caller's text)
            return data.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError(
                f"text is not valid Unicode: {exc.reason} at index {exc.start} "
                f"({text[exc.start:exc.end]!r}); pass bytes to tokenize raw data"
            ) from None
    if isinstance(text, bytes):
        return bytes(text)
    raise TypeError(f"text must be str or bytes, not {type(text).__name__}")
