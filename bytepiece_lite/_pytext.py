"""Plain-Python twins of the core's text helpers (text.pxi), for installations without the
compiled core: the same contracts, without the speed."""
from __future__ import annotations

import re

__all__ = ["nfc_unstable_at", "utf8_join"]

_NOT_ASCII = re.compile(r"[^\x00-\x7f]")


def nfc_unstable_at(text: str, start: int = 0) -> int:
    """Index of the first code point at or after `start` that this check cannot clear, or
    len(text): text[start:result] is certainly NFC.  This twin clears ASCII only (the core
    knows the common scripts); what it does not clear, unicodedata decides.

    >>> nfc_unstable_at("abc"), nfc_unstable_at("abé", 1)
    (3, 2)
    """
    if not 0 <= start <= len(text):
        raise IndexError(f"start {start} out of range for a text of length {len(text)}")
    found = _NOT_ASCII.search(text, start)
    return len(text) if found is None else found.start()


def utf8_join(spans: list[tuple[str, int, int]]) -> bytes | None:
    """The UTF-8 of text[start:end] for each (text, start, end) of `spans`, concatenated;
    None if there is a lone surrogate.

    >>> utf8_join([("abc", 1, 3), ("é", 0, 1)])
    b'bc\\xc3\\xa9'
    """
    for text, a, b in spans:
        if not 0 <= a <= b <= len(text):
            raise IndexError(f"span {a}:{b} out of range for a text of length {len(text)}")
    try:
        return "".join(text[a:b] for text, a, b in spans).encode("utf-8")
    except UnicodeEncodeError:
        return None
