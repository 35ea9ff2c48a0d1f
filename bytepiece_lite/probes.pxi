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


def walk_floor(Vocab vocab not None, bytes data not None):
    """Benchmark floor: the decoding loop's walk over the trie, visiting every match, with no
    Viterbi.  Returns the number of matches (so the work cannot be optimised away)."""
    cdef const uint8_t* p = <const uint8_t*>PyBytes_AS_STRING(data)
    cdef int64_t n = len(data), i, count = 0
    cdef uint32_t x, nx
    cdef int32_t k, kept, live = 0
    cdef const Node* nodes = vocab.t.nodes
    cdef Work w
    try:
        if work_init(&w, &vocab.t) != 0:
            raise MemoryError()
        with nogil:
            for i in range(n):
                w.walk_node[live] = 0
                live += 1
                kept = 0
                for k in range(live):
                    x = <uint32_t>w.walk_node[k]
                    nx = <uint32_t>node_at(nodes, x).base + (<uint32_t>p[i] << NODE_SHIFT)
                    if node_at(nodes, nx).check != <int32_t>x:
                        continue
                    w.walk_node[kept] = <int32_t>nx
                    kept += 1
                    count += node_at(nodes, nx).logp != -INFINITY
                live = kept
        return count
    finally:
        work_free(&w)


def draw_bits(uint64_t key, int64_t end, int64_t length):
    """The 64 random bits that the candidate piece (end, length) draws in stream `key`."""
    return draw_at(end_key(key, end), length)


def exact_exp(double x):
    """The exact sampler's e**x (_fastexp.exp_neg must give the same bits)."""
    return exp_neg(x)
