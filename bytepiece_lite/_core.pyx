# The compiled core of bytepiece-lite: a byte trie stored as a double array, the Viterbi
# loop over its matches (deterministic decoding and both samplers), the counter-based RNG,
# and a fast reader for upstream's JSON model format.  Compiler directives live in setup.py.
#
# Why live trie walks and not Aho-Corasick: the Viterbi only needs every (start, end)
# occurrence of a piece.  Every start position opens a walk down the trie; at each byte all
# live walks step by it together, so the candidates of an end arrive together, oldest walk
# (longest piece) first, which is the order Aho-Corasick reports them in: strict `>` ties
# resolve exactly as upstream's.  There are no fail links to chase, and the walks' lookups
# are independent of each other, so their cache misses overlap, where an Aho-Corasick walk is
# one long serial chain of them.

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE, PyBytes_FromStringAndSize
from cpython.list cimport PyList_New, PyList_SET_ITEM
from cpython.ref cimport Py_INCREF
from cpython.tuple cimport PyTuple_GET_ITEM
from cpython.unicode cimport PyUnicode_DATA, PyUnicode_GET_LENGTH, PyUnicode_KIND
from libc.math cimport exp, log, INFINITY
from libc.stdint cimport int8_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc, qsort, realloc
from libc.string cimport memchr, memcmp, memcpy, memset

cdef extern from "Python.h":
    void PyObject_GC_UnTrack(object)

import numpy as _np

from ._fastexp import EXP2_256

# --------------------------------------------------------------------------------------
# Counter-based RNG (SplitMix64 output function over a counter)
# --------------------------------------------------------------------------------------
# A candidate (start s, end e) inside a text draws u = mix(key + counter(e, e - s) * GAMMA).
# The draw depends only on the stream key and the candidate, never on the order in which
# candidates are visited, so the native walk and the pure-Python Aho-Corasick oracle draw
# identical numbers, and a text's stream never depends on the thread that processes it.

DEF GAMMA = 0x9E3779B97F4A7C15
DEF MIX1 = 0xBF58476D1CE4E5B9
DEF MIX2 = 0x94D049BB133111EB
DEF MAX_PIECE_LEN = 65535
DEF ID_OFFSET = 3           # ids 0, 1, 2 are <pad>, <bos>, <eos>

OUT_ARRAYS = 0
OUT_IDS = 1
OUT_PIECES = 2


cdef extern from *:
    """
    /* Selects that compilers keep branch-free (maxsd; and/xor), where an if would become a
       conditional branch that mispredicts whenever the winner is unpredictable. */
    static inline double bpl_max_f64(double a, double b) { return a > b ? a : b; }
    static inline double bpl_min_f64(double a, double b) { return a < b ? a : b; }
    #if defined(__GNUC__) || defined(__clang__)
    #define bpl_prefetch(p) __builtin_prefetch((const void*)(p))
    #else
    #define bpl_prefetch(p) ((void)0)
    #endif
    static inline int32_t bpl_select_i32(int take, int32_t a, int32_t b) {
        return b ^ ((a ^ b) & -(int32_t)(take != 0));
    }
    /* x <= limit ? a : b, as a compare mask and a blend (cmpnlesd; and/andn/or). */
    static inline double bpl_pick_le(double x, double limit, double a, double b) {
        return x <= limit ? a : b;
    }
    /* The exact sampler's e**x for x <= 0 (0 for x <= -700), inline: _fastexp.py explains
       it and computes the same operations in the same order (the pure-Python backend must
       get identical bits; -ffp-contract=off keeps compilers from fusing any of them).  The
       table is filled from _fastexp.EXP2_256 at import. */
    static double bpl_exp2_256[256];
    static inline double bpl_exp_neg(double x) {
        double xc = x > -700.0 ? x : -700.0;
        double kd = xc * 0x1.71547652b82fep+8 + 6755399441055744.0;
        double r, p, y, scale;
        int64_t k;
        uint64_t bits;
        kd = kd - 6755399441055744.0;
        r = (xc - kd * 0x1.62e42fee00000p-9) - kd * 0x1.a39ef35793c76p-41;
        p = 1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6.0 + r * (1.0 / 24.0))));
        k = (int64_t)kd;
        bits = (uint64_t)((k >> 8) + 1023) << 52;     /* 2**(k >> 8), a normal number */
        memcpy(&scale, &bits, 8);
        y = bpl_exp2_256[k & 255] * p * scale;
        return x > -700.0 ? y : 0.0;
    }
    /* list[at + i] = table[idx[i]] (a new reference) for i < n.  The table's objects are
       scattered over megabytes and each one's reference count is written: prefetch the
       table slot 16 tokens ahead and the object 8 ahead so that the misses overlap. */
    static inline void bpl_fill_list(PyObject* list, Py_ssize_t at, PyObject* table,
                                     const int32_t* idx, Py_ssize_t n) {
        PyObject** tab = ((PyTupleObject*)table)->ob_item;
        PyObject** out = ((PyListObject*)list)->ob_item + at;
        for (Py_ssize_t i = 0; i < n; i++) {
            if (i + 16 < n) bpl_prefetch(&tab[idx[i + 16]]);
            if (i + 8 < n) bpl_prefetch(tab[idx[i + 8]]);
            PyObject* o = tab[idx[i]];
            Py_INCREF(o);
            out[i] = o;
        }
    }
    """
    double _max_f64 "bpl_max_f64"(double a, double b) noexcept nogil
    double _min_f64 "bpl_min_f64"(double a, double b) noexcept nogil
    int32_t _select_i32 "bpl_select_i32"(int take, int32_t a, int32_t b) noexcept nogil
    double _pick_le "bpl_pick_le"(double x, double limit, double a, double b) noexcept nogil
    void _prefetch "bpl_prefetch"(const void* p) noexcept nogil
    double _exp2_256 "bpl_exp2_256"[256]
    double _exp_neg "bpl_exp_neg"(double x) noexcept nogil
    void _fill_list "bpl_fill_list"(list lst, Py_ssize_t at, tuple table, const int32_t* idx,
                                    Py_ssize_t n) noexcept


cdef inline uint64_t _mix64(uint64_t z) noexcept nogil:
    z = (z ^ (z >> 30)) * <uint64_t>MIX1
    z = (z ^ (z >> 27)) * <uint64_t>MIX2
    return z ^ (z >> 31)


# mix64(key + ((end << 16) | length) * GAMMA), split as a sum (length < 2**16): the samplers
# add the end's part once per position.
cdef inline uint64_t _end_key(uint64_t key, int64_t end) noexcept nogil:
    return key + (<uint64_t>end << 16) * <uint64_t>GAMMA


cdef inline uint64_t _draw_at(uint64_t end_key, int64_t length) noexcept nogil:
    return _mix64(end_key + <uint64_t>length * <uint64_t>GAMMA)


cdef inline uint64_t _draw(uint64_t key, int64_t end, int64_t length) noexcept nogil:
    return _draw_at(_end_key(key, end), length)


cdef inline double _unit(uint64_t bits) noexcept nogil:
    """u in [0, 1): the top 53 of 64 random bits."""
    return <double>(bits >> 11) * (1.0 / 9007199254740992.0)


cdef inline uint64_t _stream_key(uint64_t seed, uint64_t index) noexcept nogil:
    return _mix64(_mix64(seed) + (index + 1) * <uint64_t>GAMMA)


def stream_key(uint64_t seed, uint64_t index):
    """The stream key of text number `index` of a call seeded with `seed`."""
    return _stream_key(seed, index)


def draw(uint64_t key, int64_t end, int64_t length):
    """The 64 random bits a candidate piece (end, length) draws in stream `key` (for tests)."""
    return _draw(key, end, length)


def exp_neg(double x):
    """The exact sampler's e**x (for tests: _fastexp.exp_neg must give the same bits)."""
    return _exp_neg(x)


def _init_exp_table():
    cdef int j
    for j in range(256):
        _exp2_256[j] = EXP2_256[j]


_init_exp_table()


# Viterbi Sampling accepts iff u < sigmoid(x), x = alpha * (cand - best).  Most candidates are
# settled without exp(): u's top 8 bits give a bucket q with u in [q/256, (q+1)/256), and x
# against logit() of the bucket's edges (with a margin far above rounding error) decides the
# test exactly as the full formula would.  Only x within the margin of an edge falls through
# to exp().  _logit[q] is the upper edge of bucket q, _logit[256 + q] its lower edge.
DEF LOGIT_MARGIN = 1e-7
DEF LN2 = 0.6931471805599453        # ln 2 correctly rounded (0x1.62e42fefa39efp-1)
DEF FOLD_ABOVE = 1e100              # exact sampling: see the end of a position
ctypedef struct Bucket:
    # The edges of bucket q divided by alpha (units of score): take iff best <= cand - take,
    # keep best iff best >= cand - keep; in between, the full formula decides.
    double take
    double keep


cdef double _logit[512]
cdef Bucket _buckets_open[256]       # every test falls through to exp()


cdef void _init_logit_tables() noexcept:
    cdef int q
    for q in range(256):
        _logit[q] = INFINITY if q == 255 else log((q + 1.0) / (255.0 - q)) + LOGIT_MARGIN
        _logit[256 + q] = -INFINITY if q == 0 else log(q / (256.0 - q)) - LOGIT_MARGIN
        _buckets_open[q].take = 1e300
        _buckets_open[q].keep = -1e300


_init_logit_tables()


cdef inline bint _sigmoid_below(double x, uint64_t bits) noexcept nogil:
    """The full test u < sigmoid(x), u being the top 53 bits of `bits` as a double in [0, 1)."""
    return _unit(bits) < 1.0 / (1.0 + exp(-x))


# --------------------------------------------------------------------------------------
# The trie as a double array
# --------------------------------------------------------------------------------------
# Child of node x by byte c is t = base[x] + c, valid iff check[t] == x.  One 16-byte record
# per node holds both and the node's log-probability, so each step of a walk touches a single
# cache line.  A node that is not a piece has logp = -inf: its candidate never wins, so the
# deterministic loop needs no branch on it.

ctypedef struct Node:
    int32_t base
    int32_t check
    double logp

ctypedef struct Trie:
    Node* nodes
    int32_t* node_pid       # piece index of a terminal node (cold: read when backtracking)
    int32_t* piece_len
    int64_t size
    int32_t max_len
    double min_logp

# Per-call scratch space: ring buffers of scores (and of sums, for exact sampling), the route
# array of the current chunk, and the output buffer of piece indices.
ctypedef struct Work:
    # The live walks of the Viterbi loop, oldest (= longest match so far) first: trie state,
    # start position, and the score at the start.  At most max_len + 1 are alive.
    int32_t* act_x
    int64_t* act_s
    double* act_sc
    double* act_t           # exact sampling: Z at the start = exp(act_sc) * act_t
    int32_t* route
    int64_t route_cap
    int32_t* out
    int64_t out_len
    int64_t out_cap
    uint8_t* utf8           # a str text of a batch, encoded (see _utf8_encode)
    int64_t utf8_cap
    const Bucket* buckets   # Viterbi Sampling: the call's _bucket_table


cdef int _work_init(Work* w, const Trie* t) noexcept nogil:
    memset(w, 0, sizeof(Work))
    w.act_x = <int32_t*>malloc((t.max_len + 2) * sizeof(int32_t))
    w.act_s = <int64_t*>malloc((t.max_len + 2) * sizeof(int64_t))
    w.act_sc = <double*>malloc((t.max_len + 2) * sizeof(double))
    w.act_t = <double*>malloc((t.max_len + 2) * sizeof(double))
    return -1 if not (w.act_x and w.act_s and w.act_sc and w.act_t) else 0


cdef void _work_free(Work* w) noexcept nogil:
    free(w.act_x)
    free(w.act_s)
    free(w.act_sc)
    free(w.act_t)
    free(w.route)
    free(w.out)
    free(w.utf8)
    memset(w, 0, sizeof(Work))


cdef int _reserve(Work* w, int64_t route_need, int64_t out_need) noexcept nogil:
    cdef void* p
    cdef int64_t cap
    if route_need > w.route_cap:
        cap = route_need if route_need > 2 * w.route_cap else 2 * w.route_cap
        p = realloc(w.route, cap * sizeof(int32_t))
        if p == NULL:
            return -1
        w.route = <int32_t*>p
        w.route_cap = cap
    if out_need > w.out_cap:
        cap = out_need if out_need > 2 * w.out_cap else 2 * w.out_cap
        p = realloc(w.out, cap * sizeof(int32_t))
        if p == NULL:
            return -1
        w.out = <int32_t*>p
        w.out_cap = cap
    return 0


# Bucket tables by alpha, built once (they depend on alpha only) and never changed after:
# a call holds a reference to its table while the GIL is released.
_bucket_tables = {}


cdef bytes _bucket_table(double alpha):
    """The bucket edges divided by alpha (as 256 Bucket records), for Viterbi Sampling's test
    best <= cand - edge / alpha: no subtract or multiply on the chain from one candidate's
    best to the next, only a compare and a blend.  Edges are clamped to +-1e300 (scores are
    far smaller), so that no inf - inf appears."""
    cdef bytes table = _bucket_tables.get(alpha)
    cdef Bucket* bk
    cdef double inv
    cdef int q
    if table is None:
        table = PyBytes_FromStringAndSize(NULL, 256 * sizeof(Bucket))
        bk = <Bucket*>PyBytes_AS_STRING(table)
        inv = 1.0 / alpha       # one more rounding than a division, far inside the margin
        for q in range(256):
            bk[q].take = _min_f64(_max_f64(_logit[q] * inv, -1e300), 1e300)
            bk[q].keep = _min_f64(_max_f64(_logit[256 + q] * inv, -1e300), 1e300)
        if len(_bucket_tables) >= 64:
            _bucket_tables.clear()
        _bucket_tables[alpha] = table
    return table


cdef inline const Bucket* _viterbi_buckets(const Trie* t, int64_t n, double alpha,
                                           const Work* w) noexcept nogil:
    """The bucket table for a chunk of n bytes.  The rescaled test differs from alpha *
    (cand - best) against the edges by the rounding of the larger operands, ~|cand| * alpha
    * 2**-51 in units of x, and |cand| <= n * |min logp|: while that stays 16 times inside
    LOGIT_MARGIN the fast test is exact.  Beyond it (lines of more than 5e7 / (alpha * |min
    logp|) bytes, ~25 MB at alpha = 0.1) every test takes the full formula."""
    if w.buckets == NULL or not (alpha * <double>n * -t.min_logp <= 5e7):
        return _buckets_open
    return w.buckets


cdef inline (double, double) _fold_exponent(double base, double total) noexcept nogil:
    """exp(base) * total (total >= 1, normal) as exp(base + k ln 2) * m, m in [1, 2)."""
    cdef uint64_t bits
    cdef int64_t k
    cdef double m
    memcpy(&bits, &total, 8)
    k = <int64_t>(bits >> 52) - 1023
    bits = (bits & 0x000FFFFFFFFFFFFFULL) | 0x3FF0000000000000ULL
    memcpy(&m, &bits, 8)
    return base + <double>k * LN2, m


cdef int _segment_chunk(const Trie* t, const uint8_t* text, int64_t n, int64_t offset,
                        int mode, double alpha, uint64_t key, Work* w) noexcept nogil:
    """Segment text[0:n] (no chunking inside) and append its piece indices to w.out.

    `offset` is the chunk's position in the whole text: random draws are keyed by absolute
    positions, so a text's samples do not depend on how it was cut into chunks.
    """
    if mode == 0:
        return _segment_chunk_det(t, text, n, offset, alpha, key, w)
    if mode == 1:
        return _segment_chunk_viterbi(t, text, n, offset, alpha, key, w)
    return _segment_chunk_exact(t, text, n, offset, alpha, key, w)


# One body, specialised per mode by constant propagation: each mode gets a function (and so a
# register allocation) of its own.
cdef int _segment_chunk_det(const Trie* t, const uint8_t* text, int64_t n, int64_t offset,
                            double alpha, uint64_t key, Work* w) noexcept nogil:
    return _segment_chunk_mode(t, text, n, offset, 0, alpha, key, w)


cdef int _segment_chunk_viterbi(const Trie* t, const uint8_t* text, int64_t n, int64_t offset,
                                double alpha, uint64_t key, Work* w) noexcept nogil:
    return _segment_chunk_mode(t, text, n, offset, 1, alpha, key, w)


cdef int _segment_chunk_exact(const Trie* t, const uint8_t* text, int64_t n, int64_t offset,
                              double alpha, uint64_t key, Work* w) noexcept nogil:
    return _segment_chunk_mode(t, text, n, offset, 2, alpha, key, w)


cdef inline int _segment_chunk_mode(const Trie* t, const uint8_t* text, int64_t n,
                                    int64_t offset, const int mode, double alpha, uint64_t key,
                                    Work* w) noexcept nogil:
    # One pass over the bytes.  Every start position opens a walk down the trie; at byte i all
    # live walks advance by text[i] together, so every candidate piece they reach ends at
    # e = i + 1, visited oldest walk (longest piece) first, as Aho-Corasick reports them.
    # The walks' lookups are independent of each other, so the CPU overlaps their cache
    # misses, where walking from one start to the end of its match is one chain of misses.
    cdef const Node* nodes = t.nodes
    cdef int32_t* ax = w.act_x
    cdef int64_t* ast = w.act_s
    cdef double* asc = w.act_sc
    cdef int32_t* route
    cdef int32_t* out
    cdef int64_t i, e, k, lo, hi
    cdef int32_t x, nx, r, pid, tmp, na = 0, m
    cdef uint8_t c
    cdef double lp, cand, best, wgt, total, limit, start_score = 0.0, start_total = 1.0
    cdef double* att = w.act_t
    cdef const Bucket* bk = NULL
    cdef uint64_t bits, ekey
    cdef int q
    if n <= 0:
        return 0
    if mode == 1:
        bk = _viterbi_buckets(t, n, alpha, w)
    if _reserve(w, n + 1, w.out_len + n) != 0:
        return -1
    route = w.route
    for i in range(n):
        c = text[i]
        e = i + 1
        ax[na] = 0                      # the walk that starts at i
        ast[na] = i
        asc[na] = start_score
        att[na] = start_total
        na += 1
        best = -INFINITY
        total = 0.0
        r = 0
        m = 0
        ekey = _end_key(key, offset + e)
        for k in range(na):
            x = ax[k]
            nx = nodes[x].base + c
            if nodes[nx].check != x:
                continue                # this walk ends
            ax[m] = nx
            # The record this walk reads at the next byte is known now: ask for it early,
            # so its cache miss overlaps the rest of this byte's work.
            _prefetch(&nodes[nodes[nx].base + text[i + 1 if i + 1 < n else i]])
            if mode != 0:
                ast[m] = ast[k]         # only the samplers' draws need the start
            asc[m] = asc[k]
            if mode == 2:
                att[m] = att[k]
            m += 1
            lp = nodes[nx].logp
            if mode == 0:
                # Branch-free: whether a candidate wins is unpredictable (a non-piece node
                # has logp = -inf and never wins).
                cand = asc[k] + lp
                r = _select_i32(cand > best, nx, r)
                best = _max_f64(cand, best)
                continue
            if mode == 1:
                # Branch-free but for the rare exp().  A non-piece (cand = -inf) is only
                # taken while there is no best yet (best stays -inf), and then the first
                # piece always is: every end has one, the single byte.
                cand = asc[k] + lp
                bits = _draw_at(ekey, e - ast[k])
                q = <int>(bits >> 56)
                limit = cand - bk[q].take
                # unsettled iff limit < best < cand - keep: one compare (minsd), no branch
                # on the two
                if _min_f64(best - limit, (cand - bk[q].keep) - best) > 0.0:
                    limit = INFINITY if _sigmoid_below(alpha * (cand - best), bits) else -INFINITY
                r = _select_i32(best <= limit, nx, r)
                best = _pick_le(best, limit, cand, best)
                continue
            if lp == -INFINITY:
                continue
            # Exact sampling: Z[e] = sum of Z[s] * P(piece)**alpha over the candidates.  Z[s]
            # is kept as exp(asc) * att with att >= 1, Z[e] as exp(best) * total, best the
            # running maximum of asc + alpha * logp; reservoir acceptance with probability
            # weight / running total.
            cand = asc[k] + alpha * lp
            if total == 0.0:
                best = cand
                total = att[k]
                r = nx
                continue
            if cand <= best:
                wgt = att[k] * _exp_neg(cand - best)
                total = total + wgt
            else:
                total = total * _exp_neg(best - cand) + att[k]
                wgt = att[k]
                best = cand
            if _unit(_draw_at(ekey, e - ast[k])) * total < wgt:
                r = nx
        na = m
        route[e] = r
        if mode == 2:
            # Z[e] = exp(best) * total.  total >= 1 grows with the number of segmentations;
            # past FOLD_ABOVE its exponent moves into the score (exactly: where best +
            # log(total) took a log() call per byte, this is a rare, predicted branch).
            start_score = best
            start_total = total
            if total > FOLD_ABOVE:
                start_score, start_total = _fold_exponent(best, total)
        else:
            start_score = best
    # Backtrack from the end, then reverse this chunk's pieces in place.
    out = w.out
    lo = w.out_len
    e = n
    k = lo
    while e > 0:
        pid = t.node_pid[route[e]]
        out[k] = pid
        k += 1
        e -= t.piece_len[pid]
    hi = k - 1
    w.out_len = k
    while lo < hi:
        tmp = out[lo]
        out[lo] = out[hi]
        out[hi] = tmp
        lo += 1
        hi -= 1
    return 0


cdef int _segment_text(const Trie* t, const uint8_t* text, int64_t n, int64_t offset, int mode,
                       double alpha, uint64_t key, Work* w) noexcept nogil:
    """Cut text after every maximal run of b"\\n" and segment each chunk on its own.
    `offset` is the position of text[0] in the whole text (for the random draws)."""
    cdef int64_t a = 0, b
    cdef const uint8_t* nl
    while a < n:
        nl = <const uint8_t*>memchr(text + a, 10, n - a)
        if nl == NULL:
            b = n
        else:
            b = (nl - text) + 1
            while b < n and text[b] == 10:
                b += 1
        if _segment_chunk(t, text + a, b - a, offset + a, mode, alpha, key, w) != 0:
            return -1
        a = b
    return 0


# --------------------------------------------------------------------------------------
# Building the double array
# --------------------------------------------------------------------------------------

ctypedef struct SortItem:
    const uint8_t* ptr
    int32_t len
    int32_t idx


cdef int _cmp_items(const void* a, const void* b) noexcept nogil:
    cdef const SortItem* x = <const SortItem*>a
    cdef const SortItem* y = <const SortItem*>b
    cdef int32_t n = x.len if x.len < y.len else y.len
    cdef int r = memcmp(x.ptr, y.ptr, n)
    if r != 0:
        return r
    return (x.len > y.len) - (x.len < y.len)


cdef int64_t _utf8_encode(const void* data, int kind, int64_t n, Work* w) noexcept nogil:
    """UTF-8 of a str's code points (`kind` 1, 2 or 4 bytes each) into w.utf8; its length,
    -1 if out of memory, -2 at a lone surrogate (which UTF-8 cannot encode)."""
    cdef void* p
    if 4 * n > w.utf8_cap:
        p = realloc(w.utf8, 4 * n + 16)
        if p == NULL:
            return -1
        w.utf8 = <uint8_t*>p
        w.utf8_cap = 4 * n + 16
    return _utf8_write(data, kind, n, w.utf8)


cdef inline uint32_t _code_point(const void* data, int kind, int64_t i) noexcept nogil:
    if kind == 1:
        return (<const uint8_t*>data)[i]
    if kind == 2:
        return (<const uint16_t*>data)[i]
    return (<const uint32_t*>data)[i]


cdef int64_t _utf8_length(const void* data, int kind, int64_t n) noexcept nogil:
    """Length of the UTF-8 of n code points; -2 if there is a lone surrogate."""
    cdef int64_t i, k = n
    cdef uint32_t c, surrogate = 0
    for i in range(n):      # no branch in the loop: the compiler vectorizes it
        c = _code_point(data, kind, i)
        k += (c >= 0x80) + (c >= 0x800) + (c >= 0x10000)
        surrogate |= (c - 0xD800) < 0x800
    return -2 if surrogate else k


cdef int64_t _utf8_write(const void* data, int kind, int64_t n, uint8_t* o) noexcept nogil:
    """Write the UTF-8 of n code points to o (room for all of it); its length, or -2 at
    a lone surrogate."""
    cdef int64_t i = 0, j, k = 0
    cdef uint32_t c, acc
    while i < n:
        if i + 8 <= n:
            # Runs of ASCII, 8 code points at a time.
            acc = 0
            for j in range(8):
                acc |= _code_point(data, kind, i + j)
            if acc < 0x80:
                for j in range(8):
                    o[k + j] = <uint8_t>_code_point(data, kind, i + j)
                i += 8
                k += 8
                continue
        c = _code_point(data, kind, i)
        i += 1
        if c < 0x80:
            o[k] = <uint8_t>c
            k += 1
        elif c < 0x800:
            o[k] = <uint8_t>(0xC0 | (c >> 6))
            o[k + 1] = <uint8_t>(0x80 | (c & 0x3F))
            k += 2
        elif c < 0x10000:
            if 0xD800 <= c < 0xE000:
                return -2
            o[k] = <uint8_t>(0xE0 | (c >> 12))
            o[k + 1] = <uint8_t>(0x80 | ((c >> 6) & 0x3F))
            o[k + 2] = <uint8_t>(0x80 | (c & 0x3F))
            k += 3
        else:
            o[k] = <uint8_t>(0xF0 | (c >> 18))
            o[k + 1] = <uint8_t>(0x80 | ((c >> 12) & 0x3F))
            o[k + 2] = <uint8_t>(0x80 | ((c >> 6) & 0x3F))
            o[k + 3] = <uint8_t>(0x80 | (c & 0x3F))
            k += 4
    return k


def utf8_join(list spans not None):
    """The UTF-8 of text[start:end] for each (text, start, end) of `spans`, concatenated,
    without building the joined str; None if there is a lone surrogate."""
    cdef Py_ssize_t total = 0, k, a, b, m
    cdef object item
    cdef str text
    cdef list checked = []
    for item in spans:
        text, a, b = item
        if not 0 <= a <= b <= len(text):
            raise IndexError(f"span {a}:{b} out of range for a text of length {len(text)}")
        m = _utf8_length(<const uint8_t*>PyUnicode_DATA(text) + a * PyUnicode_KIND(text),
                         PyUnicode_KIND(text), b - a)
        if m < 0:
            return None
        total += m
        checked.append((text, a, b))
    out = PyBytes_FromStringAndSize(NULL, total)
    cdef uint8_t* o = <uint8_t*>PyBytes_AS_STRING(out)
    k = 0
    for text, a, b in checked:
        k += _utf8_write(<const uint8_t*>PyUnicode_DATA(text) + a * PyUnicode_KIND(text),
                         PyUnicode_KIND(text), b - a, o + k)
    return out


# Ranges of code points that are assigned (in Unicode 14 already, so their properties are
# fixed for good), have combining class 0 and NFC_Quick_Check=Yes, and are the second half
# of no canonical composition: a str made of them only is NFC.  Most text in the scripts
# they cover passes this check in C (~0.5 ns a character, where Python's
# unicodedata.is_normalized costs ~2); the rest goes through that.  The tests check every code point against
# unicodedata.  Sorted; pairs of first, last.
DEF NFC_RANGES = 21
cdef uint32_t _nfc_ranges[2 * NFC_RANGES]
_nfc_ranges[:] = [
    0x0000, 0x02FF,     # Latin, IPA
    0x03A3, 0x0482,     # Greek (most), Cyrillic
    0x0488, 0x052F,     # Cyrillic
    0x05D0, 0x05EA,     # Hebrew letters
    0x0620, 0x064A,     # Arabic letters
    0x1E00, 0x1F15,     # Latin Extended Additional
    0x2002, 0x2064,     # General Punctuation
    0x20A0, 0x20C0,     # currency signs
    0x2190, 0x2328,     # arrows, mathematical operators
    0x2460, 0x2ADB,     # enclosed alphanumerics, box drawing, shapes, symbols
    0x3000, 0x3029,     # CJK punctuation
    0x3041, 0x3096,     # Hiragana
    0x309B, 0x30FF,     # Katakana
    0x3105, 0x312F,     # Bopomofo
    0x3131, 0x318E,     # Hangul compatibility jamo
    0x3220, 0xA48C,     # CJK ideographs (Extension A, unified), Yi
    0xAC00, 0xD7A3,     # Hangul syllables
    0xFF01, 0xFFBE,     # fullwidth and halfwidth forms
    0x1F300, 0x1F6D7,   # pictographs, emoji
    0x1F900, 0x1FA53,   # supplemental symbols, emoji
    0x20000, 0x2A6DF,   # CJK Extension B
]


# The same for the Basic Multilingual Plane as a bitmap (one lookup a character, no branch).
cdef uint8_t _nfc_bmp[8192]


cdef void _nfc_fill_bmp() noexcept nogil:
    cdef int r
    cdef uint32_t c
    memset(_nfc_bmp, 0, sizeof(_nfc_bmp))
    for r in range(NFC_RANGES):
        c = _nfc_ranges[2 * r]
        while c <= _nfc_ranges[2 * r + 1] and c < 0x10000:
            _nfc_bmp[c >> 3] |= 1 << (c & 7)
            c += 1


_nfc_fill_bmp()


cdef bint _nfc_stable_astral(uint32_t c) noexcept nogil:
    cdef int r
    for r in range(NFC_RANGES):
        if _nfc_ranges[2 * r] <= c <= _nfc_ranges[2 * r + 1]:
            return True
    return False


cdef bint _nfc_stable(const void* data, int kind, Py_ssize_t n) noexcept nogil:
    """Whether a str's code points (`kind` 1, 2 or 4 bytes each) are all in _nfc_ranges,
    so that the str is certainly NFC (False: it may or may not be)."""
    cdef Py_ssize_t i
    cdef uint32_t c
    cdef uint8_t acc = 1
    if kind == 1:
        return True         # Latin-1 lies in the first range
    if kind == 2:
        for i in range(n):
            c = (<const uint16_t*>data)[i]
            acc &= _nfc_bmp[c >> 3] >> (c & 7)
        return acc
    for i in range(n):
        c = (<const uint32_t*>data)[i]
        if c < 0x10000:
            acc &= _nfc_bmp[c >> 3] >> (c & 7)
        elif not _nfc_stable_astral(c):
            return False
    return acc


def nfc_unstable_at(str text not None, Py_ssize_t start=0):
    """Index of the first code point at or after `start` that the quick check cannot clear,
    or len(text) if there is none: text[start:result] is certainly NFC."""
    cdef const uint8_t* data = <const uint8_t*>PyUnicode_DATA(text)
    cdef int kind = PyUnicode_KIND(text)
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(text), i, step
    if start < 0 or start > n:
        raise IndexError(f"start {start} out of range for a text of length {n}")
    # Long runs branch-free (see _nfc_stable), then the failing run code point by code point.
    i = start
    while i < n:
        step = n - i if n - i < 1024 else 1024
        if not _nfc_stable(data + i * kind, kind, step):
            while _nfc_stable(data + i * kind, kind, 1):
                i += 1
            return i
        i += step
    return n


ctypedef struct BatchJob:
    const Trie* trie
    int mode
    double alpha
    uint64_t* keys
    int64_t* starts         # position of each text in the stream it continues (0 if none)
    const uint8_t** ptrs    # a bytes text, or the code points of a str text ...
    int64_t* lens
    int8_t* kinds           # ... of this many bytes each (0 for bytes)
    int64_t* counts         # tokens of each text; -2: a str text with a lone surrogate
    Py_ssize_t* bounds      # block b covers texts bounds[b] .. bounds[b + 1] - 1
    Work* works             # one per block: its scratch space and its output
    int8_t* done            # block b is finished (written with release, read with acquire)
    int nblocks
    int next_block          # the next block to take (atomic)


cdef extern from *:
    """
    #if defined(_MSC_VER)
    #include <intrin.h>
    /* MSVC has no __atomic builtins; its interlocked operations are full barriers. */
    static inline int bpl_fetch_add(int* p) { return _InterlockedExchangeAdd((volatile long*)p, 1); }
    static inline void bpl_store_release(int8_t* p, int8_t v) { _InterlockedExchange8((volatile char*)p, v); }
    static inline int8_t bpl_load_acquire(const int8_t* p) { return _InterlockedOr8((volatile char*)p, 0); }
    #else
    static inline int bpl_fetch_add(int* p) { return __atomic_fetch_add(p, 1, __ATOMIC_RELAXED); }
    static inline void bpl_store_release(int8_t* p, int8_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
    static inline int8_t bpl_load_acquire(const int8_t* p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
    #endif
    """
    int _fetch_add "bpl_fetch_add"(int* p) noexcept nogil
    void _store_release "bpl_store_release"(int8_t* p, int8_t v) noexcept nogil
    int8_t _load_acquire "bpl_load_acquire"(const int8_t* p) noexcept nogil


cdef int _take_block(BatchJob* job) noexcept nogil:
    """Take the next unclaimed block and segment it; its index, or -1 when none is left."""
    cdef int b = _fetch_add(&job.next_block)
    cdef Work* w
    cdef Py_ssize_t k
    cdef int64_t before, n
    cdef const uint8_t* p
    if b >= job.nblocks:
        return -1
    w = &job.works[b]
    for k in range(job.bounds[b], job.bounds[b + 1]):
        before = w.out_len
        p = job.ptrs[k]
        n = job.lens[k]
        if job.kinds[k] != 0:
            # str texts are encoded here, in parallel, rather than one by one under the GIL
            n = _utf8_encode(p, job.kinds[k], n, w)
            if n == -2:
                job.counts[k] = -2
                continue
            if n < 0:
                w.out_len = -1
                break
            p = w.utf8
        if _segment_text(job.trie, p, n, job.starts[k], job.mode, job.alpha,
                         job.keys[k], w) != 0:
            w.out_len = -1
            break
        job.counts[k] = w.out_len - before
    _store_release(&job.done[b], 1)
    return b


def _work_blocks(size_t addr):
    """A pool thread's part of a BatchJob (at address addr): blocks until none is left."""
    cdef BatchJob* job = <BatchJob*>addr
    with nogil:
        while _take_block(job) >= 0:
            pass


# Free slots of the double array form a doubly linked list, stored at index slot + 1 so that
# the sentinel (slot -1) sits at index 0 and never moves when the arrays grow.
ctypedef struct FreeList:
    int32_t* nxt
    int32_t* prv


cdef inline void _fl_unlink(FreeList* fl, int32_t slot) noexcept nogil:
    cdef int32_t a = fl.prv[slot + 1], b = fl.nxt[slot + 1]
    fl.nxt[a + 1] = b
    fl.prv[b + 1] = a


cdef class Vocab:
    """The compiled automaton of a vocabulary (private; the public surface is Tokenizer).

    Vocab(pieces, logp): `pieces` is a list of distinct non-empty bytes that includes all
    256 single bytes; `logp` their log-probabilities (float64, any buffer).  Piece indices
    are positions in `pieces`.
    """
    cdef Trie t
    cdef readonly int num_pieces
    cdef readonly int max_len
    cdef tuple _pieces
    cdef tuple _ids

    def __cinit__(self):
        memset(&self.t, 0, sizeof(Trie))

    def __dealloc__(self):
        free(self.t.nodes)
        free(self.t.node_pid)
        free(self.t.piece_len)

    def __init__(self, list pieces not None, const double[::1] logp not None):
        cdef Py_ssize_t n = len(pieces), i
        cdef SortItem* items = NULL
        cdef object p
        if logp.shape[0] != n:
            raise ValueError(f"{n} pieces but {logp.shape[0]} log-probabilities")
        if n >= 2**31 - 1024:
            raise ValueError("too many pieces")
        self._pieces = tuple(pieces)
        self._ids = tuple(range(ID_OFFSET, ID_OFFSET + n))
        self.num_pieces = <int>n
        self.t.piece_len = <int32_t*>malloc((n + 1) * sizeof(int32_t))
        items = <SortItem*>malloc((n + 1) * sizeof(SortItem))
        try:
            if self.t.piece_len == NULL or items == NULL:
                raise MemoryError()
            for i in range(n):
                p = self._pieces[i]
                if type(p) is not bytes:
                    raise TypeError(f"piece {i} is {type(p).__name__}, not bytes")
                if len(p) == 0:
                    raise ValueError(f"piece {i} is empty")
                if len(p) > MAX_PIECE_LEN:
                    raise ValueError(f"piece {i} is {len(p)} bytes long; "
                                     f"at most {MAX_PIECE_LEN} are supported")
                if not (-INFINITY < logp[i] <= 0.0):
                    raise ValueError(f"piece {i} has log-probability {logp[i]!r}, "
                                     "not a finite number <= 0")
                items[i].ptr = <const uint8_t*>PyBytes_AS_STRING(p)
                items[i].len = <int32_t>len(p)
                items[i].idx = <int32_t>i
                self.t.piece_len[i] = items[i].len
                self.t.min_logp = min(self.t.min_logp, logp[i])
                if items[i].len > self.max_len:
                    self.max_len = items[i].len
            qsort(items, n, sizeof(SortItem), _cmp_items)
            for i in range(1, n):
                if _cmp_items(&items[i - 1], &items[i]) == 0:
                    raise ValueError(f"duplicate piece {self._pieces[items[i].idx]!r}")
            self._build(items, n, logp)
        finally:
            free(items)
        self.t.max_len = self.max_len
        missing = [b for b in range(256) if self.find(bytes((b,))) < 0]
        if missing:
            raise ValueError("the vocabulary lacks the single bytes "
                             + ", ".join(f"0x{b:02x}" for b in missing[:16])
                             + (f" and {len(missing) - 16} more" if len(missing) > 16 else ""))

    cdef int _build(self, SortItem* items, Py_ssize_t n, const double[::1] logp) except -1:
        cdef Py_ssize_t total = 1, i, d, lcp, q_head, q_tail
        for i in range(n):
            total += items[i].len
        cdef int32_t* first = <int32_t*>malloc(total * sizeof(int32_t))
        cdef int32_t* last = <int32_t*>malloc(total * sizeof(int32_t))
        cdef int32_t* sib = <int32_t*>malloc(total * sizeof(int32_t))
        cdef uint8_t* label = <uint8_t*>malloc(total)
        cdef int32_t* tpid = <int32_t*>malloc(total * sizeof(int32_t))
        cdef int32_t* path = <int32_t*>malloc((MAX_PIECE_LEN + 2) * sizeof(int32_t))
        cdef int32_t* pos = NULL
        cdef int32_t* order = NULL
        cdef uint16_t* depth = <uint16_t*>malloc(total * sizeof(uint16_t))
        cdef int32_t cursor
        cdef FreeList fl
        cdef int32_t count = 1, node, child, u, c0, b = 0, p, slot, pu
        cdef const uint8_t* prev = NULL
        cdef int32_t prev_len = 0
        cdef bint fits
        fl.nxt = NULL
        fl.prv = NULL
        try:
            if not (first and last and sib and label and tpid and path and depth):
                raise MemoryError()
            # 1. A pointer trie from the sorted pieces.  Sorted input means each node's
            #    children are created in ascending byte order, so they are appended at the tail.
            first[0] = -1
            last[0] = -1
            tpid[0] = -1
            depth[0] = 0
            path[0] = 0
            for i in range(n):
                lcp = 0
                while lcp < prev_len and lcp < items[i].len and prev[lcp] == items[i].ptr[lcp]:
                    lcp += 1
                for d in range(lcp, items[i].len):
                    node = count
                    count += 1
                    first[node] = -1
                    last[node] = -1
                    sib[node] = -1
                    tpid[node] = -1
                    label[node] = items[i].ptr[d]
                    depth[node] = <uint16_t>(d + 1)
                    u = path[d]
                    if last[u] < 0:
                        first[u] = node
                    else:
                        sib[last[u]] = node
                    last[u] = node
                    path[d + 1] = node
                tpid[path[items[i].len]] = items[i].idx
                prev = items[i].ptr
                prev_len = items[i].len

            # 2. Placement order.  The two top levels go breadth first, so the hot shallow
            #    nodes sit together at the front; below them each subtree goes depth first
            #    from a moving cursor, so a walk down a word touches neighbouring cache lines.
            #    Node ids are already a preorder (sorted insertion), so a subtree is the id
            #    range that follows its root while the depth stays greater.
            order = <int32_t*>malloc(count * sizeof(int32_t))
            if not order:
                raise MemoryError()
            q_tail = 0
            order[q_tail] = 0
            q_tail += 1
            node = first[0]
            while node >= 0:
                order[q_tail] = node
                q_tail += 1
                node = sib[node]
            q_head = q_tail
            for i in range(1, q_head):
                node = first[order[i]]
                while node >= 0:
                    # a depth-2 node: its whole subtree, in preorder
                    d = node
                    order[q_tail] = d
                    q_tail += 1
                    d += 1
                    while d < count and depth[d] > 2:
                        order[q_tail] = <int32_t>d
                        q_tail += 1
                        d += 1
                    node = sib[node]

            # 3. Place: each node's children take the first base (from the start of the free
            #    list for the top levels, from the cursor below) where every child slot is free.
            pos = <int32_t*>malloc(count * sizeof(int32_t))
            if not pos:
                raise MemoryError()
            self._grow(&fl, 2 * count + 512)
            _fl_unlink(&fl, 0)
            self.t.nodes[0].check = -2       # the root: no parent can match it
            pos[0] = 0
            cursor = -1
            for i in range(q_tail):
                u = order[i]
                pu = pos[u]
                child = first[u]
                if child < 0:
                    continue                 # a leaf keeps base 0; check[] never matches it
                c0 = label[child]
                if depth[u] < 2 or cursor < 0:
                    p = fl.nxt[0]
                else:
                    # Slots taken since the cursor was set keep their old forward links, which
                    # lead (ascending) to a free slot or to the end.
                    p = cursor
                    while p >= 0 and self.t.nodes[p].check != -1:
                        p = fl.nxt[p + 1]
                    if p < 0:
                        p = fl.nxt[0]
                while True:
                    if p < 0:
                        p = <int32_t>self.t.size
                        self._grow(&fl, 2 * self.t.size)
                        continue
                    if p + 256 > self.t.size:
                        self._grow(&fl, 2 * self.t.size)
                        continue
                    b = p - c0
                    fits = b >= 1
                    node = sib[child]
                    while fits and node >= 0:
                        fits = self.t.nodes[b + label[node]].check == -1
                        node = sib[node]
                    if fits:
                        break
                    p = fl.nxt[p + 1]
                if depth[u] >= 2:
                    cursor = p
                self.t.nodes[pu].base = b
                node = child
                while node >= 0:
                    slot = b + label[node]
                    _fl_unlink(&fl, slot)
                    self.t.nodes[slot].check = pu
                    if tpid[node] >= 0:
                        self.t.nodes[slot].logp = logp[tpid[node]]
                        self.t.node_pid[slot] = tpid[node]
                    pos[node] = slot
                    node = sib[node]
        finally:
            free(first); free(last); free(sib); free(label); free(tpid); free(path)
            free(pos); free(order); free(depth); free(fl.nxt); free(fl.prv)
        return 0

    cdef int _grow(self, FreeList* fl, int64_t new) except -1:
        """Grow the node arrays to `new` slots; the new slots join the free list's tail."""
        cdef int64_t old = self.t.size, i
        cdef int32_t tail
        cdef void* q
        if new > 2**31 - 1024:
            raise MemoryError("vocabulary too large for a 32-bit double array")
        q = realloc(self.t.nodes, new * sizeof(Node))
        if q == NULL:
            raise MemoryError()
        self.t.nodes = <Node*>q
        q = realloc(self.t.node_pid, new * sizeof(int32_t))
        if q == NULL:
            raise MemoryError()
        self.t.node_pid = <int32_t*>q
        q = realloc(fl.nxt, (new + 1) * sizeof(int32_t))
        if q == NULL:
            raise MemoryError()
        fl.nxt = <int32_t*>q
        q = realloc(fl.prv, (new + 1) * sizeof(int32_t))
        if q == NULL:
            raise MemoryError()
        fl.prv = <int32_t*>q
        if old == 0:
            fl.nxt[0] = -1
            fl.prv[0] = -1
        tail = fl.prv[0]
        for i in range(old, new):
            self.t.nodes[i].base = 0
            self.t.nodes[i].check = -1
            self.t.nodes[i].logp = -INFINITY
            self.t.node_pid[i] = -1
            fl.nxt[tail + 1] = <int32_t>i
            fl.prv[i + 1] = tail
            tail = <int32_t>i
        fl.nxt[tail + 1] = -1
        fl.prv[0] = tail
        self.t.size = new
        return 0

    cdef int32_t _find(self, const uint8_t* s, Py_ssize_t n) noexcept nogil:
        cdef int32_t x = 0, nx
        cdef Py_ssize_t i
        for i in range(n):
            nx = self.t.nodes[x].base + s[i]
            if self.t.nodes[nx].check != x:
                return -1
            x = nx
        return self.t.node_pid[x]

    def find(self, bytes piece not None):
        """Index of `piece` in the vocabulary, or -1."""
        if len(piece) == 0:
            return -1
        return self._find(<const uint8_t*>PyBytes_AS_STRING(piece), len(piece))

    # ---------------------------------------------------------------- segmentation
    cdef int _run(self, bytes data, int mode, double alpha, uint64_t key, int64_t offset,
                  Work* w) except -1:
        cdef const uint8_t* p = <const uint8_t*>PyBytes_AS_STRING(data)
        cdef int64_t n = PyBytes_GET_SIZE(data)
        cdef int rc
        cdef bytes table = _bucket_table(alpha) if mode == 1 else None
        if _work_init(w, &self.t) != 0:
            raise MemoryError()
        if table is not None:
            w.buckets = <const Bucket*>PyBytes_AS_STRING(table)
        with nogil:
            rc = _segment_text(&self.t, p, n, offset, mode, alpha, key, w)
        if rc != 0:
            raise MemoryError(f"out of memory segmenting {n} bytes")
        return 0

    def tokenize(self, bytes data not None, int mode=0, double alpha=0.0, uint64_t key=0,
                 *, int64_t offset=0):
        """Segment `data`; a list of the vocabulary's own bytes objects.

        `offset`: where `data` starts in a longer text whose random draws it continues (a
        stream encoded block by block draws as the whole text would)."""
        return self._to_list(data, mode, alpha, key, offset, self._pieces)

    def encode(self, bytes data not None, int mode=0, double alpha=0.0, uint64_t key=0,
               *, int64_t offset=0):
        """Segment `data`; a list of token ids (piece index + ID_OFFSET)."""
        return self._to_list(data, mode, alpha, key, offset, self._ids)

    cdef list _to_list(self, bytes data, int mode, double alpha, uint64_t key, int64_t offset,
                       tuple table):
        # The list holds shared objects from `table` (the pieces or their ids): no object
        # is created per token.
        cdef Work w
        cdef list result
        try:
            self._run(data, mode, alpha, key, offset, &w)
            result = PyList_New(w.out_len)
            _fill_list(result, 0, table, w.out, w.out_len)
            return result
        finally:
            _work_free(&w)

    def encode_batch(self, list texts not None, int mode, double alpha, uint64_t seed,
                     int num_threads=1, executor=None, int output=0, bint bos=False,
                     bint eos=False, const int64_t[::1] starts=None, uint64_t stream=0,
                     prepare=None, Py_ssize_t min_bytes_per_thread=0):
        """Segment every text of `texts` on `num_threads` threads, GIL released.

        A text is bytes, or a str already NFC-normalized (the threads encode it to UTF-8;
        a lone surrogate raises UnicodeEncodeError).  With `prepare`, any other text, and
        any str that the quick check (see _nfc_ranges) cannot tell NFC, is replaced by
        prepare(text) first, which must return such a text.  With `min_bytes_per_thread`,
        fewer threads run when there are fewer bytes (code points of a str) per thread.

        Text k draws from stream_key(seed, k); or, when `starts` is given, the texts are
        consecutive pieces of one text cut at chunk boundaries, text k beginning at byte
        starts[k], and all draw from stream_key(seed, stream) as that whole text would.
        The texts are split into contiguous blocks of about equal size that this thread and
        num_threads - 1 tasks submitted to `executor` take in turn; a text's result depends
        only on the text and its stream, so results never depend on the number of threads.

        `output`: OUT_ARRAYS gives (ids, offsets) with the ids of text k in
        ids[offsets[k]:offsets[k + 1]] (uint32, int64 numpy arrays); OUT_IDS a list of id
        lists; OUT_PIECES a list of piece lists.  `bos`/`eos` add ids 1/2 around every text
        (not for OUT_PIECES).
        """
        cdef Py_ssize_t n = len(texts), k, r, total_bytes = 0, acc
        cdef int nblocks, emitted = 0
        cdef list result = None
        cdef BatchJob job
        cdef object obj
        cdef list held = []         # what prepare() returned: the job points into it
        if num_threads < 1:
            raise ValueError("num_threads must be >= 1")
        memset(&job, 0, sizeof(BatchJob))
        job.trie = &self.t
        job.mode = mode
        job.alpha = alpha
        job.keys = <uint64_t*>malloc((n + 1) * sizeof(uint64_t))
        job.starts = <int64_t*>malloc((n + 1) * sizeof(int64_t))
        job.ptrs = <const uint8_t**>malloc((n + 1) * sizeof(uint8_t*))
        job.lens = <int64_t*>malloc((n + 1) * sizeof(int64_t))
        job.counts = <int64_t*>malloc((n + 1) * sizeof(int64_t))
        job.kinds = <int8_t*>malloc((n + 1) * sizeof(int8_t))
        try:
            if not (job.keys and job.starts and job.ptrs and job.lens and job.counts and job.kinds):
                raise MemoryError()
            if starts is not None and starts.shape[0] != n:
                raise ValueError(f"{n} texts but {starts.shape[0]} starts")
            for k in range(n):
                obj = texts[k]
                if prepare is not None and type(obj) is not bytes and (
                        type(obj) is not str or not _nfc_stable(
                            PyUnicode_DATA(obj), PyUnicode_KIND(obj), PyUnicode_GET_LENGTH(obj))):
                    obj = prepare(obj)
                    held.append(obj)
                if type(obj) is bytes:
                    job.ptrs[k] = <const uint8_t*>PyBytes_AS_STRING(obj)
                    job.lens[k] = PyBytes_GET_SIZE(obj)
                    job.kinds[k] = 0
                elif type(obj) is str:
                    job.ptrs[k] = <const uint8_t*>PyUnicode_DATA(obj)
                    job.lens[k] = PyUnicode_GET_LENGTH(obj)
                    job.kinds[k] = <int8_t>PyUnicode_KIND(obj)
                else:
                    raise TypeError(f"text {k} is {type(obj).__name__}, not bytes or str")
                job.keys[k] = _stream_key(seed, stream if starts is not None else k)
                job.starts[k] = 0 if starts is None else starts[k]
                total_bytes += job.lens[k]
            if min_bytes_per_thread > 0:
                num_threads = <int>min(num_threads, max(1, total_bytes // min_bytes_per_thread))
            if num_threads > n:
                num_threads = <int>max(n, 1)
            # Blocks are taken in turn by the pool threads and by this thread, which also
            # turns each finished block into Python objects (that needs the GIL, so it is
            # serial): the pool threads take more blocks meanwhile, and the serial part
            # overlaps the parallel one.
            nblocks = 1 if num_threads == 1 else <int>min(n, 16 * num_threads)
            job.nblocks = nblocks
            job.bounds = <Py_ssize_t*>malloc((nblocks + 1) * sizeof(Py_ssize_t))
            job.works = <Work*>malloc(nblocks * sizeof(Work))
            job.done = <int8_t*>malloc(nblocks)
            if not (job.bounds and job.works and job.done):
                raise MemoryError()
            memset(job.works, 0, nblocks * sizeof(Work))
            memset(job.done, 0, nblocks)
            job.bounds[0] = 0
            r = 1
            acc = 0
            for k in range(n):
                acc += job.lens[k]
                while r < nblocks and acc * nblocks >= total_bytes * r:
                    job.bounds[r] = k + 1
                    r += 1
            while r <= nblocks:
                job.bounds[r] = n
                r += 1
            table = _bucket_table(alpha) if mode == 1 else None
            for r in range(nblocks):
                if _work_init(&job.works[r], &self.t) != 0:
                    raise MemoryError()
                if table is not None:
                    job.works[r].buckets = <const Bucket*>PyBytes_AS_STRING(table)
            addr = <size_t>&job
            futures = []
            if num_threads > 1 and executor is not None:
                futures = [executor.submit(_work_blocks, addr) for r in range(num_threads - 1)]
            try:
                if output == OUT_ARRAYS:
                    with nogil:
                        while _take_block(&job) >= 0:
                            pass
                else:
                    result = PyList_New(n)
                    table = self._pieces if output == OUT_PIECES else self._ids
                    bos = bos and output == OUT_IDS
                    eos = eos and output == OUT_IDS
                    while True:
                        with nogil:
                            r = _take_block(&job)
                        emitted = self._emit_rows(&job, emitted, result, table, bos, eos)
                        if r < 0:
                            break
            finally:
                # A pool task not yet started is not waited for: this thread has done its
                # blocks (so a call from inside a busy pool cannot deadlock).
                for f in futures:
                    if not f.cancel():
                        f.result()
            for r in range(nblocks):
                if job.works[r].out_len < 0:
                    raise MemoryError("out of memory while segmenting")
            for k in range(n):
                if job.counts[k] == -2:
                    texts[k].encode("utf-8")     # raises UnicodeEncodeError, naming the character
            if output == OUT_ARRAYS:
                return self._to_arrays(&job, n, bos, eos)
            self._emit_rows(&job, emitted, result, table, bos, eos)
            return result
        finally:
            if job.works != NULL:
                for r in range(job.nblocks):
                    _work_free(&job.works[r])
            free(job.works)
            free(job.done)
            free(job.bounds)
            free(job.keys)
            free(job.starts)
            free(job.ptrs)
            free(job.lens)
            free(job.counts)
            free(job.kinds)

    cdef tuple _to_arrays(self, BatchJob* job, Py_ssize_t n, bint bos, bint eos):
        cdef Py_ssize_t k, i, r
        cdef int64_t total = 0
        cdef const int32_t* src
        for k in range(n):
            total += job.counts[k] + bos + eos
        ids = _np.empty(total, dtype=_np.uint32)
        offsets = _np.empty(n + 1, dtype=_np.int64)
        cdef uint32_t[::1] idv = ids
        cdef int64_t[::1] offv = offsets
        cdef int64_t pos = 0
        offv[0] = 0
        for r in range(job.nblocks):
            src = job.works[r].out
            for k in range(job.bounds[r], job.bounds[r + 1]):
                if bos:
                    idv[pos] = 1
                    pos += 1
                for i in range(job.counts[k]):
                    idv[pos + i] = <uint32_t>(src[i] + ID_OFFSET)
                pos += job.counts[k]
                src += job.counts[k]
                if eos:
                    idv[pos] = 2
                    pos += 1
                offv[k + 1] = pos
        return ids, offsets

    cdef int _emit_rows(self, BatchJob* job, int first, list result, tuple table, bint bos,
                        bint eos) except -1:
        """Fill the rows of result for the finished blocks first, first + 1, ... (stopping
        at the first unfinished one); the next block to emit."""
        cdef Py_ssize_t k
        cdef int b = first
        cdef const int32_t* src
        cdef list row
        cdef object item
        while b < job.nblocks and _load_acquire(&job.done[b]):
            if job.works[b].out_len < 0:
                return job.nblocks      # out of memory: reported by the caller
            src = job.works[b].out
            for k in range(job.bounds[b], job.bounds[b + 1]):
                if job.counts[k] < 0:
                    continue            # a lone surrogate: reported by the caller
                row = PyList_New(job.counts[k] + bos + eos)
                if bos:
                    item = 1
                    Py_INCREF(item)
                    PyList_SET_ITEM(row, 0, item)
                _fill_list(row, bos, table, src, job.counts[k])
                if eos:
                    item = 2
                    Py_INCREF(item)
                    PyList_SET_ITEM(row, job.counts[k] + bos, item)
                src += job.counts[k]
                # A row holds only ints or bytes, so it can never be part of a cycle: like a
                # tuple of such objects it need not be tracked by the cycle collector, which
                # would otherwise walk every row of the batch (more than once, as they are
                # promoted through its generations), all of it serial.
                PyObject_GC_UnTrack(row)
                Py_INCREF(row)
                PyList_SET_ITEM(result, k, row)
            b += 1
        return b

    def matches(self, bytes data not None):
        """Every (start, end, piece index) occurrence in `data`, by end then longest first."""
        cdef const uint8_t* p = <const uint8_t*>PyBytes_AS_STRING(data)
        cdef int64_t n = len(data), s, i
        cdef int32_t x, nx
        found = []
        for s in range(n):
            x = 0
            i = s
            while i < n:
                nx = self.t.nodes[x].base + p[i]
                if self.t.nodes[nx].check != x:
                    break
                x = nx
                i += 1
                if self.t.node_pid[x] >= 0:
                    found.append((s, i, self.t.node_pid[x]))
        found.sort(key=lambda m: (m[1], m[0]))
        return found

    def walk_floor(self, bytes data not None):
        """Benchmark floor: the decoding loop's walk over the trie, visiting every match,
        with no Viterbi.  Returns the number of matches (so the work cannot be optimised
        away)."""
        cdef const uint8_t* p = <const uint8_t*>PyBytes_AS_STRING(data)
        cdef int64_t n = len(data), i, count = 0
        cdef int32_t x, nx, k, m, na = 0
        cdef const Node* nodes = self.t.nodes
        cdef Work w
        if _work_init(&w, &self.t) != 0:
            _work_free(&w)
            raise MemoryError()
        try:
            with nogil:
                for i in range(n):
                    w.act_x[na] = 0
                    na += 1
                    m = 0
                    for k in range(na):
                        x = w.act_x[k]
                        nx = nodes[x].base + p[i]
                        if nodes[nx].check != x:
                            continue
                        w.act_x[m] = nx
                        m += 1
                        count += nodes[nx].logp != -INFINITY
                    na = m
            return count
        finally:
            _work_free(&w)


# --------------------------------------------------------------------------------------
# Reading upstream's model file fast
# --------------------------------------------------------------------------------------
# The standard json module alone takes about 1/3 of the time budget of a whole load, so the
# common case, {"base64": [id, "text", count], ...}, is scanned here.  The scanner accepts a
# subset of JSON and bails out (FastParseError) on anything else; model.py then parses the
# file with the json module, which is authoritative for error messages and odd-but-valid files.

class FastParseError(ValueError):
    pass


cdef int8_t _B64[256]
cdef void _init_b64() noexcept:
    cdef int i
    cdef bytes alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    for i in range(256):
        _B64[i] = -1
    for i in range(64):
        _B64[<uint8_t>alphabet[i]] = i


_init_b64()


cdef inline Py_ssize_t _skip_ws(const uint8_t* p, Py_ssize_t i, Py_ssize_t n) noexcept nogil:
    while i < n and (p[i] == 32 or p[i] == 10 or p[i] == 13 or p[i] == 9):
        i += 1
    return i


cdef Py_ssize_t _expect(const uint8_t* p, Py_ssize_t i, Py_ssize_t n, uint8_t c) except -1:
    i = _skip_ws(p, i, n)
    if i >= n or p[i] != c:
        raise FastParseError(i)
    return i + 1


cdef Py_ssize_t _parse_int(const uint8_t* p, Py_ssize_t i, Py_ssize_t n, int64_t* out) except -1:
    cdef Py_ssize_t start
    cdef int64_t v = 0
    cdef bint neg = False
    i = _skip_ws(p, i, n)
    if i < n and p[i] == 45:  # '-'
        neg = True
        i += 1
    start = i
    while i < n and 48 <= p[i] <= 57:
        v = v * 10 + (p[i] - 48)
        i += 1
        if i - start > 18:
            raise FastParseError(i)
    if i == start or (p[start] == 48 and i - start > 1):
        raise FastParseError(i)
    if i < n and (p[i] == 46 or p[i] == 101 or p[i] == 69):  # a float
        raise FastParseError(i)
    out[0] = -v if neg else v
    return i


cdef Py_ssize_t _skip_string(const uint8_t* p, Py_ssize_t i, Py_ssize_t n) except -1:
    """Skip a JSON string starting at its opening quote; return the index after it."""
    cdef Py_ssize_t k
    i += 1
    while i < n:
        if p[i] == 34:
            return i + 1
        if p[i] < 32:
            raise FastParseError(i)
        if p[i] == 92:
            i += 1
            if i >= n:
                break
            if p[i] == 117:  # \uXXXX
                if i + 4 >= n:
                    break
                for k in range(1, 5):
                    if not (48 <= p[i + k] <= 57 or 65 <= (p[i + k] | 32) - 32 <= 70):
                        raise FastParseError(i)
                i += 4
            elif p[i] not in b'"\\/bfnrt':
                raise FastParseError(i)
        i += 1
    raise FastParseError(i)


cdef bytes _b64_key(const uint8_t* p, Py_ssize_t a, Py_ssize_t b):
    """Decode the base64 text p[a:b] (validated: alphabet, length, padding)."""
    cdef Py_ssize_t m = b - a, pad = 0, i, o = 0
    cdef uint32_t acc = 0
    cdef int8_t v
    if m == 0 or m % 4 != 0:
        raise FastParseError(a)
    if p[b - 1] == 61:
        pad = 2 if p[b - 2] == 61 else 1
    cdef bytes out = PyBytes_FromStringAndSize(NULL, (m // 4) * 3 - pad)
    cdef uint8_t* q = <uint8_t*>PyBytes_AS_STRING(out)
    for i in range(m - pad):
        v = _B64[p[a + i]]
        if v < 0:
            raise FastParseError(a + i)
        acc = (acc << 6) | <uint32_t>v
        if i % 4 == 3:
            q[o] = <uint8_t>(acc >> 16)
            q[o + 1] = <uint8_t>(acc >> 8)
            q[o + 2] = <uint8_t>acc
            o += 3
            acc = 0
    if pad == 1:
        q[o] = <uint8_t>(acc >> 10)
        q[o + 1] = <uint8_t>(acc >> 2)
    elif pad == 2:
        q[o] = <uint8_t>(acc >> 4)
    return out


def parse_model_json(const uint8_t[::1] data):
    """Scan an upstream model file: (pieces, ids, counts) in file order.

    ids and counts are lists of ints.  Raises FastParseError on anything outside the common
    subset of JSON that upstream writes (the caller falls back to the json module).
    """
    cdef const uint8_t* p = &data[0] if data.shape[0] else NULL
    cdef Py_ssize_t n = data.shape[0], i, a
    cdef int64_t ident, count
    cdef list pieces = [], ids = [], counts = []
    if n == 0:
        raise FastParseError(0)
    i = _expect(p, 0, n, 123)  # {
    i = _skip_ws(p, i, n)
    if i < n and p[i] == 125:
        i += 1
    else:
        while True:
            i = _expect(p, i, n, 34)
            a = i
            while i < n and p[i] != 34:
                i += 1
            if i >= n:
                raise FastParseError(i)
            pieces.append(_b64_key(p, a, i))
            i = _expect(p, i + 1, n, 58)   # :
            i = _expect(p, i, n, 91)       # [
            i = _parse_int(p, i, n, &ident)
            i = _expect(p, i, n, 44)
            i = _skip_ws(p, i, n)
            if i >= n or p[i] != 34:
                raise FastParseError(i)
            i = _skip_string(p, i, n)
            i = _expect(p, i, n, 44)
            i = _parse_int(p, i, n, &count)
            i = _expect(p, i, n, 93)       # ]
            ids.append(ident)
            counts.append(count)
            i = _skip_ws(p, i, n)
            if i < n and p[i] == 44:
                i += 1
                continue
            i = _expect(p, i, n, 125)      # }
            break
    if _skip_ws(p, i, n) != n:
        raise FastParseError(i)
    return pieces, ids, counts


include "_train.pxi"
