"""Hypothesis strategies shared by the tests: small vocabularies over a small alphabet."""
from __future__ import annotations

from hypothesis import strategies as st

# A small alphabet makes long matches and ties frequent.
ALPHABET = b"ab\n\xe4\xb8"


def byte_pieces(min_size: int = 1, max_size: int = 25):
    """Multi-byte pieces over ALPHABET with positive counts."""
    piece = st.binary(min_size=2, max_size=7).map(lambda b: bytes(ALPHABET[c % len(ALPHABET)] for c in b))
    return st.dictionaries(piece, st.integers(1, 50), min_size=min_size, max_size=max_size)


def vocab_counts(extra: dict[bytes, int], byte_count: int = 1) -> dict[bytes, int]:
    counts = {bytes([b]): byte_count for b in range(256)}
    counts.update(extra)
    return counts


texts = st.binary(max_size=60).map(lambda b: bytes(ALPHABET[c % len(ALPHABET)] for c in b))

BACKENDS = ("native", "pyahocorasick")
_SMALL: dict = {}


def small_vocab_tokenizer(backend: str):
    """A fixed small vocabulary with overlapping pieces (so sampling has choices), per backend."""
    if backend not in _SMALL:
        from bytepiece_lite import Tokenizer

        extra = {b"ab": 6, b"ba": 4, b"ab ": 3, b"abba": 2, b"\n\n": 3, "今天".encode(): 5,
                 "天".encode(): 2, "é".encode(): 3, b"a\n": 2}
        _SMALL[backend] = Tokenizer(vocab_counts(extra, 2), backend=backend)
    return _SMALL[backend]
