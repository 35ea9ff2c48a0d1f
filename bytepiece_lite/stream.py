"""Streaming: encode a text that arrives in parts, and decode ids as they are generated.

Both are reached from a Tokenizer: ``tok.encode_stream(parts)`` and ``tok.decoder()``.
"""
from __future__ import annotations

import codecs
import io
from typing import TYPE_CHECKING, Iterable, Iterator, Union

from .normalize import nfc

if TYPE_CHECKING:  # pragma: no cover
    from .tokenizer import Tokenizer

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


def encode_blocks(vocab, source, mode: int, alpha: float, key: int) -> Iterator[list[int]]:
    """The generator behind ``Tokenizer.encode_stream`` (arguments already checked): ids of
    the concatenation of `source`'s parts, a block of whole chunks at a time.  Draws are
    keyed by absolute position, so the blocks joined equal the ids of the whole text.
    Memory is bounded by the longest chunk (line), not by the stream."""
    pending: list[bytes] = []
    ends_in_newline = False
    done = 0                                  # bytes of the stream already encoded
    for data in _text_bytes(_parts(source)):
        if not data:
            continue
        pending.append(data)
        if not ends_in_newline and b"\n" not in data:
            continue                          # no chunk can have ended: nothing to join yet
        ends_in_newline = data.endswith(b"\n")
        buf = b"".join(pending)
        # A chunk ends after a run of newlines followed by another byte: encode up to the
        # last such point; what follows may still grow.
        cut = buf.rfind(b"\n", 0, len(buf.rstrip(b"\n"))) + 1
        if cut:
            yield vocab.encode(buf[:cut], mode, alpha, key, offset=done)
            done += cut
            buf = buf[cut:]
        pending = [buf] if buf else []
    if pending:
        yield vocab.encode(b"".join(pending), mode, alpha, key, offset=done)


class IncrementalDecoder:
    """Turns ids into text as they arrive, never splitting a UTF-8 character: bytes of an
    incomplete character wait for the next call (for generation-time detokenization).

    >>> from bytepiece_lite import Tokenizer
    >>> tok = Tokenizer({bytes([b]): 1 for b in range(256)})
    >>> dec = tok.decoder()
    >>> ids = tok.encode("é!")                     # three single-byte pieces
    >>> [dec.decode([i]) for i in ids]
    ['', 'é', '!']
    >>> dec.flush()
    ''
    """

    def __init__(self, tok: "Tokenizer", *, errors: str = "replace"):
        self._tok = tok
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors=errors)

    def decode(self, ids: Iterable[int]) -> str:
        """The text completed by `ids` (possibly empty)."""
        return self._utf8.decode(self._tok.decode_bytes(ids))

    def flush(self) -> str:
        """The end of the text: bytes still waiting decode (with `errors`) and the state resets."""
        text = self._utf8.decode(b"", final=True)
        self._utf8.reset()
        return text
