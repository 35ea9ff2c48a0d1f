"""Model files: upstream BytePiece's JSON format (and its .zip packaging), both ways.

A model file is a JSON object ``{base64(piece): [id, piece.decode(errors="ignore"), count]}``
with ids 3, 4, ... (0-2 are <pad>, <bos>, <eos>).  Loading validates everything and raises
:class:`ModelError` naming the file and the first problem; saving is atomic.
"""
from __future__ import annotations

import base64
import contextlib
import binascii
import io
import json
import os
import secrets
import zipfile
from typing import Any, BinaryIO, Iterator, Mapping

import numpy as np

__all__ = ["ModelError", "Model", "load", "save", "from_counts"]

#: Ids below this are the special tokens <pad>, <bos>, <eos>.
ID_OFFSET = 3
#: A zipped model may not unpack to more than this (a guard against zip bombs).
MAX_UNZIPPED = 1 << 30
_MAX_COUNT = (1 << 63) - 1


class ModelError(ValueError):
    """A model file or piece table is malformed; the message names the source and the problem."""


class Model:
    """A validated vocabulary: pieces in id order and their counts.

    >>> m = from_counts({bytes([b]): 1 for b in range(256)})
    >>> len(m.pieces), int(m.counts.sum())
    (256, 256)
    """

    __slots__ = ("pieces", "counts")

    def __init__(self, pieces: list[bytes], counts: np.ndarray, source: str = "model"):
        _validate(pieces, counts, source)
        self.pieces = pieces
        self.counts = counts

    def log_probs(self) -> np.ndarray:
        """ln c - ln Σc in float64, bit-identical to upstream's ``np.log(c) - np.log(total)``."""
        total = int(self.counts.sum(dtype=object))
        return np.log(self.counts.astype(np.float64)) - np.log(np.array([total], dtype=np.float64))[0]


def _fail(source: str, problem: str) -> ModelError:
    return ModelError(f"{source}: {problem}")


def _validate(pieces: list[bytes], counts: np.ndarray, source: str) -> None:
    if len(pieces) != len(counts):
        raise _fail(source, f"{len(pieces)} pieces but {len(counts)} counts")
    if len(pieces) == 0:
        raise _fail(source, "the model has no pieces")
    if set(map(type, pieces)) != {bytes} or not all(pieces):
        i = next(i for i, p in enumerate(pieces) if type(p) is not bytes or not p)
        raise _fail(source, f"piece number {i} is empty or not bytes: {pieces[i]!r}")
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

def read_model_bytes(path: str) -> bytes:
    """The JSON bytes of a model file, unzipping a .zip that holds exactly one member."""
    with open(path, "rb") as f:
        head = f.read(4)
        f.seek(0)
        if not head.startswith(b"PK"):  # a JSON text never starts so; an empty zip has no \x03\x04
            return f.read()
        try:
            with zipfile.ZipFile(f) as zf:
                members = [i for i in zf.infolist() if not i.is_dir()]
                if len(members) != 1:
                    raise _fail(path, f"a zipped model must hold exactly one file, this one holds {len(members)}")
                info = members[0]
                if info.file_size > MAX_UNZIPPED:
                    raise _fail(path, f"{info.filename} unpacks to {info.file_size} bytes, more than the {MAX_UNZIPPED} allowed")
                with zf.open(info) as member:
                    data = member.read(MAX_UNZIPPED + 1)
                if len(data) > MAX_UNZIPPED:
                    raise _fail(path, f"{info.filename} unpacks to more than {MAX_UNZIPPED} bytes")
                return data
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError, RuntimeError) as exc:
            raise _fail(path, f"not a readable zip file ({exc})") from None


def load(path: str | os.PathLike[str]) -> Model:
    """Load and validate an upstream model file (.model / .json, or a .zip holding one)."""
    path = os.fspath(path)
    data = read_model_bytes(path)
    try:
        from ._core import FastParseError, parse_model_json
    except ImportError:  # the extension is not built: the json module does all the work
        pieces, ids, counts = _parse_with_json(data, path)
    else:
        try:
            pieces, ids, counts = parse_model_json(data)
        except FastParseError:
            pieces, ids, counts = _parse_with_json(data, path)
    return _assemble(pieces, ids, counts, path)


def _parse_with_json(data: bytes, source: str) -> tuple[list[bytes], list[int], list[int]]:
    """Parse with the json module, checking the shape and types of every entry."""

    def no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result = dict(pairs)
        if len(result) != len(pairs):
            seen: set[str] = set()
            for k, _ in pairs:
                if k in seen:
                    raise _fail(source, f"duplicate key {k!r}")
                seen.add(k)
        return result

    try:
        obj = json.loads(data.decode("utf-8"), object_pairs_hook=no_duplicate_keys)
    except UnicodeDecodeError as exc:
        raise _fail(source, f"not UTF-8 text (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise _fail(source, f"invalid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise _fail(source, f"the top level must be a JSON object, not {type(obj).__name__}")
    pieces, ids, counts = [], [], []
    for key, value in obj.items():
        try:
            piece = base64.b64decode(key, validate=True)
        except (binascii.Error, ValueError):
            raise _fail(source, f"key {key!r} is not valid base64") from None
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


def _assemble(pieces: list[bytes], ids: list[int], counts: list[int], source: str) -> Model:
    """A Model from parsed entries in file order (ids and counts already checked to be int64)."""
    model = Model(pieces, np.array(counts, dtype=np.int64), source)
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
    model.pieces = [pieces[i] for i in order.tolist()]
    model.counts = model.counts[order]
    return model


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
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(os.path.basename(path)[:-4] + ".model", data)
        data = buf.getvalue()
    write_atomic(path, data)


@contextlib.contextmanager
def atomic_output(path: str) -> Iterator[BinaryIO]:
    """A binary file to write `path` through: readers see the old file or the whole new one,
    never a part.  It is a temporary file in the same folder, renamed over `path` when the
    block ends without an exception and removed otherwise."""
    folder, name = os.path.split(os.path.abspath(path))
    # Not tempfile.mkstemp: its files are 0600, and a saved model should get the usual
    # permissions (0666 less the umask), like any file the user writes.
    tmp = os.path.join(folder, f".{name}.{os.getpid()}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_atomic(path: str, data: bytes) -> None:
    """Write `data` to `path` atomically (see atomic_output)."""
    with atomic_output(path) as f:
        f.write(data)
