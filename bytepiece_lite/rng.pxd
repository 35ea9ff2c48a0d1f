# The samplers' counter-based random stream (docs/semantics.md, "Random stream"); _rng.py is
# its plain-Python twin, which the pyahocorasick backend draws from: both give the same bits.
#
# A candidate piece (start s, end e) of a text draws mix64(key + ((e << 16) | (e - s)) * GAMMA),
# mix64 being SplitMix64's output function.  The draw depends only on the stream key and the
# candidate, never on the order of visits, so both backends, any chunking and any thread
# draw identical numbers.

from libc.stdint cimport int64_t, uint64_t

cdef extern from *:
    """
    #define BPL_GAMMA 0x9E3779B97F4A7C15ULL
    #define BPL_MIX1 0xBF58476D1CE4E5B9ULL
    #define BPL_MIX2 0x94D049BB133111EBULL
    """
    const uint64_t GAMMA "BPL_GAMMA"
    const uint64_t MIX1 "BPL_MIX1"
    const uint64_t MIX2 "BPL_MIX2"


cdef inline uint64_t mix64(uint64_t z) noexcept nogil:
    z = (z ^ (z >> 30)) * MIX1
    z = (z ^ (z >> 27)) * MIX2
    return z ^ (z >> 31)


cdef inline uint64_t stream_key_of(uint64_t seed, uint64_t index) noexcept nogil:
    """The key of text number `index` of a call seeded with `seed`."""
    return mix64(mix64(seed) + (index + 1) * GAMMA)


# The draw mix64(key + ((end << 16) | length) * GAMMA), split as a sum (length < 2**16) so
# that the samplers add the end's part once per position.
cdef inline uint64_t end_key(uint64_t key, int64_t end) noexcept nogil:
    return key + (<uint64_t>end << 16) * GAMMA


cdef inline uint64_t draw_at(uint64_t at_end, int64_t length) noexcept nogil:
    return mix64(at_end + <uint64_t>length * GAMMA)


cdef inline double unit(uint64_t bits) noexcept nogil:
    """u in [0, 1): the top 53 of 64 random bits."""
    return <double>(bits >> 11) * (1.0 / 9007199254740992.0)
