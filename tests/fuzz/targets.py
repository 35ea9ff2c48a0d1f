"""Fuzz targets: one function per target, taking the fuzzer's bytes.

A target returns normally for every input (a refused input is fine when it is refused with
the documented exception) and raises anything else, an AssertionError when an oracle
disagrees.  They need nothing but the package: ``tests/fuzz/run.py`` drives them with atheris
(or a plain mutation loop), ``tests/test_fuzz_replay.py`` runs each on every file of
``tests/fuzz/corpus/<target>/`` (the seeds and every crash ever found).

Oracles:

- model loading: only ``ModelError`` may come out, and a model that loads saves and loads
  back to the same pieces;
- the two JSON readers (the compiled scanner and the json module): whenever the scanner
  accepts a file, the json module gives the same entries or both are refused by the checks
  after them;
- segmentation: ``Tokenizer(counts, backend="pyahocorasick")`` (plain Python) is the oracle of
  the compiled core: the same ids deterministically and, seeded, with both samplers; decoding
  gives the input back; a batch equals its items;
- decode: arbitrary ids decode to the join of their pieces or raise ValueError exactly when one
  is out of range; the incremental decoder equals decode;
- streaming and offsets: ``encode_stream`` over any split equals ``encode`` of the whole; the
  offsets are the spans of the pieces.
"""
from __future__ import annotations

import io
import json
import unicodedata
import zipfile

from bytepiece_lite import ModelError, Tokenizer
from bytepiece_lite import model as model_io

__all__ = ["TARGETS"]


class Data:
    """The fuzzer's bytes, consumed from the front (a minimal FuzzedDataProvider)."""

    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def byte(self) -> int:
        if self.pos >= len(self.data):
            return 0
        self.pos += 1
        return self.data[self.pos - 1]

    def int(self, nbytes: int) -> int:
        return int.from_bytes(bytes(self.byte() for _ in range(nbytes)), "little")

    def take(self, n: int) -> bytes:
        out = self.data[self.pos:self.pos + n]
        self.pos += len(out)
        return out

    def rest(self) -> bytes:
        return self.take(len(self.data))


# ------------------------------------------------------------------ small vocabularies

# A small alphabet makes long matches and ties frequent (as tests/strategies.py).
ALPHABET = b"ab\n\xe4\xb8 "
_CACHE: dict = {}


def _vocab(d: Data) -> dict[bytes, int]:
    byte_count = 1 + (d.byte() & 1)
    counts = {bytes([b]): byte_count for b in range(256)}
    for _ in range(d.byte() % 14):
        length = 2 + d.byte() % 6
        piece = bytes(ALPHABET[d.byte() % len(ALPHABET)] for _ in range(length))
        counts[piece] = 1 + d.byte() % 50
    return counts


def _tokenizers(counts: dict[bytes, int]) -> tuple[Tokenizer, Tokenizer]:
    key = tuple(sorted(counts.items()))
    pair = _CACHE.get(key)
    if pair is None:
        if len(_CACHE) > 256:
            _CACHE.clear()
        pair = _CACHE[key] = (Tokenizer(counts), Tokenizer(counts, backend="pyahocorasick"))
    return pair


def _text(d: Data, limit: int = 80) -> bytes:
    """Bytes over ALPHABET, with an arbitrary byte now and then (invalid UTF-8 included)."""
    out = bytearray()
    for c in d.take(limit):
        out.append(c if c >= 0xF0 else ALPHABET[c % len(ALPHABET)])
    return bytes(out)


def _sampling(d: Data) -> tuple[float | None, str, int]:
    alphas = (None, 0.0, 0.05, 0.1, 0.5, 1.0, 3.0, 1e-9)
    return alphas[d.byte() % len(alphas)], ("viterbi", "exact")[d.byte() & 1], d.int(8)


# ------------------------------------------------------------------ model files

def _check_model_result(data: bytes, source: str) -> None:
    try:
        m = model_io.parse(model_io.unpack(data, source), source)
    except ModelError as exc:
        assert str(exc).startswith(f"{source}: "), str(exc)
        return
    again = model_io.parse(model_io.to_json(m), "saved")
    assert again.pieces == m.pieces and again.counts.tolist() == m.counts.tolist()


def _template(d: Data) -> bytes:
    """A valid small model file's JSON, indented as upstream writes it or compact."""
    counts = _vocab(d)
    style = d.byte() % 3
    key = (tuple(sorted(counts.items())), style)
    text = _TEMPLATES.get(key)
    if text is None:
        text = model_io.to_json(model_io.from_counts(counts))
        if style:
            text = json.dumps(json.loads(text), separators=(",", ":"), ensure_ascii=style == 2).encode()
        if len(_TEMPLATES) > 256:
            _TEMPLATES.clear()
        _TEMPLATES[key] = text
    return text


_TEMPLATES: dict = {}


def _edit(d: Data, text: bytes) -> bytes:
    """`text` with a few edits the fuzzer chooses: overwrite, insert or delete at a position."""
    buf = bytearray(text)
    for _ in range(d.byte() % 6):
        op, pos, val = d.byte() % 4, d.int(3) % (len(buf) + 1), d.byte()
        if op == 0 and pos < len(buf):
            buf[pos] = val
        elif op == 1:
            buf[pos:pos] = d.take(1 + val % 8)
        elif op == 2:
            del buf[pos:pos + 1 + val % 16]
        else:
            tokens = (b"[", b"]", b"{", b"}", b'"', b",", b":", b"\\", b"\\u00", b"-", b"0",
                      b"1e5", b"9" * 20, b"\xff", b"\xed\xa0\x80", b"\x00", b" ")
            buf[pos:pos] = tokens[val % len(tokens)]
    return bytes(buf)


def model_bytes(data: bytes) -> None:
    """Any bytes as a model file (raw JSON or zip)."""
    _check_model_result(data, "fuzz.model")


def model_json(data: bytes) -> None:
    """A valid model's JSON with edits: reaches the checks after parsing."""
    d = Data(data)
    _check_model_result(_edit(d, _template(d)), "fuzz.model")


def model_zip(data: bytes) -> None:
    """A valid zipped model (stored, deflate, bzip2 or lzma) with edits to the archive bytes."""
    d = Data(data)
    methods = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA)
    method = methods[d.byte() % 4]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=method) as zf:
        for k in range(1 + (d.byte() % 8 == 0)):
            zf.writestr(f"m{k}.model", _template(d))
    _check_model_result(_edit(d, buf.getvalue()), "fuzz.zip")


def json_readers(data: bytes) -> None:
    """The compiled scanner against the json module on the same bytes."""
    fast = model_io._fast_reader()
    d = Data(data)
    text = _edit(d, _template(d)) if d.byte() & 1 else d.rest()
    if fast is None:     # the extension is not built: nothing to compare
        return
    parse_model_json, fast_parse_error = fast
    try:
        entries = parse_model_json(text)
    except fast_parse_error:
        return          # outside the scanner's subset: the json module decides alone
    pieces, ids, counts = entries
    assert all(type(p) is bytes for p in pieces) and len(pieces) == len(ids) == len(counts)
    try:
        slow = model_io._parse_with_json(text, "x")
    except ModelError as exc:
        # the json module may refuse only what the checks after parsing refuse anyway
        try:
            model_io._assemble(pieces, ids, counts, "x")
        except ModelError:
            return
        raise AssertionError(f"the scanner accepts what the json module refuses: {exc}") from None
    assert slow == (pieces, ids, counts), "the two readers read different entries"


# ------------------------------------------------------------------ segmentation

def tokenize(data: bytes) -> None:
    """The compiled core against the pure-Python oracle, deterministic and both samplers."""
    d = Data(data)
    native, oracle = _tokenizers(_vocab(d))
    alpha, sampler, seed = _sampling(d)
    as_str = d.byte() & 1
    text = _text(d)
    if as_str:
        text = text.decode("utf-8", errors="ignore")
    ids = native.encode(text, alpha, sampler=sampler, seed=seed)
    assert ids == oracle.encode(text, alpha, sampler=sampler, seed=seed), "native != pyahocorasick"
    assert native.tokenize(text, alpha, sampler=sampler, seed=seed) == [native.id_to_piece(i) for i in ids]
    whole = unicodedata.normalize("NFC", text).encode() if as_str else text
    assert native.decode_bytes(ids) == whole
    other = _text(d, 30)
    batch = native.encode_batch([text, other], alpha, sampler=sampler, seed=seed, num_threads=2)
    assert batch[0] == native.encode_batch([text], alpha, sampler=sampler, seed=seed)[0]
    assert batch[1] == oracle.encode_batch([text, other], alpha, sampler=sampler, seed=seed)[1]
    flat, offsets = native.encode_batch_flat([text, other], alpha, sampler=sampler, seed=seed)
    assert [flat[offsets[k]:offsets[k + 1]].tolist() for k in range(2)] == batch


def decode(data: bytes) -> None:
    """Arbitrary ids: decoded, or refused with ValueError when one is out of range."""
    d = Data(data)
    native, _ = _tokenizers(_vocab(d))
    n = native.vocab_size
    raw = d.rest()
    ids = [int.from_bytes(raw[i:i + 2], "little") % (n + 8) - (raw[i] == 0xFF)
           for i in range(0, len(raw) - 1, 2)]
    bad = [i for i in ids if not 0 <= i < n]
    try:
        out = native.decode_bytes(ids)
    except ValueError as exc:
        assert bad and str(bad[0]) in str(exc), str(exc)
        return
    assert not bad, f"ids {bad} outside [0, {n}) were accepted"
    assert out == b"".join(native.id_to_piece(i) if i > 2 else b"" for i in ids)
    assert native.decode(ids) == out.decode("utf-8", errors="replace")
    dec = native.decoder()
    step = 1 + (raw[0] % 5 if raw else 0)
    text = "".join(dec.decode(ids[k:k + step]) for k in range(0, len(ids), step)) + dec.flush()
    assert text == out.decode("utf-8", errors="replace")


def stream(data: bytes) -> None:
    """encode_stream over parts cut anywhere equals encode of the whole, sampling included."""
    d = Data(data)
    native, _ = _tokenizers(_vocab(d))
    alpha, sampler, seed = _sampling(d)
    as_str = d.byte() & 1
    cuts = sorted(d.byte() for _ in range(d.byte() % 6))
    text = _text(d)
    if as_str:
        text = text.decode("utf-8", errors="ignore")
    parts = [text[a:b] for a, b in zip([0] + cuts, cuts + [len(text)]) if a <= b]
    expected = native.encode(text, alpha, sampler=sampler, seed=seed)
    got = [i for block in native.encode_stream(parts, alpha, sampler=sampler, seed=seed) for i in block]
    assert got == expected, "encode_stream(parts) != encode(whole)"
    source = io.StringIO(text) if as_str else io.BytesIO(text)
    got = [i for block in native.encode_stream(source, alpha, sampler=sampler, seed=seed) for i in block]
    assert got == expected, "encode_stream(file) != encode(whole)"


def offsets(data: bytes) -> None:
    """encode_with_offsets: the ids of encode, and spans that tile the input."""
    d = Data(data)
    native, _ = _tokenizers(_vocab(d))
    alpha, sampler, seed = _sampling(d)
    raw = _text(d)
    text = raw.decode("utf-8", errors="ignore") if d.byte() & 1 else raw
    enc = native.encode_with_offsets(text, alpha, sampler=sampler, seed=seed)
    ids = enc.ids.tolist()
    assert ids == native.encode(text, alpha, sampler=sampler, seed=seed)
    data_bytes = unicodedata.normalize("NFC", text).encode() if isinstance(text, str) else text
    pos = 0
    for (a, b), i in zip(enc.byte_spans.tolist(), ids):
        assert a == pos and data_bytes[a:b] == native.id_to_piece(i)
        pos = b
    assert pos == len(data_bytes)
    if isinstance(text, str):
        nfc = unicodedata.normalize("NFC", text)
        starts = [k for k in range(len(data_bytes)) if data_bytes[k] & 0xC0 != 0x80]
        for (a, b), (ca, cb) in zip(enc.byte_spans.tolist(), enc.char_spans.tolist()):
            # the characters a token touches: from the one holding byte a to the one holding b-1
            first = max(k for k, s in enumerate(starts) if s <= a)
            last = max(k for k, s in enumerate(starts) if s <= b - 1)
            assert (ca, cb) == (first, last + 1), ((a, b), (ca, cb))
            assert 0 <= ca < cb <= len(nfc)
    else:
        assert enc.char_spans is None


TARGETS = {f.__name__: f for f in (model_bytes, model_json, model_zip, json_readers, tokenize,
                                   decode, stream, offsets)}


def seeds() -> dict[str, list[bytes]]:
    """A few starting inputs per target (written to tests/fuzz/corpus by run.py --seed)."""
    good = model_io.to_json(model_io.from_counts({bytes([b]): 1 for b in range(256)} | {b"ab": 5}))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("m.model", good)
    generic = [b"", b"\x00" * 16, bytes(range(256)), b"\x01\x05\x02ab\x03\x01" + b"ab\nab ba\xe4\xb8" * 4,
               b"\xff" * 64]
    return {
        "model_bytes": [good, buf.getvalue(), b"{}", b'{"YWI=": [3, "ab", 1]}', b"PK\x05\x06" + b"\0" * 18],
        "model_json": generic,
        "model_zip": generic,
        # (b"\x00" + bytes: the bytes as they are; invalid UTF-8 in a text field, duplicate keys)
        "json_readers": generic + [b"\x00" + good, b"\x00" + good.replace(b'"ab"', b'"a\xffb"'),
                                   b'\x00{"QQ==":[3,"A",1],"QQ==":[4,"A",1]}'],
        "tokenize": generic,
        "decode": generic,
        "stream": generic,
        "offsets": generic,
    }
