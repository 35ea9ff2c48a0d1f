# Small C helpers of the hot loops: selects that compilers keep branch-free, and a prefetch.
# An `if` on an unpredictable outcome (which candidate wins) becomes a conditional branch that
# mispredicts about every other time; these become maxsd / cmov / and-andn-or blends.

from libc.stdint cimport int32_t, uint32_t

cdef extern from *:
    """
    static inline double bpl_max_f64(double a, double b) { return a > b ? a : b; }
    static inline double bpl_min_f64(double a, double b) { return a < b ? a : b; }
    /* x > y ? a : b and x <= y ? a : b as a compare and a conditional move on its flags
       (ucomisd; cmov): two instructions where a mask takes five, and still no branch.
       NaN never occurs (scores are finite or -inf). */
    static inline uint32_t bpl_gt_u32(double x, double y, uint32_t a, uint32_t b) {
    #if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
        __asm__("ucomisd %2, %1; cmoval %3, %0" : "+r"(b) : "x"(x), "x"(y), "r"(a) : "cc");
        return b;
    #else
        return b ^ ((a ^ b) & -(uint32_t)(x > y));
    #endif
    }
    static inline uint32_t bpl_le_u32(double x, double y, uint32_t a, uint32_t b) {
    #if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
        __asm__("ucomisd %1, %2; cmovael %3, %0" : "+r"(b) : "x"(x), "x"(y), "r"(a) : "cc");
        return b;
    #else
        return b ^ ((a ^ b) & -(uint32_t)(x <= y));
    #endif
    }
    /* Both selects of a candidate that may win (its node and its length) on one compare:
       x > y (or x <= y) ? a : b into *b, and the same for a2, *b2. */
    static inline void bpl_gt_u32_pair(double x, double y, uint32_t a, uint32_t* b, uint32_t a2,
                                       uint32_t* b2) {
    #if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
        uint32_t r = *b, r2 = *b2;
        __asm__("ucomisd %3, %2; cmoval %4, %0; cmoval %5, %1"
                : "+r"(r), "+r"(r2) : "x"(x), "x"(y), "r"(a), "r"(a2) : "cc");
        *b = r;
        *b2 = r2;
    #else
        *b = bpl_gt_u32(x, y, a, *b);
        *b2 = bpl_gt_u32(x, y, a2, *b2);
    #endif
    }
    static inline void bpl_le_u32_pair(double x, double y, uint32_t a, uint32_t* b, uint32_t a2,
                                       uint32_t* b2) {
    #if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
        uint32_t r = *b, r2 = *b2;
        __asm__("ucomisd %2, %3; cmovael %4, %0; cmovael %5, %1"
                : "+r"(r), "+r"(r2) : "x"(x), "x"(y), "r"(a), "r"(a2) : "cc");
        *b = r;
        *b2 = r2;
    #else
        *b = bpl_le_u32(x, y, a, *b);
        *b2 = bpl_le_u32(x, y, a2, *b2);
    #endif
    }
    /* check == node ? child : dead, as a compare and a conditional move (no branch: which
       walks die is unpredictable). */
    static inline uint32_t bpl_child_or(int32_t check, int32_t node, uint32_t child,
                                        uint32_t dead) {
    #if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
        __asm__("cmpl %2, %1; cmovel %3, %0" : "+r"(dead) : "r"(check), "r"(node), "r"(child) : "cc");
        return dead;
    #else
        return dead ^ ((child ^ dead) & -(uint32_t)(check == node));
    #endif
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
    uint32_t gt_u32 "bpl_gt_u32"(double x, double y, uint32_t a, uint32_t b) noexcept nogil
    uint32_t le_u32 "bpl_le_u32"(double x, double y, uint32_t a, uint32_t b) noexcept nogil
    double pick_le "bpl_pick_le"(double x, double limit, double a, double b) noexcept nogil
    void gt_u32_pair "bpl_gt_u32_pair"(double x, double y, uint32_t a, uint32_t* b, uint32_t a2,
                                       uint32_t* b2) noexcept nogil
    void le_u32_pair "bpl_le_u32_pair"(double x, double y, uint32_t a, uint32_t* b, uint32_t a2,
                                       uint32_t* b2) noexcept nogil
    uint32_t child_or "bpl_child_or"(int32_t check, int32_t node, uint32_t child,
                                     uint32_t dead) noexcept nogil
    void prefetch "bpl_prefetch"(const void* p) noexcept nogil
