# Hooks for the tests and the benchmarks: what the loop sees, without the Viterbi (included
# into _core.pyx; not used by the package itself).

from libc.math cimport INFINITY
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t

from .fastexp cimport exp_neg
from .rng cimport draw_at, end_key
from .scratch cimport Work, work_free, work_init
from .branchless cimport child_or, prefetch
from .trie cimport NODE_SHIFT, Node, Trie, node_at


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
    """Benchmark floor: the deterministic loop's walk over the trie (viterbi.pxi: the same
    slots and walk arrays), with no Viterbi.  With `visit`, every match is visited (its
    node's record read: is it a piece) and the number of matches is returned; without, the
    walks only step, and the number of steps that succeed is returned (so that the work
    cannot be optimised away)."""
    cdef const uint8_t* p = <const uint8_t*>PyBytes_AS_STRING(data)
    cdef int64_t n = len(data), count = 0
    cdef Work w
    try:
        if work_init(&w, &vocab.t) != 0:
            raise MemoryError()
        if n > 0:
            with nogil:
                if visit:
                    count = _walk(&vocab.t, p, n, w.walk_node, True)
                else:
                    count = _walk(&vocab.t, p, n, w.walk_node, False)
        return count
    finally:
        work_free(&w)


cdef inline int64_t _walk(const Trie* t, const uint8_t* p, int64_t n, int32_t* walk_node,
                          const bint visit) noexcept nogil:
    cdef const Node* nodes = t.nodes
    cdef const Node* nd
    cdef uint32_t root = <uint32_t>nodes[0].base, dead = <uint32_t>t.dead
    cdef uint32_t node, child, c, c_next
    cdef uint32_t ring_node[RING]
    cdef int64_t i, e, k, d, live = 0, kept, count = 0
    for d in range(RING):
        ring_node[d] = dead
    ring_node[0] = root + (<uint32_t>p[0] << NODE_SHIFT)
    for i in range(n):
        e = i + 1
        c = <uint32_t>(p[e] if e < n else 0) << NODE_SHIFT
        c_next = <uint32_t>(p[e + 1] if e + 1 < n else 0) << NODE_SHIFT
        kept = 0
        for k in range(live):
            node = <uint32_t>walk_node[k]
            nd = node_at(nodes, node)
            count += <int64_t>(nd.logp != -INFINITY) if visit else 1
            child = <uint32_t>nd.base + c
            nd = node_at(nodes, child)
            if nd.check != <int32_t>node:
                continue
            walk_node[kept] = <int32_t>child
            prefetch(node_at(nodes, <uint32_t>nd.base + c_next))
            kept += 1
        node = ring_node[RING - 1]
        nd = node_at(nodes, node)
        count += <int64_t>(nd.logp != -INFINITY) if visit else <int64_t>(node != dead)
        child = <uint32_t>nd.base + c
        nd = node_at(nodes, child)
        if nd.check == <int32_t>node:
            walk_node[kept] = <int32_t>child
            prefetch(node_at(nodes, <uint32_t>nd.base + c_next))
            kept += 1
        for d in range(RING - 2, -1, -1):
            node = ring_node[d]
            nd = node_at(nodes, node)
            count += <int64_t>(nd.logp != -INFINITY) if visit else <int64_t>(node != dead)
            child = <uint32_t>nd.base + c
            nd = node_at(nodes, child)
            ring_node[d + 1] = child_or(nd.check, <int32_t>node, child, dead)
        ring_node[0] = root + c
        live = kept
    return count


def draw_bits(uint64_t key, int64_t end, int64_t length):
    """The 64 random bits that the candidate piece (end, length) draws in stream `key`."""
    return draw_at(end_key(key, end), length)


def exact_exp(double x):
    """The exact sampler's e**x (_fastexp.exp_neg must give the same bits)."""
    return exp_neg(x)
