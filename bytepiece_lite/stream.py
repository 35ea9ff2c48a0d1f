"""Streaming: encode a text that arrives in parts, and decode ids as they are generated.

Both are reached from a Tokenizer: ``tok.encode_stream(parts)`` and ``tok.decoder()``.
"""
from __future__ import annotations

import codecs
import io
from typing import Callable, Iterable, Iterator, Union

from ._chunks import last_boundary
from ._contracts import BOS_ID, EOS_ID, Backend
from .normalize import nfc

__all__ = ["IncrementalDecoder", "encode_blocks"]

_READ_SIZE = 1 << 20


def _parts(source: Union[Iterable[str], Iterable[bytes], io.IOBase]) -> Iterator[Union[str, bytes]]:
    """The parts of `source`: a file object is read in blocks, an iterable item by item."""
    if hasattr(source, "read"):
        while True:
            block = source.read(_READ_SIZE)
            if not block:
                return
            yield block
    else:
        yield from source


def _text_bytes(parts: Iterator[Union[str, bytes]]) -> Iterator[bytes]:
    """UTF-8 bytes of the parts.  str parts are NFC-normalized a line at a time (NFC never
    acts across a newline, so this is NFC of the whole); bytes parts pass unchanged.  One
    stream must not mix the two."""
    pending = ""
    kind = None
    for i, part in enumerate(parts):
        if not isinstance(part, (str, bytes)):
            raise TypeError(f"stream part {i} is {type(part).__name__}, not str or bytes")
        if kind is None:
            kind = type(part)
        elif not isinstance(part, kind):
            raise TypeError(f"stream part {i} is {type(part).__name__} but earlier parts were "
                            f"{kind.__name__}; a stream is all str or all bytes")
        if isinstance(part, bytes):
            yield bytes(part)
            continue
        pending += part
        cut = pending.rfind("\n") + 1
        if cut:
            yield _utf8(nfc(pending[:cut]))
            pending = pending[cut:]
    if pending:
        yield _utf8(nfc(pending))


def _utf8(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"stream text is not valid Unicode: {exc.reason} "
                         f"({text[exc.start:exc.end]!r})") from None


def encode_blocks(vocab: Backend, source, mode: int, alpha: float, key: int, *,
                  bos: bool = False, eos: bool = False) -> Iterator[list[int]]:
    """The generator behind ``Tokenizer.encode_stream`` (arguments already checked): ids of
    the concatenation of `source`'s parts, a block of whole chunks at a time, with `bos`
    before the first and `eos` after the last.  Draws are keyed by absolute position, so
    the blocks joined equal the ids of the whole text.  Memory is bounded by the longest
    chunk (line), not by the stream."""
    pending: list[bytes] = []
    ends_in_newline = False
    done = 0                                  # bytes of the stream already encoded
    head = [BOS_ID] if bos else []
    for data in _text_bytes(_parts(source)):
        if not data:
            continue
        pending.append(data)
        if not ends_in_newline and b"\n" not in data:
            continue                          # no chunk can have ended: nothing to join yet
        ends_in_newline = data.endswith(b"\n")
        buf = b"".join(pending)
        cut = last_boundary(buf)              # what follows may still grow
        if cut:
            yield head + vocab.encode(buf[:cut], mode, alpha, key, offset=done)
            head = []
            done += cut
            buf = buf[cut:]
        pending = [buf] if buf else []
    tail = [EOS_ID] if eos else []
    if pending or head or tail:
        yield head + vocab.encode(b"".join(pending), mode, alpha, key, offset=done) + tail


class IncrementalDecoder:
    """Turns ids into text as they arrive, never splitting a UTF-8 character: bytes of an
    incomplete character wait for the next call (for generation-time detokenization).

    `decode_bytes` turns ids into bytes (``Tokenizer.decoder()`` passes its own).

    >>> dec = IncrementalDecoder(lambda ids: bytes(i - 3 for i in ids))
    >>> [dec.decode([i + 3]) for i in "é!".encode()]
    ['', 'é', '!']
    >>> dec.flush()
    ''
    """

    def __init__(self, decode_bytes: Callable[[Iterable[int]], bytes], *, errors: str = "replace"):
        self._decode_bytes = decode_bytes
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors=errors)

    def decode(self, ids: Iterable[int]) -> str:
        """The text completed by `ids` (possibly empty)."""
        return self._utf8.decode(self._decode_bytes(ids))

    def flush(self) -> str:
        """The end of the text: bytes still waiting decode (with `errors`) and the state resets."""
        text = self._utf8.decode(b"", final=True)
        self._utf8.reset()
        return text
