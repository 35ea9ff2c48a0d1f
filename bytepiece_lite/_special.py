"""Special tokens: their ids, finding the allowed ones in a text, and segmenting around them
(docs/semantics.md, "Special tokens").

An allowed special token found in the text becomes its own id and is a chunk of its own; the
text between them is segmented as usual, each part with its absolute position in the text, so
that seeded sampling draws as it would without the cut.  Texts without an allowed special
token take the ordinary path: a tokenizer that is given no ``allowed_special`` never pays for
its special tokens.
"""
from __future__ import annotations

from typing import Iterable, Sequence, Union

import numpy as np

from ._contracts import BOS_ID, EOS_ID, RESERVED_TOKENS, Backend, Output

__all__ = ["SpecialTokens", "check_tokens"]

Token = Union[str, bytes]


def _as_bytes(token: object, k: int) -> bytes:
    if isinstance(token, str):
        try:
            return token.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(f"special token {k} ({token!r}) is not valid Unicode") from None
    if isinstance(token, bytes):
        return bytes(token)
    raise TypeError(f"special token {k} is {type(token).__name__}, not str or bytes")


def check_tokens(tokens: Iterable[Token], pieces: set[bytes] | frozenset[bytes]) -> tuple[bytes, ...]:
    """`tokens` as UTF-8 bytes, refused (naming the token) if one is empty, contains a newline
    (newline runs are chunk boundaries of their own), is a piece, a reserved token or a
    duplicate."""
    if isinstance(tokens, (str, bytes)) or not isinstance(tokens, Iterable):
        raise TypeError(f"special_tokens must be a sequence of str or bytes, not {type(tokens).__name__}")
    out: list[bytes] = []
    seen: set[bytes] = set(RESERVED_TOKENS)
    for k, token in enumerate(tokens):
        data = _as_bytes(token, k)
        if not data:
            raise ValueError(f"special token {k} is empty")
        if b"\n" in data:
            raise ValueError(f"special token {token!r} contains a newline; newline runs are "
                             "chunk boundaries, so a special token cannot hold one")
        if data in pieces:
            raise ValueError(f"special token {token!r} is a piece of the vocabulary already")
        if data in seen:
            what = "a reserved token" if data in RESERVED_TOKENS else "given twice"
            raise ValueError(f"special token {token!r} is {what}")
        seen.add(data)
        out.append(data)
    return tuple(out)


def _display(token: bytes) -> Token:
    """A token as the user sees it: str when it is UTF-8 (all tokens given as str are)."""
    try:
        return token.decode("utf-8")
    except UnicodeDecodeError:
        return token


class Matcher:
    """Finds a set of tokens in bytes: leftmost first, the longest at a position, no overlaps.

    Candidate positions are those of the tokens' first bytes, found with bytes.find (memchr,
    many GB/s; one pass per distinct first byte, usually one: ``<`` of ``<|endoftext|>``,
    ``<pad>``, ...); at a candidate, one set lookup per distinct token length, longest first.
    A regex alternation of 1,000 tokens, by contrast, tries every branch at every candidate."""

    def __init__(self, tokens: frozenset[bytes]):
        self.tokens = tokens
        self.lengths = sorted({len(t) for t in tokens}, reverse=True)
        self.firsts = sorted({t[:1] for t in tokens})

    def _next(self, data: bytes, at: int) -> tuple[int, int]:
        """(start, end) of the first occurrence at or after `at`, or (-1, -1)."""
        while True:
            found = [p for p in (data.find(f, at) for f in self.firsts) if p >= 0]
            if not found:
                return -1, -1
            at = min(found)
            for n in self.lengths:
                if data[at:at + n] in self.tokens:
                    return at, at + n
            at += 1

    def finditer(self, data: bytes):
        """(start, end, token) of each occurrence."""
        a, b = self._next(data, 0)
        while a >= 0:
            yield a, b, data[a:b]
            a, b = self._next(data, b)

    def search(self, data: bytes) -> bool:
        """Whether any token occurs."""
        return self._next(data, 0)[0] >= 0


class SpecialTokens:
    """The special tokens of a tokenizer whose pieces end at id `first_id - 1`: ids, and the
    matchers of the sets of them a call allows."""

    def __init__(self, tokens: tuple[bytes, ...], first_id: int):
        self.tokens = tokens
        self.first_id = first_id
        # the reserved tokens too: "all" allows them, and a set may name them
        self.by_bytes = {t: i for i, t in enumerate(RESERVED_TOKENS)}
        self.by_bytes.update({t: first_id + k for k, t in enumerate(tokens)})
        self.text_of = {i: t for t, i in self.by_bytes.items()}
        #: {token: id} as ``Tokenizer.special_tokens`` shows it, the reserved ones first.
        self.mapping = {_display(t): i for t, i in self.by_bytes.items()}
        self._matchers: dict[frozenset, Matcher | None] = {}

    def matcher(self, allowed: object) -> Matcher | None:
        """The pattern finding the tokens `allowed` ("all": the special and the reserved
        tokens, or a set of them), or None when there are none to find."""
        if allowed is None or (not allowed and not isinstance(allowed, str)):
            return None
        if isinstance(allowed, str):
            if allowed != "all":
                raise ValueError(f'allowed_special must be "all" or a set of special tokens, '
                                 f"not {allowed!r}")
            key = frozenset(self.by_bytes)
        elif isinstance(allowed, (set, frozenset, list, tuple)):
            key = frozenset(_as_bytes(t, k) for k, t in enumerate(allowed))
            unknown = [t for t in key if t not in self.by_bytes]
            if unknown:
                raise ValueError(f"allowed_special names {_display(unknown[0])!r}, which is not a "
                                 "special token of this tokenizer")
        else:
            raise TypeError(f"allowed_special must be a set of special tokens or \"all\", not "
                            f"{type(allowed).__name__}")
        if key not in self._matchers:
            if len(self._matchers) >= 64:
                self._matchers.clear()
            self._matchers[key] = Matcher(key) if key else None
        return self._matchers[key]

    def split(self, data: bytes, pattern: Matcher) -> tuple[list[bytes], list[int], list[tuple[int, int]]]:
        """(the ordinary parts of `data`, where each starts, (part index, id) of the specials:
        the id follows that many parts); leftmost matches, longest first, no overlaps."""
        parts: list[bytes] = []
        starts: list[int] = []
        specials: list[tuple[int, int]] = []
        at = 0
        by_bytes = self.by_bytes
        for a, b, token in pattern.finditer(data):
            if a > at:
                parts.append(data[at:a])
                starts.append(at)
            specials.append((len(parts), by_bytes[token]))
            at = b
        if at < len(data):
            parts.append(data[at:])
            starts.append(at)
        return parts, starts, specials


def encode_rows(vocab: Backend, special: SpecialTokens, texts: Sequence[bytes], pattern: Matcher,
                *, mode: int, alpha: float, seed: int, streams: Sequence[int],
                offsets: Sequence[int] | None = None, pieces: bool = False, num_threads: int = 1,
                executor=None, bos: bool = False, eos: bool = False) -> list[list]:
    """The rows of `texts` (UTF-8, checked) with the allowed special tokens found by `pattern`
    as their ids (their bytes when `pieces`); text k draws from stream `streams[k]`, as the
    part of a longer text that starts at `offsets[k]` (default 0)."""
    all_parts: list[bytes] = []
    all_starts: list[int] = []
    all_streams: list[int] = []
    layout = []
    for k, (text, stream) in enumerate(zip(texts, streams)):
        parts, starts, specials = special.split(text, pattern)
        layout.append((len(all_parts), len(parts), specials))
        all_parts += parts
        all_starts += starts if offsets is None else [a + offsets[k] for a in starts]
        all_streams += [stream] * len(parts)
    rows = vocab.encode_batch(all_parts, mode=mode, alpha=alpha, seed=seed, num_threads=num_threads,
                              executor=executor, output=Output.PIECES if pieces else Output.IDS,
                              starts=np.array(all_starts, dtype=np.int64),
                              streams=np.array(all_streams, dtype=np.uint64))
    text_of = special.text_of
    out = []
    for first, count, specials in layout:
        row: list = [BOS_ID] if bos and not pieces else []
        done = 0
        for before, ident in specials:
            for p in range(done, before):
                row += rows[first + p]
            done = before
            row.append(text_of[ident] if pieces else ident)
        for p in range(done, count):
            row += rows[first + p]
        if eos and not pieces:
            row.append(EOS_ID)
        out.append(row)
    return out
