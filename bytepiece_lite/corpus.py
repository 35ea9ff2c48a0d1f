"""Encoding whole corpora to disk: ``bytepiece-lite encode --input FILE... --output OUT``.

Output format
-------------
``Tokenizer.encode_files`` (and the command line) run this.  ``OUT.npy`` is a one-dimensional numpy array (``numpy.load(path, mmap_mode="r")`` reads it
without loading it); ``OUT.bin`` is the same ids as raw little-endian integers with no
header.  Either way a sidecar ``OUT.json`` says ``dtype`` (``uint16`` when every id fits,
i.e. ``vocab_size <= 65536``, else ``uint32``), the number of ``tokens``, ``vocab_size``, and
``documents``: one ``[path, first_token, end_token]`` per input file.  The ids of file ``k``
are ``tok.encode_batch(files, alpha, seed=seed, add_bos=..., add_eos=...)[k]``: each file is
one document (BOS/EOS go around files), deterministic output equals ``tok.encode(file_text)``,
and seeded output does not depend on ``--threads``.

Memory stays bounded whatever the corpus size: files are read in blocks cut at chunk
boundaries (after a run of newlines), each block is encoded on the thread pool and its ids
are appended to a temporary file beside the output, which is renamed into place (with the
sidecar) only when everything succeeded.
"""
from __future__ import annotations

import json
import logging
import os
import time
from typing import BinaryIO, Callable, Iterator, Sequence

import numpy as np

from . import _threads
from ._chunks import last_boundary, split
from ._contracts import BOS_ID, EOS_ID
from ._progress import Progress
from ._files import atomic_output, write_atomic

__all__ = ["encode_files"]

log = logging.getLogger(__name__)

_BLOCK = 8 << 20            # bytes read per step
_NPY_HEADER = 128           # reserved, so the header can be written once the length is known


def _blocks(f: BinaryIO) -> Iterator[tuple[int, bytes]]:
    """(position, bytes) blocks of a binary file, each ending at a chunk boundary (after a run
    of newlines that something follows) except the last."""
    pos = 0
    carry = b""
    while True:
        data = f.read(_BLOCK)
        if not data:
            break
        buf = carry + data
        cut = last_boundary(buf)
        if cut:
            yield pos, buf[:cut]
            pos += cut
            buf = buf[cut:]
        carry = buf
    if carry:
        yield pos, carry


def _write(out: BinaryIO, ids: np.ndarray) -> int:
    out.write(ids.tobytes())
    return int(ids.size)


def _npy_header(dtype: np.dtype, count: int) -> bytes:
    """A version 1.0 .npy header for a 1-d array, padded to exactly _NPY_HEADER bytes."""
    meta = repr({"descr": dtype.str, "fortran_order": False, "shape": (count,)}).encode("latin1")
    pad = _NPY_HEADER - 10 - len(meta) - 1
    return b"\x93NUMPY\x01\x00" + (_NPY_HEADER - 10).to_bytes(2, "little") + meta + b" " * pad + b"\n"


def encode_files(encode_parts: Callable[[list[bytes], np.ndarray, int, int, int], np.ndarray],
                 vocab_size: int, inputs: Sequence[str], output: str, *, settings: dict,
                 num_threads: int | None = None, add_bos: bool = False, add_eos: bool = False,
                 progress: bool = True) -> dict:
    """Encode the files `inputs` into `output` (``.npy`` or ``.bin``) plus ``output.json``;
    returns the sidecar's content.  ``encode_parts(parts, starts, k, threads, min_bytes)``
    gives the ids of consecutive parts of file k that start at `starts` in it (the Tokenizer
    passes its own, with the sampling settings recorded in `settings`); ids run below
    `vocab_size`.

    >>> import tempfile, os
    >>> from bytepiece_lite import Tokenizer
    >>> tok = Tokenizer({bytes([b]): 1 for b in range(256)} | {b"ab": 5})
    >>> d = tempfile.mkdtemp(); src = os.path.join(d, "a.txt")
    >>> _ = open(src, "w").write("abc\\n")
    >>> tok.encode_files([src], os.path.join(d, "ids.npy"), add_eos=True, progress=False)["tokens"]
    4
    """
    output = os.fspath(output)
    fmt = os.path.splitext(output)[1]
    if fmt not in (".npy", ".bin"):
        raise ValueError(f"output must end in .npy or .bin, not {output!r}")
    for path in inputs:
        if not os.path.isfile(path):
            raise FileNotFoundError(f"input file {path!r} does not exist")
    if not os.path.isdir(os.path.dirname(os.path.abspath(output))):
        raise FileNotFoundError(f"the folder of output {output!r} does not exist")
    dtype = np.dtype(np.uint16 if vocab_size <= 1 << 16 else np.uint32).newbyteorder("<")
    total_bytes = sum(os.path.getsize(p) for p in inputs)
    threads = _threads.count(num_threads, 1 << 30)
    min_bytes = _threads.MIN_BYTES_PER_THREAD if num_threads is None else 0
    reporter = Progress(progress, log)
    bar = reporter.bar("encode", total_bytes, "B")
    start = time.perf_counter()
    documents = []
    tokens = 0
    sidecar = output + ".json"
    wrote_sidecar = False
    try:
        with atomic_output(output) as out:
            if fmt == ".npy":
                out.write(b"\0" * _NPY_HEADER)
            for k, path in enumerate(inputs):
                first = tokens
                if add_bos:
                    tokens += _write(out, np.array([BOS_ID], dtype))
                with open(path, "rb") as f:
                    for pos, block in _blocks(f):
                        texts, starts = split(block, 4 * threads)
                        ids = encode_parts(texts, np.array(starts, dtype=np.int64) + pos, k,
                                           threads, min_bytes)
                        tokens += _write(out, ids.astype(dtype))
                        bar.update(len(block))
                if add_eos:
                    tokens += _write(out, np.array([EOS_ID], dtype))
                documents.append([path, first, tokens])
            if fmt == ".npy":
                out.seek(0)
                out.write(_npy_header(dtype, tokens))
            bar.close()
            info = {"format": fmt[1:], "dtype": dtype.name, "tokens": tokens, "vocab_size": vocab_size,
                    **settings, "documents": documents}
            # the sidecar first: a reader never finds ids without their description
            write_atomic(sidecar, json.dumps(info, indent=1, ensure_ascii=False).encode() + b"\n")
            wrote_sidecar = True
    except BaseException:
        # the ids were not renamed into place: their description must not stay either
        if wrote_sidecar:
            os.unlink(sidecar)
        raise
    reporter.done(f"encoded {total_bytes / 1e6:.1f} MB into {tokens} tokens", start)
    return info
