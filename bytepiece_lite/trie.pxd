# The vocabulary's byte trie as a double array.  Nodes are referred to by the byte offset of
# their record (index << NODE_SHIFT), so that a step needs no scaling of an index: the child
# of the node at offset x by byte c is at t = base(x) + (c << NODE_SHIFT), valid iff
# check(t) == x.  One 16-byte record per node holds both
# and the node's log-probability, so each step of a walk touches a single cache line.  A node
# that is not a piece has logp = -inf: its candidate never wins, so the deterministic loop
# needs no branch on it.  Built by trie_build.pxi; owned (and freed) by _core.Vocab.

from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t
from libc.stdlib cimport free

ctypedef struct Node:
    int32_t base            # offset of the child by byte 0 (of a record that may be another's)
    int32_t check           # the parent's offset; -1 for a free slot, -2 for the root
    double logp

cdef enum:
    NODE_SHIFT = 4          # sizeof(Node) == 1 << NODE_SHIFT


cdef inline const Node* node_at(const Node* nodes, uint32_t offset) noexcept nogil:
    return <const Node*>((<const char*>nodes) + offset)

ctypedef struct Trie:
    Node* nodes
    int32_t* node_pid       # by node index (offset >> NODE_SHIFT): the piece, else -1
    int64_t size            # slots in nodes / node_pid
    int32_t max_len         # the longest piece
    int32_t dead            # a free record, where a walk that has died stays (viterbi.pxi):
                            # no node's check matches it, its logp is -inf, and its base (0)
                            # leads to records whose check is some other node
    double min_logp         # the least probable piece's log-probability


cdef inline void trie_free(Trie* t) noexcept nogil:
    free(t.nodes)
    free(t.node_pid)
    t.nodes = NULL
    t.node_pid = NULL


cdef inline int32_t trie_find(const Trie* t, const uint8_t* s, Py_ssize_t n) noexcept nogil:
    """The piece index of s[:n], or -1 if it is not a piece."""
    cdef uint32_t x = 0, nx
    cdef Py_ssize_t i
    for i in range(n):
        nx = <uint32_t>node_at(t.nodes, x).base + (<uint32_t>s[i] << NODE_SHIFT)
        if node_at(t.nodes, nx).check != <int32_t>x:
            return -1
        x = nx
    return t.node_pid[x >> NODE_SHIFT] if n > 0 else -1
