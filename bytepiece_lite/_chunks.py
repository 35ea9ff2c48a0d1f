"""The chunk-boundary rule on the Python side (the core's is viterbi.pxi's chunk_end): a text
is cut after every maximal run of ``\\n``, and each chunk is segmented on its own, so cutting
a text at such points and segmenting the parts with their absolute offsets gives the ids of
the whole (docs/semantics.md, "Chunks")."""
from __future__ import annotations

from typing import AnyStr

__all__ = ["last_boundary", "split"]


def last_boundary(buf: bytes) -> int:
    """The end of the last complete chunk of `buf`, which may still grow: after the last run of
    newlines that another byte follows (0 if there is none).

    >>> last_boundary(b"a\\n\\nb\\nc"), last_boundary(b"a\\nb\\n\\n"), last_boundary(b"ab")
    (5, 2, 0)
    """
    return buf.rfind(b"\n", 0, len(buf.rstrip(b"\n"))) + 1


def cuts(data: AnyStr, parts: int) -> list[int]:
    """Where to cut `data` (bytes, or a str: NFC never acts across a newline, so its chunks
    are those of its UTF-8) at chunk boundaries into about `parts` pieces of similar size:
    positions (in items of `data`) from 0 to len(data).

    >>> cuts(b"ab\\ncd\\n\\nef", 3), cuts("ab\\ncd\\n\\nef", 3)
    ([0, 3, 7, 9], [0, 3, 7, 9])
    """
    newline = "\n" if isinstance(data, str) else b"\n"
    run = newline[0]            # what indexing `data` gives at a newline
    size = max(1, len(data) // max(parts, 1))
    a, n = 0, len(data)
    result = [0]
    while a < n:
        b = data.find(newline, min(a + size, n) - 1)
        if b < 0:
            b = n
        else:
            while b < n and data[b] == run:
                b += 1
        result.append(b)
        a = b
    return result


def split(data: bytes, parts: int) -> tuple[list[bytes], list[int]]:
    """`data` cut as :func:`cuts` says, with the position where each piece starts.

    >>> split(b"ab\\ncd\\n\\nef", 3)
    ([b'ab\\n', b'cd\\n\\n', b'ef'], [0, 3, 7])
    """
    at = cuts(data, parts)
    return [data[a:b] for a, b in zip(at, at[1:])], at[:-1]
