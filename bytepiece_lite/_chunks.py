"""The chunk-boundary rule on the Python side (the core's is viterbi.pxi's chunk_end): a text
is cut after every maximal run of ``\\n``, and each chunk is segmented on its own, so cutting
a text at such points and segmenting the parts with their absolute offsets gives the ids of
the whole (docs/semantics.md, "Chunks")."""
from __future__ import annotations

__all__ = ["last_boundary", "split"]


def last_boundary(buf: bytes) -> int:
    """The end of the last complete chunk of `buf`, which may still grow: after the last run of
    newlines that another byte follows (0 if there is none).

    >>> last_boundary(b"a\\n\\nb\\nc"), last_boundary(b"a\\nb\\n\\n"), last_boundary(b"ab")
    (5, 2, 0)
    """
    return buf.rfind(b"\n", 0, len(buf.rstrip(b"\n"))) + 1


def split(data: bytes, parts: int) -> tuple[list[bytes], list[int]]:
    """`data` cut at chunk boundaries into about `parts` pieces of similar size, with the
    position where each starts.

    >>> split(b"ab\\ncd\\n\\nef", 3)
    ([b'ab\\n', b'cd\\n\\n', b'ef'], [0, 3, 7])
    """
    texts, starts = [], []
    size = max(1, len(data) // max(parts, 1))
    a, n = 0, len(data)
    while a < n:
        b = data.find(b"\n", min(a + size, n) - 1)
        if b < 0:
            b = n
        else:
            while b < n and data[b] == 10:
                b += 1
        texts.append(data[a:b])
        starts.append(a)
        a = b
    return texts, starts
