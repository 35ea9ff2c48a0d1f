# Building the double-array trie (trie.pxd) from the vocabulary's pieces, in three phases:
# a pointer trie from the sorted pieces, a placement order, and the placement of each node's
# children in the double array.  Included into _core.pyx.

from libc.math cimport INFINITY
from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t
from libc.stdlib cimport free, malloc, qsort, realloc
from libc.string cimport memcmp, memset

from .contracts cimport MAX_PIECE_LEN
from .trie cimport NODE_SHIFT, Node, Trie

ctypedef struct SortItem:
    const uint8_t* ptr
    int32_t len
    int32_t idx             # the piece's index in the vocabulary


cdef int compare_items(const void* a, const void* b) noexcept nogil:
    """Bytewise order of two pieces (a prefix first)."""
    cdef const SortItem* x = <const SortItem*>a
    cdef const SortItem* y = <const SortItem*>b
    cdef int32_t n = x.len if x.len < y.len else y.len
    cdef int r = memcmp(x.ptr, y.ptr, n)
    if r != 0:
        return r
    return (x.len > y.len) - (x.len < y.len)


ctypedef struct PointerTrie:
    # Phase 1's trie: node 0 is the root; nodes are numbered in preorder.
    int32_t* first_child
    int32_t* last_child
    int32_t* next_sibling   # children of a node are linked in ascending byte order
    uint8_t* label          # the byte on the edge into the node
    int32_t* piece          # the piece index the node spells, or -1
    uint16_t* depth
    int32_t* path           # phase 1's scratch: the nodes along the last piece inserted
    int32_t count


cdef void _pointer_trie_free(PointerTrie* p) noexcept nogil:
    free(p.first_child)
    free(p.last_child)
    free(p.next_sibling)
    free(p.label)
    free(p.piece)
    free(p.depth)
    free(p.path)


cdef int _pointer_trie(PointerTrie* p, const SortItem* items, Py_ssize_t n) except -1:
    """Phase 1: the pointer trie of the sorted pieces.  Sorted input means each node's
    children are created in ascending byte order, so each is appended at its parent's tail."""
    cdef Py_ssize_t total = 1, i, d, common
    cdef int32_t node, parent
    cdef int32_t* path = p.path             # path[d]: the node at depth d of the last piece
    cdef const uint8_t* prev = NULL
    cdef int32_t prev_len = 0
    for i in range(n):
        total += items[i].len
    p.first_child = <int32_t*>malloc(total * sizeof(int32_t))
    p.last_child = <int32_t*>malloc(total * sizeof(int32_t))
    p.next_sibling = <int32_t*>malloc(total * sizeof(int32_t))
    p.label = <uint8_t*>malloc(total)
    p.piece = <int32_t*>malloc(total * sizeof(int32_t))
    p.depth = <uint16_t*>malloc(total * sizeof(uint16_t))
    p.path = <int32_t*>malloc((MAX_PIECE_LEN + 1) * sizeof(int32_t))
    path = p.path
    if not (p.first_child and p.last_child and p.next_sibling and p.label and p.piece
            and p.depth and path):
        raise MemoryError()
    p.first_child[0] = -1
    p.last_child[0] = -1
    p.piece[0] = -1
    p.depth[0] = 0
    path[0] = 0
    p.count = 1
    for i in range(n):
        common = 0
        while common < prev_len and common < items[i].len and prev[common] == items[i].ptr[common]:
            common += 1
        for d in range(common, items[i].len):
            node = p.count
            p.count += 1
            p.first_child[node] = -1
            p.last_child[node] = -1
            p.next_sibling[node] = -1
            p.piece[node] = -1
            p.label[node] = items[i].ptr[d]
            p.depth[node] = <uint16_t>(d + 1)
            parent = path[d]
            if p.last_child[parent] < 0:
                p.first_child[parent] = node
            else:
                p.next_sibling[p.last_child[parent]] = node
            p.last_child[parent] = node
            path[d + 1] = node
        p.piece[path[items[i].len]] = items[i].idx
        prev = items[i].ptr
        prev_len = items[i].len
    return 0


cdef int32_t* _placement_order(const PointerTrie* p) except NULL:
    """Phase 2: the order in which nodes get their children placed.  The two top levels go
    breadth first, so the hot shallow nodes sit together at the front; below them each
    subtree goes depth first from a moving cursor, so a walk down a word touches neighbouring
    cache lines.  Node ids are a preorder, so a subtree is the id range that follows its root
    while the depth stays greater.  The caller frees the result."""
    cdef int32_t* order = <int32_t*>malloc(p.count * sizeof(int32_t))
    cdef Py_ssize_t tail = 0, top, i
    cdef int32_t node, d
    if order == NULL:
        raise MemoryError()
    order[tail] = 0
    tail += 1
    node = p.first_child[0]
    while node >= 0:                        # depth 1
        order[tail] = node
        tail += 1
        node = p.next_sibling[node]
    top = tail
    for i in range(1, top):
        node = p.first_child[order[i]]
        while node >= 0:                    # a depth-2 node, then its subtree in preorder
            order[tail] = node
            tail += 1
            d = node + 1
            while d < p.count and p.depth[d] > 2:
                order[tail] = d
                tail += 1
                d += 1
            node = p.next_sibling[node]
    return order


# Free slots of the double array form a doubly linked list, stored at index slot + 1 so that
# the sentinel (slot -1) sits at index 0 and never moves when the arrays grow.
ctypedef struct FreeList:
    int32_t* next
    int32_t* prev


cdef inline void _free_list_unlink(FreeList* fl, int32_t slot) noexcept nogil:
    cdef int32_t a = fl.prev[slot + 1], b = fl.next[slot + 1]
    fl.next[a + 1] = b
    fl.prev[b + 1] = a


cdef int _grow(Trie* t, FreeList* fl, int64_t new) except -1:
    """Grow the node arrays to `new` slots; the new slots join the free list's tail."""
    cdef int64_t old = t.size, i
    cdef int32_t tail
    cdef void* q
    if new > 2**31 - 1024:
        raise MemoryError("vocabulary too large for a 32-bit double array")
    q = realloc(t.nodes, new * sizeof(Node))
    if q == NULL:
        raise MemoryError()
    t.nodes = <Node*>q
    q = realloc(t.node_pid, new * sizeof(int32_t))
    if q == NULL:
        raise MemoryError()
    t.node_pid = <int32_t*>q
    q = realloc(fl.next, (new + 1) * sizeof(int32_t))
    if q == NULL:
        raise MemoryError()
    fl.next = <int32_t*>q
    q = realloc(fl.prev, (new + 1) * sizeof(int32_t))
    if q == NULL:
        raise MemoryError()
    fl.prev = <int32_t*>q
    if old == 0:
        fl.next[0] = -1
        fl.prev[0] = -1
    tail = fl.prev[0]
    for i in range(old, new):
        t.nodes[i].base = 0
        t.nodes[i].check = -1
        t.nodes[i].logp = -INFINITY
        t.node_pid[i] = -1
        fl.next[tail + 1] = <int32_t>i
        fl.prev[i + 1] = tail
        tail = <int32_t>i
    fl.next[tail + 1] = -1
    fl.prev[0] = tail
    t.size = new
    return 0


cdef int _place(Trie* t, const PointerTrie* p, const int32_t* order,
                const double[::1] logp) except -1:
    """Phase 3: give each node, in `order`, the first base (from the start of the free list
    for the top levels, from the cursor below) at which every child's slot is free."""
    cdef FreeList fl
    cdef int32_t* slot_of = <int32_t*>malloc(p.count * sizeof(int32_t))   # node -> slot
    cdef int32_t cursor = -1, node, parent_slot, child, first_label, candidate, base = 0, s
    cdef Py_ssize_t i
    cdef bint fits
    fl.next = NULL
    fl.prev = NULL
    try:
        if slot_of == NULL:
            raise MemoryError()
        _grow(t, &fl, 2 * p.count + 512)
        _free_list_unlink(&fl, 0)
        t.nodes[0].check = -2               # the root: no parent can match it
        slot_of[0] = 0
        for i in range(p.count):
            node = order[i]
            parent_slot = slot_of[node]
            child = p.first_child[node]
            if child < 0:
                continue                    # a leaf keeps base 0; check[] never matches it
            first_label = p.label[child]
            if p.depth[node] < 2 or cursor < 0:
                candidate = fl.next[0]
            else:
                # Slots taken since the cursor was set keep their old forward links, which
                # lead (ascending) to a free slot or to the end.
                candidate = cursor
                while candidate >= 0 and t.nodes[candidate].check != -1:
                    candidate = fl.next[candidate + 1]
                if candidate < 0:
                    candidate = fl.next[0]
            # `candidate` is a free slot for the first child; try base = candidate - label.
            while True:
                if candidate < 0:
                    candidate = <int32_t>t.size
                    _grow(t, &fl, 2 * t.size)
                    continue
                if candidate + 256 > t.size:
                    _grow(t, &fl, 2 * t.size)
                    continue
                base = candidate - first_label
                fits = base >= 1
                s = p.next_sibling[child]
                while fits and s >= 0:
                    fits = t.nodes[base + p.label[s]].check == -1
                    s = p.next_sibling[s]
                if fits:
                    break
                candidate = fl.next[candidate + 1]
            if p.depth[node] >= 2:
                cursor = candidate
            t.nodes[parent_slot].base = base
            s = child
            while s >= 0:
                slot_of[s] = base + p.label[s]
                _free_list_unlink(&fl, slot_of[s])
                t.nodes[slot_of[s]].check = parent_slot
                if p.piece[s] >= 0:
                    t.nodes[slot_of[s]].logp = logp[p.piece[s]]
                    t.node_pid[slot_of[s]] = p.piece[s]
                s = p.next_sibling[s]
        if fl.next[0] < 0:
            _grow(t, &fl, t.size + 1)
        t.dead = fl.next[0]
    finally:
        free(slot_of)
        free(fl.next)
        free(fl.prev)
    return 0


cdef int _to_offsets(Trie* t) except -1:
    """Node references from indices to byte offsets (trie.pxd); free slots keep check -1, the
    root -2."""
    cdef int64_t i
    if t.size > (2**31 - 1) >> NODE_SHIFT:
        raise MemoryError("vocabulary too large for 32-bit node offsets")
    t.dead = t.dead << NODE_SHIFT
    for i in range(t.size):
        t.nodes[i].base = t.nodes[i].base << NODE_SHIFT
        if t.nodes[i].check >= 0:
            t.nodes[i].check = t.nodes[i].check << NODE_SHIFT
    return 0


cdef int trie_build(Trie* t, const SortItem* items, Py_ssize_t n,
                    const double[::1] logp) except -1:
    """Fill t (zeroed) from the n pieces `items`, sorted by
    compare_items, whose log-probabilities are logp[items[i].idx]; in three phases, then node
    indices turned into offsets."""
    cdef PointerTrie p
    cdef int32_t* order = NULL
    memset(&p, 0, sizeof(PointerTrie))
    try:
        _pointer_trie(&p, items, n)
        order = _placement_order(&p)
        _place(t, &p, order, logp)
        _to_offsets(t)
    finally:
        _pointer_trie_free(&p)
        free(order)
    return 0
