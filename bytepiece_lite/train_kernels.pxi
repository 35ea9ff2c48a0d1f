# The trainer's compiled kernels (included into _core.pyx): the Viterbi of the byte n-gram
# language model (docs/semantics.md, "Training", step 4) and the re-segmentation of pieces
# (step 5).  trainer.py holds the algorithm; these are only its per-byte inner loops, and
# _pytrain.py is their plain-Python twin for installations without the compiled core.

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.math cimport INFINITY
from libc.stdint cimport int64_t, uint8_t, uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memset

from .contracts cimport MODE_DETERMINISTIC
from .rng cimport mix64
from .scratch cimport Work, work_free, work_init

cdef enum:
    MAX_ORDER = 8          # an n-gram of up to 8 bytes packs into one uint64 key

ctypedef struct LogpSlot:
    uint64_t key
    double val             # +inf marks an empty slot (a log-probability never is)


cdef inline double _logp_get(const LogpSlot* table, uint64_t mask, uint64_t key) noexcept nogil:
    cdef uint64_t h = mix64(key) & mask
    while table[h].val != INFINITY:
        if table[h].key == key:
            return table[h].val
        h = (h + 1) & mask
    return -INFINITY


cdef class Bnlm:
    """The pruned n-gram model: table j (1..order) maps a j-byte n-gram, packed big-endian
    into a uint64, to ln P(last byte | the j-1 before it).

    Bnlm(order, ensure_unicode, keys, logps): keys[j-1] / logps[j-1] are table j's arrays.
    """
    cdef LogpSlot* tables[MAX_ORDER]
    cdef uint64_t masks[MAX_ORDER]
    cdef readonly int order
    cdef readonly bint ensure_unicode
    cdef tuple _arrays                 # what pickling sends to worker processes

    def __cinit__(self):
        memset(self.tables, 0, sizeof(self.tables))

    def __dealloc__(self):
        cdef int j
        for j in range(MAX_ORDER):
            free(self.tables[j])

    def __init__(self, int order, bint ensure_unicode, list keys not None, list logps not None):
        cdef int j
        cdef Py_ssize_t i, n
        cdef uint64_t size, h, mask
        cdef const uint64_t[::1] k
        cdef const double[::1] v
        if not 1 <= order <= MAX_ORDER:
            raise ValueError(f"order must be between 1 and {MAX_ORDER}, not {order}")
        if len(keys) != order or len(logps) != order:
            raise ValueError(f"expected {order} n-gram tables")
        self.order = order
        self.ensure_unicode = ensure_unicode
        self._arrays = (keys, logps)
        for j in range(order):
            k = keys[j]
            v = logps[j]
            n = k.shape[0]
            if v.shape[0] != n:
                raise ValueError(f"table {j + 1}: {n} keys but {v.shape[0]} values")
            size = 16
            while size < 2 * <uint64_t>n:      # load factor <= 1/2 keeps probes short
                size *= 2
            self.tables[j] = <LogpSlot*>malloc(size * sizeof(LogpSlot))
            if self.tables[j] == NULL:
                raise MemoryError()
            mask = size - 1
            self.masks[j] = mask
            for i in range(<Py_ssize_t>size):
                self.tables[j][i].val = INFINITY
            for i in range(n):
                h = mix64(k[i]) & mask
                while self.tables[j][h].val != INFINITY and self.tables[j][h].key != k[i]:
                    h = (h + 1) & mask
                self.tables[j][h].key = k[i]
                self.tables[j][h].val = v[i]

    def __reduce__(self):
        return (Bnlm, (self.order, self.ensure_unicode) + self._arrays)

    cdef int64_t _segment(self, const uint8_t* text, int64_t n, uint8_t* route,
                          int64_t* starts) noexcept nogil:
        """Viterbi over the states of step 4; writes the piece start positions to
        `starts` (in reverse order) and returns their number."""
        cdef int K = self.order, j, k, arg
        cdef int64_t i, m
        cdef double nd[MAX_ORDER]
        cdef double prev[MAX_ORDER]
        cdef double cur[MAX_ORDER]
        cdef double s, best
        cdef uint64_t key
        for i in range(n):
            # Emissions: the (j+1)-gram ending at i, for j = 0..K-1.  If one is absent so are
            # all longer ones (an n-gram's suffix is at least as frequent, so pruning keeps
            # it), hence the early exit.
            key = 0
            for j in range(K):
                nd[j] = -INFINITY
            for j in range(K):
                if j > i:
                    break
                key |= (<uint64_t>text[i - j]) << (8 * j)
                nd[j] = _logp_get(self.tables[j], self.masks[j], key)
                if nd[j] == -INFINITY:
                    break
            if self.ensure_unicode and 0x80 <= text[i] < 0xC0:
                nd[0] = -INFINITY
            if i == 0:
                for j in range(K):
                    prev[j] = nd[j]
                continue
            # The same float64 sums and first-index argmax as numpy over the full matrix;
            # an all -inf column points to state 0.
            best = prev[0] + nd[0]
            arg = 0
            for k in range(1, K):
                s = prev[k] + nd[0]
                if s > best:
                    best = s
                    arg = k
            cur[0] = best
            route[(i - 1) * K] = <uint8_t>arg
            for j in range(1, K):
                best = prev[j - 1] + nd[j]
                arg = j - 1
                if j == K - 1:
                    s = prev[j] + nd[j]
                    if s > best:
                        best = s
                        arg = j
                cur[j] = best
                route[(i - 1) * K + j] = <uint8_t>(arg if best != -INFINITY else 0)
            for j in range(K):
                prev[j] = cur[j]
        arg = 0
        for j in range(1, K):
            if prev[j] > prev[arg]:
                arg = j
        # Backtrack; a piece starts at every byte in state 0 (byte 0 always is).
        m = 0
        for i in range(n - 1, -1, -1):
            if arg == 0:
                starts[m] = i
                m += 1
            if i > 0:
                arg = route[(i - 1) * K + arg]
        return m

    def count_pieces(self, list chunks not None, dict counter not None):
        """Segment each chunk (bytes) and add 1 to counter[piece] for every piece."""
        cdef bytes chunk
        cdef int64_t n, cap = 0, m, k, end
        cdef uint8_t* route = NULL
        cdef int64_t* starts = NULL
        cdef const uint8_t* p
        try:
            for chunk in chunks:
                n = PyBytes_GET_SIZE(chunk)
                if n == 0:
                    continue
                if n > cap:
                    cap = 2 * n
                    free(route)
                    free(starts)
                    route = <uint8_t*>malloc(cap * self.order)
                    starts = <int64_t*>malloc(cap * sizeof(int64_t))
                    if route == NULL or starts == NULL:
                        raise MemoryError()
                p = <const uint8_t*>PyBytes_AS_STRING(chunk)
                with nogil:
                    m = self._segment(p, n, route, starts)
                end = n
                for k in range(m):
                    piece = PyBytes_FromStringAndSize(<const char*>p + starts[k], end - starts[k])
                    counter[piece] = counter.get(piece, 0) + 1
                    end = starts[k]
        finally:
            free(route)
            free(starts)


def split_counts(Vocab vocab not None, list pieces not None, const int64_t[::1] weights not None):
    """Segment each piece deterministically (no newline chunking) and add its weight to every
    piece index it splits into; returns the totals per piece index (int64, exact).

    The trainer's step 5 runs on this: re-segmenting dropped and kept pieces.
    """
    cdef Work w
    cdef Py_ssize_t i, k
    cdef bytes data
    cdef int64_t[::1] totals
    if weights.shape[0] != len(pieces):
        raise ValueError(f"{len(pieces)} pieces but {weights.shape[0]} weights")
    result = _np.zeros(vocab.num_pieces, dtype=_np.int64)
    totals = result
    try:
        if work_init(&w, &vocab.t) != 0:
            raise MemoryError()
        for i in range(len(pieces)):
            data = pieces[i]
            w.out_len = 0
            if segment_chunk(&vocab.t, <const uint8_t*>PyBytes_AS_STRING(data),
                             PyBytes_GET_SIZE(data), 0, MODE_DETERMINISTIC, 0.0, 0, &w) != 0:
                raise MemoryError()
            for k in range(w.out_len):
                totals[w.out[k]] += weights[i]
        return result
    finally:
        work_free(&w)
