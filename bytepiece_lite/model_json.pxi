# Reading upstream's model file fast (included into _core.pyx).
# The standard json module alone takes about 1/3 of the time budget of a whole load, so the
# common case, {"base64": [id, "text", count], ...}, is scanned here.  The scanner accepts a
# subset of JSON and bails out (FastParseError) on anything else; model.py then parses the
# file with the json module, which is authoritative for error messages and odd-but-valid files.

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from libc.stdint cimport int8_t, int64_t, uint8_t, uint32_t


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
