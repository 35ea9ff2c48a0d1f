# Hooks for the tests and the benchmarks: what the loop sees, without the Viterbi (included
# into _core.pyx; not used by the package itself).

from libc.math cimport INFINITY
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t

from .fastexp cimport exp_neg
from .rng cimport draw_at, end_key
from .scratch cimport Work, work_free, work_init
from .trie cimport NODE_SHIFT, Node, node_at


def trie_matches(Vocab vocab not None, bytes data not None):
    """Every (start, end, piece index) occurrence of a piece in `data`, by end then longest
    first (the order the Viterbi loop visits candidates in), found by walking the trie from
    every start."""
    cdef const uint8_t* p = <const uint8_t*>PyBytes_AS_STRING(data)
    cdef int64_t n = len(data), s, i
    cdef uint32_t x, nx
    found = []
    for s in range(n):
        x = 0
        i = s
        while i < n:
            nx = <uint32_t>node_at(vocab.t.nodes, x).base + (<uint32_t>p[i] << NODE_SHIFT)
            if node_at(vocab.t.nodes, nx).check != <int32_t>x:
                break
            x = nx
            i += 1
            if vocab.t.node_pid[x >> NODE_SHIFT] >= 0:
                found.append((s, i, vocab.t.node_pid[x >> NODE_SHIFT]))
    found.sort(key=lambda m: (m[1], m[0]))
    return found


def walk_floor(Vocab vocab not None, bytes data not None, *, bint visit=True):
    """Benchmark floor: the decoding loop's walk over the trie, with no Viterbi.  With
    `visit`, every match is visited (its record read: is the node a piece) and the number of
    matches is returned; without, the walks only step, and the number of steps that succeed
    is returned (so that the work cannot be optimised away)."""
    cdef const uint8_t* p = <const uint8_t*>PyBytes_AS_STRING(data)
    cdef int64_t n = len(data), count
    cdef Work w
    try:
        if work_init(&w, &vocab.t) != 0:
            raise MemoryError()
        with nogil:
            if visit:
                count = _walk(vocab.t.nodes, p, n, w.walk_node, True)
            else:
                count = _walk(vocab.t.nodes, p, n, w.walk_node, False)
        return count
    finally:
        work_free(&w)


cdef inline int64_t _walk(const Node* nodes, const uint8_t* p, int64_t n, int32_t* walk_node,
                          const bint visit) noexcept nogil:
    cdef int64_t i, count = 0
    cdef uint32_t x, nx
    cdef int32_t k, kept, live = 0
    for i in range(n):
        walk_node[live] = 0
        live += 1
        kept = 0
        for k in range(live):
            x = <uint32_t>walk_node[k]
            nx = <uint32_t>node_at(nodes, x).base + (<uint32_t>p[i] << NODE_SHIFT)
            if node_at(nodes, nx).check != <int32_t>x:
                continue
            walk_node[kept] = <int32_t>nx
            kept += 1
            if visit:
                count += node_at(nodes, nx).logp != -INFINITY
            else:
                count += 1
        live = kept
    return count


def draw_bits(uint64_t key, int64_t end, int64_t length):
    """The 64 random bits that the candidate piece (end, length) draws in stream `key`."""
    return draw_at(end_key(key, end), length)


def exact_exp(double x):
    """The exact sampler's e**x (_fastexp.exp_neg must give the same bits)."""
    return exp_neg(x)
