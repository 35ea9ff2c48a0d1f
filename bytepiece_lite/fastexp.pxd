# The exact sampler's e**x for x <= 0 (0 for x <= -700), inline.  _fastexp.py explains it and
# computes the same operations in the same order: the pure-Python backend must get identical
# bits, and -ffp-contract=off (setup.py) keeps compilers from fusing any of them.  The
# 2**(j/256) table is filled from _fastexp.EXP2_256 when the core is imported.

cdef extern from *:
    """
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
    """
    double exp2_256 "bpl_exp2_256"[256]
    double exp_neg "bpl_exp_neg"(double x) noexcept nogil
