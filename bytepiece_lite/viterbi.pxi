# The Viterbi loop over a chunk's matches: deterministic decoding and both samplers
# (docs/semantics.md, "Segmentation" and "Sampling").  Included into _core.pyx.
#
# Why live trie walks and not Aho-Corasick: the Viterbi only needs every (start, end)
# occurrence of a piece.  Every start position opens a walk down the trie; at each byte all
# live walks step by it together, so the candidates of an end arrive together, oldest walk
# (longest piece) first, which is the order Aho-Corasick reports them in: strict `>` ties
# resolve exactly as upstream's.  There are no fail links to chase, and the walks' lookups
# are independent of each other, so their cache misses overlap, where an Aho-Corasick walk is
# one long serial chain of them.

from libc.math cimport INFINITY
from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memchr, memmove

from .branchless cimport child_or, gt_u32_pair, le_u32_pair, max_f64, min_f64, pick_le, prefetch
from .contracts cimport MODE_DETERMINISTIC, MODE_EXACT, MODE_VITERBI
from .fastexp cimport exp_neg
from .rng cimport draw_at, end_key, unit
from .samplers cimport Bucket, FOLD_ABOVE, fold_exponent, sigmoid_below
from .scratch cimport INTERRUPTED, POLL_BYTES, Work, grow, grow_i32, work_poll
from .trie cimport NODE_SHIFT, Node, Trie, node_at


cdef int segment_chunk(const Trie* t, const uint8_t* text, int64_t n, int64_t offset,
                       int mode, double alpha, uint64_t key, Work* w) noexcept nogil:
    """Segment text[0:n] (no chunking inside) and append its piece indices to w.out; 0, -1 if
    out of memory, or INTERRUPTED (see work_poll).

    `offset` is the chunk's position in the whole text: random draws are keyed by absolute
    positions, so a text's samples do not depend on how it was cut into chunks.
    """
    if mode == MODE_DETERMINISTIC:
        return _segment_deterministic(t, text, n, offset, alpha, key, w)
    if mode == MODE_VITERBI:
        return _segment_viterbi(t, text, n, offset, alpha, key, w)
    return _segment_exact(t, text, n, offset, alpha, key, w)


# One body, specialised per mode by constant propagation: each mode gets a function (and so a
# register allocation) of its own.
cdef int _segment_deterministic(const Trie* t, const uint8_t* text, int64_t n, int64_t offset,
                                double alpha, uint64_t key, Work* w) noexcept nogil:
    return _segment(t, text, n, offset, MODE_DETERMINISTIC, alpha, key, w)


cdef int _segment_viterbi(const Trie* t, const uint8_t* text, int64_t n, int64_t offset,
                          double alpha, uint64_t key, Work* w) noexcept nogil:
    return _segment(t, text, n, offset, MODE_VITERBI, alpha, key, w)


cdef int _segment_exact(const Trie* t, const uint8_t* text, int64_t n, int64_t offset,
                        double alpha, uint64_t key, Work* w) noexcept nogil:
    return _segment(t, text, n, offset, MODE_EXACT, alpha, key, w)


cdef inline void _score(const int mode, const bint piece, double score, double z,
                        int64_t length, double lp, uint32_t node, double alpha, uint64_t at_end,
                        const Bucket* buckets, double* best, double* total,
                        uint32_t* winner, uint32_t* win_len) noexcept nogil:
    """Visit the candidate `node` (log-probability lp, -inf if it is not a piece; `length`
    bytes) of a walk whose start has score `score` (and, for exact sampling, Z-sum `z`):
    update the end's best, Z-sum, winner and the winner's length.  `piece`: the node is known
    to be a piece.  Inlined, so that these stay in registers."""
    cdef double cand, limit, weight
    cdef uint64_t bits
    cdef int q
    if mode == MODE_DETERMINISTIC:
        # Branch-free: whether a candidate wins is unpredictable (a non-piece node has
        # logp = -inf and never wins).  Strict >: a tie keeps the earlier, longer piece.
        cand = score + lp
        gt_u32_pair(cand, best[0], node, winner, <uint32_t>length, win_len)
        best[0] = max_f64(cand, best[0])
    elif mode == MODE_VITERBI:
        # Branch-free but for the rare exp().  A non-piece (cand = -inf) is only taken while
        # there is no best yet (best stays -inf), and then the first piece always is: every
        # end has one, the single byte.
        cand = score + lp
        bits = draw_at(at_end, length)
        q = <int>(bits >> 56)
        limit = cand - buckets[q].take
        # unsettled iff limit < best < cand - keep: one compare (minsd), no branch on the two
        if min_f64(best[0] - limit, (cand - buckets[q].keep) - best[0]) > 0.0:
            limit = INFINITY if sigmoid_below(alpha * (cand - best[0]), bits) else -INFINITY
        le_u32_pair(best[0], limit, node, winner, <uint32_t>length, win_len)
        best[0] = pick_le(best[0], limit, cand, best[0])
    elif piece or lp != -INFINITY:
        # Exact sampling: Z[e] = sum of Z[s] * P(piece)**alpha over the candidates.  Z[s] is
        # exp(score) * z with z >= 1, Z[e] is exp(best) * total, best the running maximum of
        # score + alpha * logp; reservoir acceptance with probability weight / total.
        cand = score + alpha * lp
        if total[0] == 0.0:
            best[0] = cand
            total[0] = z
            winner[0] = node
            win_len[0] = <uint32_t>length
        else:
            if cand <= best[0]:
                weight = z * exp_neg(cand - best[0])
                total[0] = total[0] + weight
            else:
                total[0] = total[0] * exp_neg(best[0] - cand) + z
                weight = z
                best[0] = cand
            if unit(draw_at(at_end, length)) * total[0] < weight:
                winner[0] = node
                win_len[0] = <uint32_t>length


cdef inline void _keep(const int mode, int32_t* walk_node, int64_t* walk_start,
                       double* walk_score, double* walk_total, int64_t kept, uint32_t child,
                       const Node* nodes, const Node* nd, uint32_t c_next, int64_t start,
                       double score, double z) noexcept nogil:
    """Write the walk that reached `child` (its record nd) into slot `kept` of the walk
    arrays (Work's, passed as pointers so that the stores do not reload them): the node, and
    the start, score and Z-sum of the walk's start (the start gives a candidate's length, for
    the draws and the route; only exact sampling needs the Z-sum)."""
    walk_node[kept] = <int32_t>child
    # The record this walk reads at the next byte is known now: ask for it early, so its
    # cache miss overlaps the rest of this byte's work.
    prefetch(node_at(nodes, <uint32_t>nd.base + c_next))
    walk_start[kept] = start
    walk_score[kept] = score
    if mode == MODE_EXACT:
        walk_total[kept] = z


cdef enum:
    RING = 6        # walks up to this many bytes deep are kept in fixed slots (see _segment)


cdef inline int _segment(const Trie* t, const uint8_t* text, int64_t n, int64_t offset,
                         const int mode, double alpha, uint64_t key, Work* w) noexcept nogil:
    # One pass over the bytes.  Every start position opens a walk down the trie; at byte i all
    # live walks advance by text[i] together, so every candidate piece they reach ends at
    # e = i + 1, visited oldest walk (longest piece) first, as Aho-Corasick reports them.
    # A live walk holds the node it has reached (text[s:e] is in the trie): at e its candidate
    # is scored, then it steps by text[e].  The walk that starts at e needs no lookup: the
    # root has all 256 children (every single byte is a piece).  Nodes are byte offsets of
    # their records (trie.pxd), so a step is a load and adds.
    #
    # The young walks live in fixed slots, `slots` of them: ring_node[d] is the walk of d + 1
    # bytes, started at e - d - 1, and the slots shift by one each byte.  A slot steps without
    # a branch: a walk that dies moves to the free record t.dead (a conditional move), whose
    # candidate is -inf and whose steps lead nowhere.  Whether a walk dies is unpredictable,
    # so a branch on it mispredicts, and a count of survivors instead would make the next
    # byte wait for every walk's load; fixed slots need neither.  A walk still alive when it
    # leaves the oldest slot joins the walk arrays, where the fewer, deeper walks step with a
    # branch.  In deterministic decoding there are RING slots.  A sampler's candidate costs
    # a draw, dead walk or not, so there the slots would cost more than the branches they
    # save: the samplers have one slot, the youngest walk, whose death is counted without a
    # branch (its record is one of the root's children, in L1).
    cdef const Node* nodes = t.nodes
    cdef const Node* nd
    cdef int32_t* walk_node = w.walk_node
    cdef int64_t* walk_start = w.walk_start
    cdef double* walk_score = w.walk_score
    cdef double* walk_total = w.walk_total
    cdef int32_t* route
    cdef int64_t i, e, k, d, window, window_end, live, kept
    cdef uint32_t node, child, winner, win_len, c, c_next
    cdef uint16_t* route_len
    cdef uint32_t root = <uint32_t>nodes[0].base
    cdef uint32_t dead = <uint32_t>t.dead
    cdef int64_t slots = RING if mode == MODE_DETERMINISTIC else 1
    cdef uint32_t ring_node[RING]
    cdef double ring_score[RING]                        # the score at each slot's start
    cdef double start_total = 1.0   # exact sampling (one slot): the Z-sum at the youngest's start
    cdef double best, total
    cdef const Bucket* buckets = NULL
    cdef uint64_t at_end
    if n <= 0:
        return 0
    if mode == MODE_VITERBI:
        buckets = chunk_buckets(t, w.buckets, n, alpha)
    # The route lives in the output buffer, past the pieces written so far: the backtrack
    # turns it into this chunk's pieces in place, so a chunk costs 4 bytes a byte once, not
    # a route and then an output besides it.  Beside it, each end's piece length (2 bytes a
    # byte, uint16 as pieces are at most 65,535 bytes): the backtrack steps by these without
    # looking the piece up first, so that its lookups do not form one chain of cache misses.
    if grow_i32(&w.out, &w.out_cap, w.out_len + n + 1) != 0:
        return -1
    route = w.out + w.out_len
    if grow(<void**>&w.route_len, &w.route_len_cap, n + 1, sizeof(uint16_t)) != 0:
        return -1
    route_len = w.route_len
    for d in range(slots):
        ring_node[d] = dead
        ring_score[d] = 0.0
    ring_node[0] = root + (<uint32_t>text[0] << NODE_SHIFT)    # the walk from 0
    live = 0
    window = 0
    while window < n:
        # A long chunk polls for interruption (Ctrl-C) once per POLL_BYTES, between windows,
        # so that the loop over the bytes stays as it was.
        if window > 0 and (w.check_signals or w.cancelled != NULL) and work_poll(w) != 0:
            return INTERRUPTED
        window_end = window + POLL_BYTES if n - window > POLL_BYTES else n
        for i in range(window, window_end):
            e = i + 1
            # the byte the walks step by next, and the one after (for the prefetch); past the
            # end any byte will do (those steps are never scored)
            c = <uint32_t>(text[e] if e < n else 0) << NODE_SHIFT
            c_next = <uint32_t>(text[e + 1] if e + 1 < n else 0) << NODE_SHIFT
            best = -INFINITY                    # exact sampling: the running maximum
            total = 0.0                         # exact sampling: Z[e] / exp(best) so far
            winner = 0
            win_len = 0
            kept = 0
            at_end = end_key(key, offset + e)
            for k in range(live):
                node = <uint32_t>walk_node[k]
                nd = node_at(nodes, node)
                _score(mode, False, walk_score[k], walk_total[k], e - walk_start[k], nd.logp,
                       node, alpha, at_end, buckets, &best, &total, &winner, &win_len)
                child = <uint32_t>nd.base + c
                nd = node_at(nodes, child)
                if nd.check != <int32_t>node:
                    continue                    # this walk ends
                _keep(mode, walk_node, walk_start, walk_score, walk_total, kept, child, nodes,
                      nd, c_next, walk_start[k], walk_score[k], walk_total[k])
                kept += 1
            # The oldest slot: scored, then into the walk arrays if it lives on.
            node = ring_node[slots - 1]
            nd = node_at(nodes, node)
            _score(mode, slots == 1, ring_score[slots - 1], start_total, slots, nd.logp, node,
                   alpha, at_end, buckets, &best, &total, &winner, &win_len)
            child = <uint32_t>nd.base + c
            nd = node_at(nodes, child)
            # With one slot, the youngest walk: nothing follows it in the arrays, so it is
            # written, and counted only if it lives, without a branch.  A deeper walk's record
            # may miss the cache, and the next byte would wait for it: there a branch is faster.
            if slots == 1 or nd.check == <int32_t>node:
                _keep(mode, walk_node, walk_start, walk_score, walk_total, kept, child, nodes,
                      nd, c_next, e - slots, ring_score[slots - 1], start_total)
                kept += nd.check == <int32_t>node
            # The other slots (deterministic decoding only), unrolled: they stay in registers.
            # Their records are shallow and hot, so they go without the prefetch.
            for d in range(slots - 2, -1, -1):
                node = ring_node[d]
                nd = node_at(nodes, node)
                _score(mode, d == 0, ring_score[d], start_total, d + 1, nd.logp, node, alpha,
                       at_end, buckets, &best, &total, &winner, &win_len)     # d == 0: a single byte
                child = <uint32_t>nd.base + c
                nd = node_at(nodes, child)
                ring_node[d + 1] = child_or(nd.check, <int32_t>node, child, dead)
                ring_score[d + 1] = ring_score[d]
            route[e] = <int32_t>winner
            route_len[e] = <uint16_t>win_len
            ring_node[0] = root + c             # the walk that starts at e
            ring_score[0] = best
            if mode == MODE_EXACT:
                # Z[e] = exp(best) * total.  total >= 1 grows with the number of segmentations;
                # past FOLD_ABOVE its exponent moves into the score (exactly: where best +
                # log(total) took a log() call per byte, this is a rare, predicted branch).
                start_total = total
                if total > FOLD_ABOVE:
                    ring_score[0], start_total = fold_exponent(best, total)
            live = kept
        window = window_end
    _backtrack(t, route, route_len, n, w)
    return 0


cdef void _backtrack(const Trie* t, int32_t* route, const uint16_t* route_len, int64_t n,
                     Work* w) noexcept nogil:
    """Turn the route of a chunk (w.out[w.out_len + e] for e = 1 .. n, the winning nodes, and
    route_len[e], their lengths) into its pieces, in text order at w.out[w.out_len:], in
    place.  Walking back from n, the j-th piece from the end is written to route[n - j] once
    route[e] of its end e <= n - j has been read; every later read is at an end below e, so
    nothing still to be read is overwritten."""
    cdef int64_t e = n, slot = n
    cdef int32_t pid
    while e > 0:
        pid = t.node_pid[<uint32_t>route[e] >> NODE_SHIFT]
        route[slot] = pid
        slot -= 1
        e -= route_len[e]
    memmove(w.out + w.out_len, route + slot + 1, (n - slot) * sizeof(int32_t))
    w.out_len += n - slot


cdef inline int64_t chunk_end(const uint8_t* text, int64_t a, int64_t n) noexcept nogil:
    """Where the chunk that starts at a ends: after the first maximal run of b"\\n", or n."""
    cdef const uint8_t* nl = <const uint8_t*>memchr(text + a, 10, n - a)
    cdef int64_t b
    if nl == NULL:
        return n
    b = (nl - text) + 1
    while b < n and text[b] == 10:
        b += 1
    return b


cdef int segment_text(const Trie* t, const uint8_t* text, int64_t n, int64_t offset, int mode,
                      double alpha, uint64_t key, Work* w) noexcept nogil:
    """Cut text after every maximal run of b"\\n" and segment each chunk on its own; 0, -1 if
    out of memory, or INTERRUPTED.  `offset` is the position of text[0] in the whole text
    (for the draws)."""
    cdef int64_t a = 0, b, polled = 0
    cdef int rc
    while a < n:
        b = chunk_end(text, a, n)
        rc = segment_chunk(t, text + a, b - a, offset + a, mode, alpha, key, w)
        if rc != 0:
            return rc
        if b - polled >= POLL_BYTES:        # many short chunks poll too
            polled = b
            if (w.check_signals or w.cancelled != NULL) and work_poll(w) != 0:
                return INTERRUPTED
        a = b
    return 0
