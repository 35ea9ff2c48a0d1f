# A call's scratch memory: the Viterbi loop's live walks, the output piece indices (with the
# route of the current chunk past them) and a UTF-8 buffer.  Each call (and each block of a
# batch) owns one: work_init, then work_free in a finally clause, whatever happened between.

from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memset

from .samplers cimport Bucket
from .trie cimport Trie

ctypedef struct Work:
    # The live walks of the Viterbi loop, oldest (= longest match so far) first: trie node,
    # start position, score at the start and, for exact sampling, the sum at the start
    # (Z[start] = exp(walk_score) * walk_total).  At most max_len + 1 are alive.
    int32_t* walk_node
    int64_t* walk_start
    double* walk_score
    double* walk_total
    int32_t* out            # piece indices, appended chunk after chunk; past them, the
                            # route of the chunk being segmented (viterbi.pxi)
    uint16_t* route_len     # the route's other half: the length of each end's piece
    int64_t route_len_cap
    int64_t out_len         # -1 after an allocation failure (batch blocks)
    int64_t out_cap
    uint8_t* utf8           # a str text of a batch, encoded (text.pxi's utf8_encode)
    int64_t utf8_cap
    const Bucket* buckets   # Viterbi Sampling: the call's bucket table (NULL otherwise)
    # Interruption (see work_poll): the calling thread checks for signals, every thread for
    # the flag of the call it works for.
    bint check_signals
    int* cancelled


cdef inline int work_init(Work* w, const Trie* t) noexcept nogil:
    """0, or -1 if out of memory (work_free must still be called)."""
    memset(w, 0, sizeof(Work))
    w.walk_node = <int32_t*>malloc((t.max_len + 2) * sizeof(int32_t))
    w.walk_start = <int64_t*>malloc((t.max_len + 2) * sizeof(int64_t))
    w.walk_score = <double*>malloc((t.max_len + 2) * sizeof(double))
    w.walk_total = <double*>malloc((t.max_len + 2) * sizeof(double))
    return -1 if not (w.walk_node and w.walk_start and w.walk_score and w.walk_total) else 0


cdef inline void work_free(Work* w) noexcept nogil:
    free(w.walk_node)
    free(w.walk_start)
    free(w.walk_score)
    free(w.walk_total)
    free(w.out)
    free(w.route_len)
    free(w.utf8)
    memset(w, 0, sizeof(Work))


cdef inline int grow(void** buf, int64_t* cap, int64_t need, size_t item) noexcept nogil:
    """Make room for `need` items of `item` bytes in *buf (at least doubling); 0, or -1 if
    out of memory."""
    cdef void* p
    cdef int64_t size
    if need <= cap[0]:
        return 0
    size = need if need > 2 * cap[0] else 2 * cap[0]
    p = realloc(buf[0], size * item)
    if p == NULL:
        return -1
    buf[0] = p
    cap[0] = size
    return 0


cdef inline int grow_i32(int32_t** buf, int64_t* cap, int64_t need) noexcept nogil:
    return grow(<void**>buf, cap, need, sizeof(int32_t))


cdef extern from *:
    """
    #if defined(_MSC_VER)
    static inline int bpl_load_flag(int* p) { return _InterlockedOr((volatile long*)p, 0); }
    static inline void bpl_store_flag(int* p, int v) { _InterlockedExchange((volatile long*)p, v); }
    #else
    static inline int bpl_load_flag(int* p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
    static inline void bpl_store_flag(int* p, int v) { __atomic_store_n(p, v, __ATOMIC_RELAXED); }
    #endif
    """
    int load_flag "bpl_load_flag"(int* p) noexcept nogil
    void store_flag "bpl_store_flag"(int* p, int v) noexcept nogil

cdef extern from "Python.h":
    int PyErr_CheckSignals()

cdef enum:
    INTERRUPTED = -2        # what a segmentation returns when work_poll said stop
    POLL_BYTES = 1 << 20    # the kernels poll once per this many bytes (a few ms of work)


cdef inline int work_poll(Work* w) noexcept nogil:
    """INTERRUPTED if the call must stop: a signal handler raised (in the calling thread,
    which then holds that exception, and tells the other threads through the flag), or
    another thread of the call was told so; else 0.  Taking the GIL costs ~1 us, once a
    POLL_BYTES."""
    cdef int raised = 0
    if w.check_signals:
        with gil:
            raised = PyErr_CheckSignals()
        if raised != 0:
            if w.cancelled != NULL:
                store_flag(w.cancelled, 1)
            return INTERRUPTED
    if w.cancelled != NULL and load_flag(w.cancelled):
        return INTERRUPTED
    return 0
