# Text: the UTF-8 of str code points, and the NFC quick check (included into _core.pyx).
# normalize.py decides what to normalize; these are its loops in C.

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from cpython.unicode cimport PyUnicode_DATA, PyUnicode_GET_LENGTH, PyUnicode_KIND
from libc.stdint cimport int64_t, uint8_t, uint16_t, uint32_t
from libc.stdlib cimport realloc
from libc.string cimport memset

from .scratch cimport Work

cdef int64_t utf8_encode(const void* data, int kind, int64_t n, Work* w) noexcept nogil:
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
cdef enum:
    NFC_RANGES = 21
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


cdef uint16_t _units_or(const uint16_t* data, Py_ssize_t n) noexcept nogil:
    """The OR of n code units (a loop the compiler vectorizes)."""
    cdef Py_ssize_t i
    cdef uint16_t units = 0
    for i in range(n):
        units |= data[i]
    return units


cdef bint nfc_stable(const void* data, int kind, Py_ssize_t n) noexcept nogil:
    """Whether a str's code points (`kind` 1, 2 or 4 bytes each) are all in _nfc_ranges,
    so that the str is certainly NFC (False: it may or may not be)."""
    cdef Py_ssize_t i, head
    cdef uint32_t c
    cdef uint8_t acc = 1
    if kind == 1:
        return True         # Latin-1 lies in the first range
    if kind == 2:
        # A run in the first range (mostly ASCII, in a str that has one wider character
        # somewhere) is cleared without a lookup in the bitmap.  Its first 64 code units
        # tell most other text apart first.
        head = n if n < 64 else 64
        if (_units_or(<const uint16_t*>data, head) < 0x300
                and _units_or(<const uint16_t*>data + head, n - head) < 0x300):
            return True
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
    # Long runs branch-free (see nfc_stable), then the failing run code point by code point.
    i = start
    while i < n:
        step = n - i if n - i < 1024 else 1024
        if not nfc_stable(data + i * kind, kind, step):
            while nfc_stable(data + i * kind, kind, 1):
                i += 1
            return i
        i += step
    return n
