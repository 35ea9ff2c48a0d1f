# A call's scratch memory: the Viterbi loop's live walks, the route of the current chunk, the
# output piece indices and a UTF-8 buffer.  Each call (and each block of a batch) owns one:
# work_init, then work_free in a finally clause, whatever happened in between.

from libc.stdint cimport int32_t, int64_t, uint8_t
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
    int32_t* route          # route[e]: the trie node of the piece accepted to end at e
    int64_t route_cap
    int32_t* out            # piece indices, appended chunk after chunk
    int64_t out_len         # -1 after an allocation failure (batch blocks)
    int64_t out_cap
    uint8_t* utf8           # a str text of a batch, encoded (text.pxi's utf8_encode)
    int64_t utf8_cap
    const Bucket* buckets   # Viterbi Sampling: the call's bucket table (NULL otherwise)


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
    free(w.route)
    free(w.out)
    free(w.utf8)
    memset(w, 0, sizeof(Work))


cdef inline int grow_i32(int32_t** buf, int64_t* cap, int64_t need) noexcept nogil:
    """Make room for `need` items in *buf (at least doubling); 0, or -1 if out of memory."""
    cdef void* p
    cdef int64_t size
    if need <= cap[0]:
        return 0
    size = need if need > 2 * cap[0] else 2 * cap[0]
    p = realloc(buf[0], size * sizeof(int32_t))
    if p == NULL:
        return -1
    buf[0] = <int32_t*>p
    cap[0] = size
    return 0


cdef inline int work_reserve(Work* w, int64_t route_need, int64_t out_need) noexcept nogil:
    """Room for a chunk's route and its pieces; 0, or -1 if out of memory."""
    if grow_i32(&w.route, &w.route_cap, route_need) != 0:
        return -1
    return grow_i32(&w.out, &w.out_cap, out_need)
