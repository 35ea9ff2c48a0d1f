# The vocabulary's byte trie as a double array.  The child of node x by byte c is
# t = nodes[x].base + c, valid iff nodes[t].check == x.  One 16-byte record per node holds both
# and the node's log-probability, so each step of a walk touches a single cache line.  A node
# that is not a piece has logp = -inf: its candidate never wins, so the deterministic loop
# needs no branch on it.  Built by trie_build.pxi; owned (and freed) by _core.Vocab.

from libc.stdint cimport int32_t, int64_t, uint8_t
from libc.stdlib cimport free

ctypedef struct Node:
    int32_t base
    int32_t check           # the parent's index; -1 for a free slot, -2 for the root
    double logp

ctypedef struct Trie:
    Node* nodes
    int32_t* node_pid       # piece index of a terminal node, else -1 (read when backtracking)
    int32_t* piece_len      # bytes of each piece
    int64_t size            # slots in nodes / node_pid
    int32_t max_len         # the longest piece
    double min_logp         # the least probable piece's log-probability


cdef inline void trie_free(Trie* t) noexcept nogil:
    free(t.nodes)
    free(t.node_pid)
    free(t.piece_len)
    t.nodes = NULL
    t.node_pid = NULL
    t.piece_len = NULL


cdef inline int32_t trie_find(const Trie* t, const uint8_t* s, Py_ssize_t n) noexcept nogil:
    """The piece index of s[:n], or -1 if it is not a piece."""
    cdef int32_t x = 0, nx
    cdef Py_ssize_t i
    for i in range(n):
        nx = t.nodes[x].base + s[i]
        if t.nodes[nx].check != x:
            return -1
        x = nx
    return t.node_pid[x] if n > 0 else -1
