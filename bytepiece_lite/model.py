"""Model files: upstream BytePiece's JSON format (and its .zip packaging), both ways.

A model file is a JSON object ``{base64(piece): [id, piece.decode(errors="ignore"), count]}``
with ids 3, 4, ... (0-2 are <pad>, <bos>, <eos>).  Loading validates everything and raises
:class:`ModelError` naming the file and the first problem; saving is atomic.
"""
from __future__ import annotations

import base64
import binascii
import io
import json
import os
import zipfile
from typing import Any, Mapping, Sequence

import numpy as np

from ._contracts import ID_OFFSET, MAX_PIECE_LEN
from ._files import MAX_MODEL_BYTES, ModelError, read_file_bounded, write_atomic
from ._files import atomic_output
from ._files import fail as _fail
from ._special import check_tokens

__all__ = ["ModelError", "Model", "atomic_output", "from_counts", "load", "save"]

MAX_UNZIPPED = MAX_MODEL_BYTES      # the former name of the member limit
#: The longest piece the compiled core supports (lengths are 16-bit).
MAX_PIECE_BYTES = MAX_PIECE_LEN
_MAX_COUNT = (1 << 63) - 1


class Model:
    """A validated vocabulary: pieces in id order and their counts.

    >>> m = from_counts({bytes([b]): 1 for b in range(256)})
    >>> len(m.pieces), int(m.counts.sum())
    (256, 256)
    """

    __slots__ = ("pieces", "counts", "special")

    def __init__(self, pieces: list[bytes], counts: np.ndarray, source: str = "model",
                 special: Sequence[str | bytes] = ()):
        _validate(pieces, counts, source)
        self.pieces = pieces
        self.counts = counts
        try:
            #: The special tokens (UTF-8 bytes), whose ids follow the pieces'.
            self.special = check_tokens(special, frozenset(pieces))
        except ValueError as exc:
            raise _fail(source, str(exc)) from None

    def log_probs(self) -> np.ndarray:
        """ln c - ln Σc in float64, bit-identical to upstream's ``np.log(c) - np.log(total)``."""
        total = int(self.counts.sum(dtype=object))
        return np.log(self.counts.astype(np.float64)) - np.log(np.array([total], dtype=np.float64))[0]


def _validate(pieces: list[bytes], counts: np.ndarray, source: str) -> None:
    if len(pieces) != len(counts):
        raise _fail(source, f"{len(pieces)} pieces but {len(counts)} counts")
    if len(pieces) == 0:
        raise _fail(source, "the model has no pieces")
    if set(map(type, pieces)) != {bytes} or not all(pieces):
        i = next(i for i, p in enumerate(pieces) if type(p) is not bytes or not p)
        raise _fail(source, f"piece number {i} is empty or not bytes: {pieces[i]!r}")
    longest = len(max(pieces, key=len))    # (half the time of max(map(len, pieces)))
    if longest > MAX_PIECE_BYTES:
        i = next(i for i, p in enumerate(pieces) if len(p) == longest)
        raise _fail(source, f"piece number {i} is {longest} bytes long, more than the {MAX_PIECE_BYTES} "
                            f"allowed: {pieces[i][:20]!r}...")
    unique = set(pieces)
    if len(unique) != len(pieces):
        seen: set[bytes] = set()
        for i, p in enumerate(pieces):
            if p in seen:
                raise _fail(source, f"duplicate piece {p!r}")
            seen.add(p)
    bad = np.flatnonzero(counts <= 0)
    if bad.size:
        i = int(bad[0])
        raise _fail(source, f"piece {pieces[i]!r} has count {int(counts[i])}; counts must be positive")
    if int(counts.sum(dtype=object)) > _MAX_COUNT:
        raise _fail(source, "the counts add up to more than 2**63 - 1")
    missing = [b for b in range(256) if bytes((b,)) not in unique]
    if missing:
        shown = ", ".join(f"0x{b:02x}" for b in missing[:16])
        more = f" and {len(missing) - 16} more" if len(missing) > 16 else ""
        raise _fail(source, f"the model lacks the single bytes {shown}{more}; every byte must be a piece")


def from_counts(counts: Mapping[bytes, int], source: str = "pieces") -> Model:
    """A Model from a ``{piece: count}`` mapping; ids follow upstream's order (length, bytes)."""
    if not isinstance(counts, Mapping):
        raise TypeError(f"pieces must be a mapping of bytes to int, not {type(counts).__name__}")
    for p, c in counts.items():
        if type(p) is not bytes:
            raise TypeError(f"{source}: piece {p!r} is {type(p).__name__}, not bytes")
        if type(c) is bool or not isinstance(c, (int, np.integer)):
            raise TypeError(f"{source}: count of {p!r} is {c!r}, not an int")
        if not 0 < c <= _MAX_COUNT:
            raise _fail(source, f"count of {p!r} is {c}; counts must be in [1, 2**63)")
    pieces = sorted(counts, key=lambda p: (len(p), p))
    return Model(pieces, np.array([counts[p] for p in pieces], dtype=np.int64), source)


# ------------------------------------------------------------------------------ loading
def _read_zip_member(data: bytes, path: str) -> bytes:
    """The one member of the zip archive `data` (the bytes of the file `path`), unpacked.

    Every failure is a ModelError by construction: zipfile runs here on an in-memory copy of
    the file (io.BytesIO), so it performs no I/O of its own and depends on nothing but these
    bytes and our limits.  Whatever it raises (BadZipFile, zlib.error, OSError from a seek to a
    bogus offset, UnicodeDecodeError from a member name, IndexError, struct.error, EOFError,
    NotImplementedError, ... and whatever a future Python adds) can only be caused by the
    content of the file, which makes it a malformed model file: it becomes a ModelError naming
    the file with the original error's text.  MemoryError and KeyboardInterrupt (and other
    BaseExceptions) are not about the file and pass through unchanged, and so do our own
    ModelErrors raised in the block."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            members = [i for i in zf.infolist() if not i.is_dir()]
            if len(members) != 1:
                raise _fail(path, f"a zipped model must hold exactly one file, this one holds {len(members)}")
            info = members[0]
            if info.file_size > MAX_UNZIPPED:
                raise _fail(path, f"{info.filename} unpacks to {info.file_size} bytes, more than the {MAX_UNZIPPED} allowed")
            with zf.open(info) as member:
                out = member.read(MAX_UNZIPPED + 1)
            if len(out) > MAX_UNZIPPED:
                raise _fail(path, f"{info.filename} unpacks to more than {MAX_UNZIPPED} bytes")
            return out
    except (ModelError, MemoryError):
        raise
    except Exception as exc:
        raise _fail(path, f"not a readable zip file ({type(exc).__name__}: {exc})") from exc


def read_model_bytes(path: str) -> bytes:
    """The JSON bytes of a model file, unzipping a .zip that holds exactly one member."""
    return unpack(read_file_bounded(path), path)


def unpack(data: bytes, source: str) -> bytes:
    """The JSON bytes of the model file content `data`: itself, or a zip's one member."""
    if not data.startswith(b"PK"):  # a JSON text never starts so; an empty zip has no \x03\x04
        return data
    return _read_zip_member(data, source)


def load(path: str | os.PathLike[str]) -> Model:
    """Load and validate an upstream model file (.model / .json, or a .zip holding one)."""
    path = os.fspath(path)
    data = read_model_bytes(path)
    return parse(data, path)


def parse(data: bytes, source: str) -> Model:
    """A validated Model from the JSON bytes of a model file (see load)."""
    fast = _fast_reader()
    if fast is None:  # the extension is not built: the json module does all the work
        pieces, ids, counts = _parse_with_json(data, source)
    else:
        parse_model_json, FastParseError = fast
        try:
            pieces, ids, counts = parse_model_json(data)
        except FastParseError:
            pieces, ids, counts = _parse_with_json(data, source)
    return _assemble(pieces, ids, counts, source)


def _fast_reader():
    """(parse_model_json, FastParseError) of the compiled core, or None when it is not built.
    The scanner reads upstream's layout fast and raises FastParseError on anything else, which
    then goes to the json module (the authority on what a model file is)."""
    try:
        from ._core import FastParseError, parse_model_json
    except ImportError:
        return None
    return parse_model_json, FastParseError


def _parse_with_json(data: bytes, source: str) -> tuple[list[bytes], list[int], list[int]]:
    """Parse with the json module, checking the shape and types of every entry.

    The bytes inside JSON strings are not checked to be UTF-8 (decoding with surrogateescape),
    exactly as the fast scanner does not: the text field of an entry is never used (the piece
    is its base64 key), keys must be base64 (ASCII) anyway, and outside strings JSON allows
    ASCII only.  So both readers accept and refuse the same files (tests/fuzz checks it);
    checking the whole file's UTF-8 would cost 24 ms on a 12 MB model that loads in 155 ms."""

    def no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result = dict(pairs)
        if len(result) != len(pairs):
            seen: set[str] = set()
            for k, _ in pairs:
                if k in seen:
                    raise _fail(source, f"duplicate key {k!r}")
                seen.add(k)
        return result

    text = data.decode("utf-8", errors="surrogateescape")
    try:
        obj = json.loads(text, object_pairs_hook=no_duplicate_keys)
    except ModelError:
        raise
    except json.JSONDecodeError as exc:
        raise _fail(source, f"invalid JSON: {exc}{_utf8_note(data)}") from None
    except RecursionError:
        raise _fail(source, "invalid model: the JSON nests too deeply") from None
    except ValueError as exc:   # an integer of more digits than int() converts (4300)
        raise _fail(source, f"invalid JSON: {str(exc).split(';')[0]}") from None
    if not isinstance(obj, dict):
        raise _fail(source, f"the top level must be a JSON object, not {type(obj).__name__}")
    pieces, ids, counts = [], [], []
    for key, value in obj.items():
        try:
            piece = base64.b64decode(key, validate=True)
        except (binascii.Error, ValueError):
            raise _fail(source, f"key {key!r} is not valid base64{_utf8_note(key)}") from None
        if not (isinstance(value, list) and len(value) == 3 and isinstance(value[1], str)):
            raise _fail(source, f"the value of {key!r} must be [id, text, count], not {value!r}")
        for what, v in (("id", value[0]), ("count", value[2])):
            if type(v) is not int:
                raise _fail(source, f"the {what} of piece {piece!r} is {v!r}, not an integer")
            if not -_MAX_COUNT <= v <= _MAX_COUNT:
                raise _fail(source, f"the {what} of piece {piece!r} is out of range: {v}")
        pieces.append(piece)
        ids.append(value[0])
        counts.append(value[2])
    return pieces, ids, counts


def _utf8_note(data: bytes | str) -> str:
    """' (the file is not UTF-8 text: byte N)' when it is not, else ''."""
    if isinstance(data, str):
        return " (it is not UTF-8 text)" if any(0xDC80 <= ord(c) <= 0xDCFF for c in data) else ""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f" (the file is not UTF-8 text: byte {exc.start})"
    return ""


def _assemble(pieces: list[bytes], ids: list[int], counts: list[int], source: str) -> Model:
    """A Model from parsed entries in file order (ids and counts already checked to be int64).
    The entries of count 0 that end the id order are the special tokens."""
    if len(set(pieces)) != len(pieces):
        _validate(pieces, np.ones(len(pieces), np.int64), source)   # names the duplicate first
    id_arr = np.array(ids, dtype=np.int64)
    order = np.argsort(id_arr, kind="stable")
    sorted_ids = id_arr[order]
    expected = np.arange(ID_OFFSET, ID_OFFSET + len(ids), dtype=np.int64)
    if not np.array_equal(sorted_ids, expected):
        wrong = int(np.flatnonzero(sorted_ids != expected)[0])
        if wrong > 0 and sorted_ids[wrong] == sorted_ids[wrong - 1]:
            problem = f"id {int(sorted_ids[wrong])} is used twice"
        else:
            problem = (f"ids must run from {ID_OFFSET} to {ID_OFFSET + len(ids) - 1} without gaps; "
                       f"id {int(expected[wrong])} is missing")
        raise _fail(source, problem)
    sorted_counts = np.array(counts, dtype=np.int64)[order]
    positive = np.flatnonzero(sorted_counts != 0)
    n = int(positive[-1]) + 1 if positive.size else 0       # the pieces; then the specials
    order = order.tolist()
    return Model([pieces[i] for i in order[:n]], sorted_counts[:n], source,
                 [pieces[i] for i in order[n:]])


# ------------------------------------------------------------------------------- saving

def to_json(model: Model) -> bytes:
    """Upstream's file format, byte for byte what ``json.dump(..., indent=4, ensure_ascii=False)`` writes."""
    if not model.pieces:
        return b"{}"
    dumps = json.JSONEncoder(ensure_ascii=False).encode
    out = io.StringIO()
    out.write("{")
    sep = "\n"
    for i, (p, c) in enumerate(zip(model.pieces, model.counts.tolist())):
        key = base64.b64encode(p).decode("ascii")
        out.write(f'{sep}    "{key}": [\n        {i + ID_OFFSET},\n        '
                  f'{dumps(p.decode("utf-8", errors="ignore"))},\n        {c}\n    ]')
        sep = ",\n"
    for i, token in enumerate(model.special, start=len(model.pieces)):
        # a special token: count 0 (upstream reads it as a piece of log-probability -inf)
        key = base64.b64encode(token).decode("ascii")
        out.write(f'{sep}    "{key}": [\n        {i + ID_OFFSET},\n        '
                  f'{dumps(token.decode("utf-8", errors="ignore"))},\n        0\n    ]')
    out.write("\n}")
    return out.getvalue().encode("utf-8")


def save(model: Model, path: str | os.PathLike[str]) -> None:
    """Write `model` atomically (temporary file in the same folder, then rename).

    A path ending in ``.zip`` gets a zip holding one ``<name>.model``, as upstream publishes.
    """
    path = os.fspath(path)
    data = to_json(model)
    if path.endswith(".zip"):
        buf = io.BytesIO()
        # A fixed timestamp (zip's earliest) instead of the clock's, so the same model always
        # gives the same zip, byte for byte.
        member = zipfile.ZipInfo(os.path.basename(path)[:-4] + ".model", date_time=(1980, 1, 1, 0, 0, 0))
        member.external_attr = 0o644 << 16
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(member, data, compress_type=zipfile.ZIP_DEFLATED)
        data = buf.getvalue()
    write_atomic(path, data)


