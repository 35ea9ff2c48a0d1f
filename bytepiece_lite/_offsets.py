"""Token spans: where each token of an encoding lies in the input's bytes and characters."""
from __future__ import annotations

from typing import NamedTuple, Optional

import numpy as np

__all__ = ["Encoding", "encoding"]


class Encoding(NamedTuple):
    """Ids with their spans; see :meth:`Tokenizer.encode_with_offsets`."""

    ids: np.ndarray
    byte_spans: np.ndarray
    char_spans: Optional[np.ndarray]


def encoding(ids: np.ndarray, lengths: np.ndarray, data: bytes, chars_too: bool) -> Encoding:
    """The Encoding of `ids`, whose tokens have `lengths` bytes, of `data` (UTF-8, with
    character spans when `chars_too`).  An empty token (<bos>) spans nothing where it is.

    >>> encoding(np.array([5, 6]), np.array([1, 2]), "aé".encode(), True).char_spans.tolist()
    [[0, 1], [1, 2]]
    """
    ends = np.cumsum(lengths, dtype=np.int64)
    spans = np.stack([ends - lengths, ends], axis=1)
    if not chars_too:
        return Encoding(ids, spans, None)
    # chars[p] = number of characters that start in data[:p]
    chars = np.concatenate([[0], np.cumsum((np.frombuffer(data, dtype=np.uint8) & 0xC0) != 0x80,
                                           dtype=np.int64)])
    # a token [a, b) spans the characters that start before b, from the one holding a
    starts = chars[np.minimum(spans[:, 0] + 1, chars.size - 1)] - 1
    char_spans = np.stack([np.where(lengths > 0, starts, chars[spans[:, 0]]),
                           chars[spans[:, 1]]], axis=1)
    return Encoding(ids, spans, char_spans)
