# Small C helpers of the hot loops: selects that compilers keep branch-free, and a prefetch.
# An `if` on an unpredictable outcome (which candidate wins) becomes a conditional branch that
# mispredicts about every other time; these become maxsd / cmov / and-andn-or blends.

from libc.stdint cimport int32_t

cdef extern from *:
    """
    static inline double bpl_max_f64(double a, double b) { return a > b ? a : b; }
    static inline double bpl_min_f64(double a, double b) { return a < b ? a : b; }
    static inline int32_t bpl_select_i32(int take, int32_t a, int32_t b) {
        return b ^ ((a ^ b) & -(int32_t)(take != 0));
    }
    /* x <= limit ? a : b, as a compare mask and a blend (cmpnlesd; and/andn/or). */
    static inline double bpl_pick_le(double x, double limit, double a, double b) {
        return x <= limit ? a : b;
    }
    #if defined(__GNUC__) || defined(__clang__)
    #define bpl_prefetch(p) __builtin_prefetch((const void*)(p))
    #else
    #define bpl_prefetch(p) ((void)0)
    #endif
    """
    double max_f64 "bpl_max_f64"(double a, double b) noexcept nogil
    double min_f64 "bpl_min_f64"(double a, double b) noexcept nogil
    int32_t select_i32 "bpl_select_i32"(int take, int32_t a, int32_t b) noexcept nogil
    double pick_le "bpl_pick_le"(double x, double limit, double a, double b) noexcept nogil
    void prefetch "bpl_prefetch"(const void* p) noexcept nogil
