# Viterbi Sampling's bucket tables (included into _core.pyx; types in samplers.pxd).
#
# Most of Viterbi Sampling's tests u < sigmoid(x) are settled without exp(): u's top 8 bits
# give a bucket q with u in [q/256, (q+1)/256), and x against logit() of the bucket's edges
# (with a margin far above rounding error) decides the test exactly as the full formula
# would.  Only x within the margin of an edge falls through to exp().

from libc.math cimport INFINITY, log
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize

from .branchless cimport max_f64, min_f64
from .samplers cimport Bucket, LOGIT_MARGIN
from .trie cimport Trie

cdef double _logit_upper[256]       # logit of each bucket's upper edge, plus the margin
cdef double _logit_lower[256]       # and of its lower edge, minus the margin
cdef Bucket _buckets_open[256]      # every test falls through to exp()


cdef void _init_logit_tables() noexcept:
    cdef int q
    for q in range(256):
        _logit_upper[q] = INFINITY if q == 255 else log((q + 1.0) / (255.0 - q)) + LOGIT_MARGIN
        _logit_lower[q] = -INFINITY if q == 0 else log(q / (256.0 - q)) - LOGIT_MARGIN
        _buckets_open[q].take = 1e300
        _buckets_open[q].keep = -1e300


_init_logit_tables()

# Bucket tables by alpha, built once (they depend on alpha only) and never changed after:
# a call holds a reference to its table while the GIL is released.
_bucket_tables = {}


cdef bytes bucket_table(double alpha):
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
            bk[q].take = min_f64(max_f64(_logit_upper[q] * inv, -1e300), 1e300)
            bk[q].keep = min_f64(max_f64(_logit_lower[q] * inv, -1e300), 1e300)
        if len(_bucket_tables) >= 64:
            _bucket_tables.clear()
        _bucket_tables[alpha] = table
    return table


cdef inline const Bucket* chunk_buckets(const Trie* t, const Bucket* table, int64_t n,
                                        double alpha) noexcept nogil:
    """The bucket table for a chunk of n bytes.  The rescaled test differs from alpha *
    (cand - best) against the edges by the rounding of the larger operands, ~|cand| * alpha
    * 2**-51 in units of x, and |cand| <= n * |min logp|: while that stays 16 times inside
    LOGIT_MARGIN the fast test is exact.  Beyond it (lines of more than 5e7 / (alpha * |min
    logp|) bytes, ~25 MB at alpha = 0.1) every test takes the full formula."""
    if table == NULL or not (alpha * <double>n * -t.min_logp <= 5e7):
        return _buckets_open
    return table
