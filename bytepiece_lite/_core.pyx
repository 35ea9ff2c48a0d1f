# The compiled core of bytepiece-lite: the vocabulary's byte trie and the Viterbi loop over
# its matches (deterministic decoding and both samplers), batches on a thread pool, the
# text helpers of the str path, a fast reader of upstream's model files and the trainer's
# kernels.  This file is the extension's entry: the parts live in files named for what they
# do, their types and inline helpers in .pxd interfaces, their code in .pxi files included
# here, so that the hot loop stays one compilation unit (the compiler inlines across the
# parts).  Compiler directives live in setup.py.  docs/semantics.md is the reference of what
# is computed.

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.list cimport PyList_New
from libc.math cimport INFINITY
from libc.stdint cimport int32_t, int64_t, uint8_t, uint64_t
from libc.stdlib cimport free, malloc, qsort
from libc.string cimport memset

from .contracts cimport (ID_OFFSET, MAX_PIECE_LEN, MODE_DETERMINISTIC, MODE_EXACT, MODE_VITERBI,
                         OUTPUT_ARRAYS, OUTPUT_IDS, OUTPUT_PIECES, BOS_ID, EOS_ID)
from .fastexp cimport exp2_256
from .rng cimport stream_key_of
from .samplers cimport Bucket
from .scratch cimport INTERRUPTED, Work, work_free, work_init
from .trie cimport Trie, trie_find, trie_free

import numpy as _np

from . import _contracts
from ._fastexp import EXP2_256

include "samplers.pxi"
include "viterbi.pxi"
include "trie_build.pxi"
include "text.pxi"
include "batch.pxi"
include "batch_texts.pxi"
include "results.pxi"
include "model_json.pxi"


def _check_contracts():
    """The C mirror of _contracts must agree with it (it is compiled in, the Python side is
    not): refuse to import rather than compute with another meaning."""
    mine = {"DETERMINISTIC": MODE_DETERMINISTIC, "VITERBI": MODE_VITERBI, "EXACT": MODE_EXACT,
            "ARRAYS": OUTPUT_ARRAYS, "IDS": OUTPUT_IDS, "PIECES": OUTPUT_PIECES}
    theirs = {m.name: int(m) for enum in (_contracts.Mode, _contracts.Output) for m in enum}
    limits = (BOS_ID, EOS_ID, ID_OFFSET, MAX_PIECE_LEN)
    if mine != theirs or limits != (_contracts.BOS_ID, _contracts.EOS_ID, _contracts.ID_OFFSET,
                                    _contracts.MAX_PIECE_LEN):
        raise ImportError("bytepiece_lite._core was built from other sources than this "
                          "bytepiece_lite package: reinstall it")
    for j in range(256):
        exp2_256[j] = EXP2_256[j]


_check_contracts()


def stream_key(uint64_t seed, uint64_t index):
    """The stream key of text number `index` of a call seeded with `seed`."""
    return stream_key_of(seed, index)


cdef class Vocab:
    """The compiled automaton of a vocabulary (private; the public surface is Tokenizer).

    Vocab(pieces, logp): `pieces` is a list of distinct non-empty bytes that includes all
    256 single bytes, `logp` their log-probabilities (finite, <= 0; float64, any buffer).
    Piece indices are positions in `pieces`.  model.Model validates a vocabulary for users;
    the checks here only keep the core's own invariants (what would make it crash).
    """
    cdef Trie t
    cdef readonly int num_pieces
    cdef readonly int max_len
    cdef tuple _pieces
    cdef tuple _ids

    def __cinit__(self):
        memset(&self.t, 0, sizeof(Trie))

    def __dealloc__(self):
        trie_free(&self.t)

    def __init__(self, list pieces not None, const double[::1] logp not None):
        cdef Py_ssize_t n = len(pieces), i
        cdef SortItem* items = NULL
        if logp.shape[0] != n:
            raise ValueError(f"{n} pieces but {logp.shape[0]} log-probabilities")
        if n >= 2**31 - 1024:
            raise ValueError("too many pieces")
        self._pieces = tuple(pieces)
        self._ids = tuple(range(ID_OFFSET, ID_OFFSET + n))
        self.num_pieces = <int>n
        items = <SortItem*>malloc((n + 1) * sizeof(SortItem))
        try:
            if items == NULL:
                raise MemoryError()
            self._sort_items(items, logp)
            trie_build(&self.t, items, n, logp)
        finally:
            free(items)
        self.t.max_len = self.max_len
        missing = [b for b in range(256) if self.find(bytes((b,))) < 0]
        if missing:
            raise ValueError("the vocabulary lacks the single bytes "
                             + ", ".join(f"0x{b:02x}" for b in missing[:16])
                             + (f" and {len(missing) - 16} more" if len(missing) > 16 else ""))

    cdef int _sort_items(self, SortItem* items, const double[::1] logp) except -1:
        """The pieces as sort items in bytewise order, checked for what the build needs."""
        cdef Py_ssize_t n = self.num_pieces, i
        cdef object p
        for i in range(n):
            p = self._pieces[i]
            if type(p) is not bytes:
                raise TypeError(f"piece {i} is {type(p).__name__}, not bytes")
            if len(p) == 0:
                raise ValueError(f"piece {i} is empty")
            if len(p) > MAX_PIECE_LEN:
                raise ValueError(f"piece {i} is {len(p)} bytes long; "
                                 f"at most {MAX_PIECE_LEN} are supported")
            if not (-INFINITY < logp[i] <= 0.0):
                raise ValueError(f"piece {i} has log-probability {logp[i]!r}, "
                                 "not a finite number <= 0")
            items[i].ptr = <const uint8_t*>PyBytes_AS_STRING(p)
            items[i].len = <int32_t>len(p)
            items[i].idx = <int32_t>i
            self.t.min_logp = min(self.t.min_logp, logp[i])
            self.max_len = max(self.max_len, items[i].len)
        qsort(items, n, sizeof(SortItem), compare_items)
        for i in range(1, n):
            if compare_items(&items[i - 1], &items[i]) == 0:
                raise ValueError(f"duplicate piece {self._pieces[items[i].idx]!r}")
        return 0

    def find(self, bytes piece not None):
        """Index of `piece` in the vocabulary, or -1."""
        return trie_find(&self.t, <const uint8_t*>PyBytes_AS_STRING(piece), len(piece))

    def tokenize(self, bytes data not None, int mode=MODE_DETERMINISTIC, double alpha=0.0,
                 uint64_t key=0, *, int64_t offset=0):
        """Segment `data` in `mode` (a _contracts.Mode) drawing from stream `key`; a list of
        the vocabulary's own bytes objects (no object is created per token).

        `offset`: where `data` starts in a longer text whose random draws it continues (a
        stream encoded block by block draws as the whole text would)."""
        return self._to_list(data, mode, alpha, key, offset, self._pieces)

    def encode(self, bytes data not None, int mode=MODE_DETERMINISTIC, double alpha=0.0,
               uint64_t key=0, *, int64_t offset=0):
        """Like tokenize, as token ids (piece index + ID_OFFSET)."""
        return self._to_list(data, mode, alpha, key, offset, self._ids)

    cdef list _to_list(self, bytes data, int mode, double alpha, uint64_t key, int64_t offset,
                       tuple table):
        cdef const uint8_t* p = <const uint8_t*>PyBytes_AS_STRING(data)
        cdef int64_t n = PyBytes_GET_SIZE(data)
        cdef bytes buckets = bucket_table(alpha) if mode == MODE_VITERBI else None
        cdef Work w
        cdef int rc
        cdef list result
        try:
            if work_init(&w, &self.t) != 0:
                raise MemoryError()
            if buckets is not None:
                w.buckets = <const Bucket*>PyBytes_AS_STRING(buckets)
            w.check_signals = True          # Ctrl-C stops a long call within milliseconds
            with nogil:
                rc = segment_text(&self.t, p, n, offset, mode, alpha, key, &w)
            if rc == INTERRUPTED:
                raise_pending()
            if rc != 0:
                raise MemoryError(f"out of memory segmenting {n} bytes")
            return _list_of(&w, table)
        finally:
            work_free(&w)

    def encode_batch(self, list texts not None, *, int mode, double alpha, uint64_t seed,
                     int num_threads=1, executor=None, int output=OUTPUT_ARRAYS,
                     bint bos=False, bint eos=False, const int64_t[::1] starts=None,
                     const uint64_t[::1] streams=None, prepare=None,
                     Py_ssize_t min_bytes_per_thread=0):
        """Segment every text of `texts` on `num_threads` threads, GIL released.

        A text is bytes, or a str already NFC-normalized (the threads encode it to UTF-8;
        a lone surrogate raises UnicodeEncodeError).  With `prepare`, any other text, and
        any str that the quick check (see text.pxi) cannot tell NFC, is replaced by
        prepare(text) first, which must return such a text.  With `min_bytes_per_thread`,
        fewer threads run when there are fewer bytes (code points of a str) per thread.

        Text k draws from stream_key(seed, streams[k]) (default: k), its draws keyed by
        positions from starts[k] (default: 0): parts of one text cut at chunk boundaries,
        given the text's stream and their positions in it, draw as the whole text would.
        The texts are split into contiguous blocks of about equal size that this thread and
        num_threads - 1 tasks submitted to `executor` take in turn; a text's result depends
        only on the text and its stream, so results never depend on the number of threads.

        `output` (a _contracts.Output): ARRAYS gives (ids, offsets) with the ids of text k in
        ids[offsets[k]:offsets[k + 1]] (uint32, int64 numpy arrays); IDS a list of id lists;
        PIECES a list of piece lists.  `bos`/`eos` add ids 1/2 around every text (not for
        PIECES).
        """
        return run_batch(&self.t, self._pieces, self._ids, texts, mode, alpha, seed,
                         num_threads, executor, output, bos, eos, starts, streams, prepare,
                         min_bytes_per_thread)

    def encode_parts(self, text not None, const int64_t[::1] cuts not None, *, int mode,
                     double alpha, uint64_t seed, uint64_t stream=0, int64_t offset=0,
                     int num_threads=1, executor=None, int output=OUTPUT_IDS, bint bos=False,
                     bint eos=False, prepare=None):
        """The result of one text (bytes, or a str encoded by the threads) segmented as the
        parts text[cuts[k]:cuts[k + 1]] (cut at chunk boundaries: cuts from 0 to len(text))
        on `num_threads` threads, as encode_batch does: one list of ids (IDS) or pieces
        (PIECES), or one uint32 array (ARRAYS), with `bos`/`eos` around the whole (not for
        PIECES).  With `prepare`, a str part that the quick check cannot tell NFC is replaced
        by prepare(part).  The text draws from stream_key(seed, stream), starting at `offset`
        in it, each part where the one before ends.

        >>> v.encode_parts(b"ab\\ncd", np.array([0, 3, 5]), mode=0, alpha=0.0,
        ...                seed=0) == v.encode(b"ab\\ncd")
        True
        """
        cdef Py_ssize_t k
        if type(text) is not str and type(text) is not bytes:
            raise TypeError(f"text is {type(text).__name__}, not bytes or str")
        if offset < 0:
            raise ValueError(f"offset must be >= 0, not {offset}")
        if cuts.shape[0] < 2 or cuts[0] != 0 or cuts[cuts.shape[0] - 1] != len(text):
            raise ValueError("cuts must run from 0 to len(text)")
        for k in range(cuts.shape[0] - 1):
            if cuts[k + 1] < cuts[k]:
                raise ValueError("cuts must not decrease")
        return run_batch(&self.t, self._pieces, self._ids, None, mode, alpha, seed,
                         num_threads, executor, output, bos, eos, None,
                         _np.full(cuts.shape[0] - 1, stream, dtype=_np.uint64), prepare, 0,
                         text, cuts, offset)


include "probes.pxi"
include "train_kernels.pxi"
