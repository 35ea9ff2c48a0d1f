# A batch's texts as its job sees them (batch.pxi's BatchJob): where each text's bytes or
# code points lie, and the replacement of a text the core cannot take as it is (prepare(),
# NFC for a str) before the threads start or in the thread that takes it.  Included into
# _core.pyx after batch.pxi.

from cpython.bytes cimport PyBytes_AS_STRING
from cpython.object cimport PyObject
from cpython.ref cimport Py_DECREF, Py_INCREF
from cpython.unicode cimport PyUnicode_DATA, PyUnicode_KIND
from libc.stdint cimport int8_t, int64_t, uint8_t, uint64_t

from .contracts cimport MODE_DETERMINISTIC
from .rng cimport stream_key_of

cdef enum:
    # Code points from which a str is NFC-checked in its thread: a GIL hop there (~1 us)
    # is cheap against the check of this many (the parts of a 1M-code-point text on 16
    # threads are longer), and a batch of lines keeps its checks up front.
    CHECK_IN_THREAD_FROM = 1 << 12


cdef int _point_at(BatchJob* job, Py_ssize_t k, object obj, int64_t first=0,
                   int64_t length=-1) except -1:
    """Point text k of the job at obj (bytes, or a str: code points first .. first + length
    of it, by default all of it), which the caller keeps alive."""
    if type(obj) is not bytes and type(obj) is not str:
        raise TypeError(f"text {k} is {type(obj).__name__}, not bytes or str")
    if length < 0:
        length = len(obj)
    if type(obj) is bytes:
        job.ptrs[k] = <const uint8_t*>PyBytes_AS_STRING(obj) + first
        job.kinds[k] = 0
    elif type(obj) is str:
        job.kinds[k] = <int8_t>PyUnicode_KIND(obj)
        job.ptrs[k] = <const uint8_t*>PyUnicode_DATA(obj) + first * job.kinds[k]
    job.lens[k] = length
    job.sources[k] = <PyObject*>obj
    job.firsts[k] = first
    return 0


cdef object _source_of(BatchJob* job, Py_ssize_t k):
    """Text k as the str or bytes it is (a slice of its source if it is a part of one)."""
    cdef object src = <object>job.sources[k]
    if job.firsts[k] == 0 and job.lens[k] == len(src):
        return src
    return src[job.firsts[k]:job.firsts[k] + job.lens[k]]


cdef int _prepare_in_thread(BatchJob* job, Py_ssize_t k) noexcept nogil:
    """Replace str text k by prepare(text) (see BatchJob); 0, or -1 if it raised (the
    exception goes to job.errors, the calling thread raises it)."""
    with gil:
        try:
            obj = (<object>job.prepare)(_source_of(job, k))
            _point_at(job, k, obj)
            Py_INCREF(obj)
            job.owned[k] = 1
        except BaseException as exc:
            (<list>job.errors).append(exc)
            return -1
    return 0


cdef void _release_prepared(BatchJob* job, Py_ssize_t k) noexcept nogil:
    """Drop what prepare() made of text k once it is encoded: held to the end of the call,
    the prepared parts of a long text would add up to a copy of it (4 bytes a character
    for a str with one astral character)."""
    with gil:
        Py_DECREF(<object>job.sources[k])
        job.sources[k] = NULL
        job.owned[k] = 0


cdef int64_t _describe_texts(BatchJob* job, list texts, object source, const int64_t[::1] cuts,
                             uint64_t seed, const int64_t[::1] starts,
                             const uint64_t[::1] streams, object prepare, list held,
                             int64_t chain_from) except -1:
    """Point the job at every text: texts[k], or with `cuts` part k of `source`
    (source[cuts[k]:cuts[k + 1]]).  Through `prepare`, a text the core cannot take as it is
    gets replaced: here, or for a long str in the thread that takes it (see BatchJob).  With
    chain_from >= 0 the texts are consecutive parts of one text that starts there in its
    stream, each where the one before ends in UTF-8 bytes: the samplers' draws need that
    before the threads start, so then a str part is prepared here.  The total size in bytes
    (code points for str)."""
    cdef Py_ssize_t n = job.ntexts, k
    cdef int64_t total = 0, at = chain_from, length
    cdef bint chained_draws = chain_from >= 0 and job.mode != MODE_DETERMINISTIC
    cdef object obj, text
    for k in range(n):
        if cuts is not None:
            _point_at(job, k, source, cuts[k], cuts[k + 1] - cuts[k])
        elif prepare is None or type(texts[k]) is str or type(texts[k]) is bytes:
            _point_at(job, k, texts[k])     # raises TypeError for any other type
        else:
            job.kinds[k] = -1           # prepared below
        # a long str is checked by its thread: the serial part of a call would otherwise
        # grow with its text; a short one here, where it costs less than a GIL hop there
        job.unchecked[k] = (prepare is not None and job.kinds[k] > 0 and not chained_draws
                            and job.lens[k] >= CHECK_IN_THREAD_FROM)
        if prepare is not None and not job.unchecked[k] and (
                job.kinds[k] < 0 or job.kinds[k] > 0
                and not nfc_stable(job.ptrs[k], job.kinds[k], job.lens[k])):
            text = texts[k] if job.kinds[k] < 0 else _source_of(job, k)
            obj = prepare(text)
            # prepare() gives back the text itself when it is NFC already (a script the
            # quick check does not know): the job goes on pointing into the source, and the
            # thread that takes it encodes it
            if obj is not text or job.kinds[k] < 0:
                if chained_draws and type(obj) is str:
                    obj = obj.encode("utf-8")   # held to the end: 1 byte a byte, not up to 4
                held.append(obj)
                _point_at(job, k, obj)
        length = job.lens[k]
        job.keys[k] = stream_key_of(seed, k if streams is None else streams[k])
        if chain_from >= 0:
            job.starts[k] = at
            # a lone surrogate (-2) fails the part anyway: its start does not matter
            at += (_utf8_length(job.ptrs[k], job.kinds[k], length)
                   if job.kinds[k] != 0 and chained_draws else length)
        else:
            job.starts[k] = 0 if starts is None else starts[k]
        total += length
    return total
