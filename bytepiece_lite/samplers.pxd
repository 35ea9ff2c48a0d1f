# What the samplers keep besides the random stream (rng.pxd): Viterbi Sampling's bucket
# edges and exact sampling's exponent folding.  The tables are built in samplers.pxi.

from libc.math cimport exp
from libc.stdint cimport int64_t, uint64_t
from libc.string cimport memcpy

from .rng cimport unit

ctypedef struct Bucket:
    # Viterbi Sampling accepts iff u < sigmoid(x), x = alpha * (cand - best).  u's top 8 bits
    # give a bucket q with u in [q/256, (q+1)/256); these are the bucket's edges, logit() of
    # its bounds with a margin far above rounding error, divided by alpha (units of score):
    # take iff best <= cand - take, keep best iff best >= cand - keep; in between, the full
    # formula decides.
    double take
    double keep

cdef extern from *:
    """
    #define BPL_LOGIT_MARGIN 1e-7
    #define BPL_LN2 0.6931471805599453       /* ln 2 correctly rounded */
    #define BPL_FOLD_ABOVE 1e100
    """
    const double LOGIT_MARGIN "BPL_LOGIT_MARGIN"
    const double LN2 "BPL_LN2"
    # Exact sampling keeps Z at a position as exp(score) * total with total in [1, FOLD_ABOVE]:
    # past it, the exponent of total moves into the score.
    const double FOLD_ABOVE "BPL_FOLD_ABOVE"


cdef inline bint sigmoid_below(double x, uint64_t bits) noexcept nogil:
    """The full test u < sigmoid(x), u being the top 53 bits of `bits` as a double in [0, 1)."""
    return unit(bits) < 1.0 / (1.0 + exp(-x))


cdef inline (double, double) fold_exponent(double base, double total) noexcept nogil:
    """exp(base) * total (total >= 1, normal) as exp(base + k ln 2) * m, m in [1, 2)."""
    cdef uint64_t bits
    cdef int64_t k
    cdef double m
    memcpy(&bits, &total, 8)
    k = <int64_t>(bits >> 52) - 1023
    bits = (bits & 0x000FFFFFFFFFFFFFULL) | 0x3FF0000000000000ULL
    memcpy(&m, &bits, 8)
    return base + <double>k * LN2, m
