"""Files, safely: bounded reads of regular files only, atomic writes, and the errors both
raise (ModelError, with the OSError variants), shared by model loading and corpus output."""
from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from typing import BinaryIO, Iterator

__all__ = ["MAX_MODEL_BYTES", "ModelError", "atomic_output", "read_file_bounded", "write_atomic"]

#: A model file (raw JSON or zip), and a zip's member unpacked, may not be larger than this:
#: a guard against zip bombs and against reading /dev/zero-like files until memory runs out.
MAX_MODEL_BYTES = 1 << 30


class ModelError(ValueError):
    """A model file or piece table is malformed; the message names the source and the problem."""


def fail(source: str, problem: str) -> ModelError:
    return ModelError(f"{source}: {problem}")



#
# The rule for errors (README, "Errors"): anything wrong with a model path or with what it
# holds raises ModelError naming the path.  When the operating system refused (no such file,
# no permission, an I/O error, a directory), the exception is at once a ModelError and the
# OSError subclass that open() would have raised (FileNotFoundError, PermissionError,
# IsADirectoryError, ...), with .errno/.strerror/.filename of the original and chained from
# it: `except ModelError`, `except OSError` and `except FileNotFoundError` all keep working.


class _ModelOSErrorMixin:
    """str() is ``<path>: cannot read the model file: <strerror>`` (OSError's own str() would
    start with ``[Errno N]``)."""

    def __str__(self) -> str:
        return f"{self.filename}: cannot read the model file: {self.strerror}"


def _model_os_error_classes() -> dict[type, type]:
    # One class per builtin OSError subclass, defined here at import time so that pickle finds
    # them by name (an error raised in a worker process travels back to the parent).
    classes = {}
    for base in (OSError, FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError,
                 FileExistsError, InterruptedError, BlockingIOError, TimeoutError, ConnectionError):
        name = "ModelOSError" if base is OSError else f"Model{base.__name__}"
        cls = type(name, (_ModelOSErrorMixin, base, ModelError),
                   {"__module__": __name__, "__qualname__": name,
                    "__doc__": f"A ModelError that is also a {base.__name__} (see load)."})
        globals()[name] = cls
        classes[base] = cls
    return classes


_OS_ERRORS = _model_os_error_classes()
ModelOSError: type = _OS_ERRORS[OSError]


def _os_error(path: str, exc: OSError) -> OSError:
    """`exc` (an OSError about `path`) as a ModelError of the matching OSError subclass."""
    base = next(c for c in type(exc).__mro__ if c in _OS_ERRORS)
    err = _OS_ERRORS[base](exc.errno, exc.strerror or str(exc), path)
    err.__cause__ = exc
    return err


_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def _check_regular(path: str, st: os.stat_result) -> None:
    if stat.S_ISREG(st.st_mode):
        if st.st_size > MAX_MODEL_BYTES:
            raise fail(path, f"the file has {st.st_size} bytes, more than the {MAX_MODEL_BYTES} allowed")
        return
    if stat.S_ISDIR(st.st_mode):
        raise _os_error(path, IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path))
    kind = next((what for test, what in _KINDS if test(st.st_mode)), "not a regular file")
    raise fail(path, f"not a regular file ({kind}); a model must be a .model/.json/.zip file")


def read_file_bounded(path: str, limit: int | None = None) -> bytes:
    """The bytes of the regular file `path`, at most `limit` (default MAX_MODEL_BYTES) of them.

    Refuses without blocking or reading what is not a regular file (a FIFO would block open()
    forever, /dev/zero would be read until memory runs out): os.stat first, then the file is
    opened with O_NONBLOCK (opening a FIFO so returns at once) and the opened descriptor is
    checked again with fstat, which closes the race of a path replaced in between.  The read is
    bounded too, for files whose size the OS does not report (those of /proc)."""
    limit = MAX_MODEL_BYTES if limit is None else limit
    try:
        _check_regular(path, os.stat(path))
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
                     | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        if isinstance(exc, ModelError):
            raise
        raise _os_error(path, exc) from exc
    with open(fd, "rb", closefd=True) as f:
        try:
            st = os.fstat(fd)
            _check_regular(path, st)
            chunks, total, want = [], 0, min(st.st_size, limit) + 1
            while True:
                chunk = f.read(want)
                if not chunk:
                    break
                chunks.append(chunk)
                total += len(chunk)
                if total > limit:
                    raise fail(path, f"the file has more than the {limit} bytes allowed")
                want = min(1 << 24, limit + 1 - total)
        except OSError as exc:
            if isinstance(exc, ModelError):
                raise
            raise _os_error(path, exc) from exc
    return b"".join(chunks)     # one chunk (the usual case) is returned as is, not copied


class _Output:
    """The temporary file of atomic_output: an OSError of a write, seek or flush names the
    output path the caller gave, not the hidden temporary file nobody asked for."""

    def __init__(self, f: BinaryIO, path: str):
        self._f, self._path = f, path

    def __getattr__(self, name: str):
        attr = getattr(self._f, name)
        if name in ("write", "writelines", "seek", "flush", "truncate", "tell"):
            def call(*args, **kwargs):
                try:
                    return attr(*args, **kwargs)
                except OSError as exc:
                    raise _renamed(exc, self._path) from exc
            return call
        return attr


def _renamed(exc: OSError, path: str) -> OSError:
    """`exc` as the same OSError subclass naming `path` (and no temporary file)."""
    return OSError(exc.errno, exc.strerror or str(exc), path) if exc.errno else OSError(f"{path}: {exc}")


@contextlib.contextmanager
def atomic_output(path: str) -> Iterator[BinaryIO]:
    """A binary file to write `path` through: readers see the old file or the whole new one,
    never a part.  It is a temporary file in the same folder, renamed over `path` when the
    block ends without an exception and removed otherwise.  An OSError about the output
    (creating, writing, syncing or renaming it) names `path`."""
    folder, name = os.path.split(os.path.abspath(path))
    # Not tempfile.mkstemp: its files are 0600, and a saved model should get the usual
    # permissions (0666 less the umask), like any file the user writes.
    tmp = os.path.join(folder, f".{name}.{os.getpid()}.{secrets.token_hex(6)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as exc:
        raise _renamed(exc, path) from exc
    try:
        with os.fdopen(fd, "wb") as f:
            yield _Output(f, path)  # type: ignore[misc]
            try:
                f.flush()
                os.fsync(f.fileno())
            except OSError as exc:
                raise _renamed(exc, path) from exc
        try:
            os.replace(tmp, path)
        except OSError as exc:
            raise _renamed(exc, path) from exc
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
