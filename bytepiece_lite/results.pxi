# A batch's results: the segmented buffers of its blocks turned into Python lists of the
# vocabulary's objects or numpy arrays of ids, giving memory back as they go.  Included into
# _core.pyx after batch.pxi (whose BatchJob it reads).

from cpython.list cimport PyList_New, PyList_SET_ITEM
from cpython.ref cimport Py_INCREF
from libc.stdint cimport int32_t, int64_t, uint32_t
from libc.stdlib cimport free, realloc

from .branchless cimport prefetch      # bpl_fill_list uses it
from .contracts cimport BOS_ID, EOS_ID, ID_OFFSET
from .scratch cimport Work

cdef extern from "Python.h":
    void PyObject_GC_UnTrack(object)

cdef extern from *:
    """
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
    void fill_list "bpl_fill_list"(list lst, Py_ssize_t at, tuple table, const int32_t* idx,
                                   Py_ssize_t n) noexcept

cdef class _IdBuffer:
    """A block's output buffer handed to numpy without a copy (the array's base frees it):
    a one-block call's ids take their own memory only, not that and a copy."""
    cdef uint32_t* data
    cdef Py_ssize_t shape[1]
    cdef Py_ssize_t strides[1]

    def __getbuffer__(self, Py_buffer* view, int flags):
        view.buf = self.data
        view.obj = self
        view.len = self.shape[0] * sizeof(uint32_t)
        view.readonly = 0
        view.itemsize = sizeof(uint32_t)
        view.format = "I"
        view.ndim = 1
        view.shape = self.shape
        view.strides = self.strides
        view.suboffsets = NULL
        view.internal = NULL

    def __releasebuffer__(self, Py_buffer* view):
        pass

    def __dealloc__(self):
        free(self.data)


cdef object _take_ids(Work* w):
    """w's piece indices as a uint32 array of ids that owns w's buffer (w no longer does)."""
    cdef int64_t i, n = w.out_len
    cdef int32_t* out = w.out
    cdef void* p
    cdef _IdBuffer owner = _IdBuffer()
    for i in range(n):
        out[i] += ID_OFFSET
    p = realloc(out, n * sizeof(int32_t))      # the route's room past the ids, given back
    if p != NULL:
        out = <int32_t*>p
    owner.data = <uint32_t*>out
    owner.shape[0] = n
    owner.strides[0] = sizeof(uint32_t)
    w.out = NULL
    w.out_len = w.out_cap = 0
    return _np.frombuffer(owner, dtype=_np.uint32)


cdef object _to_arrays(BatchJob* job, Py_ssize_t n, bint bos, bint eos, bint joined):
    """(ids, offsets) of the texts, or with `joined` (the texts are parts of one text) the
    ids alone, with bos/eos around the whole."""
    cdef Py_ssize_t k, i, r
    cdef int64_t total = 0, pos = 0
    cdef const int32_t* src
    cdef bint each_bos = bos and not joined, each_eos = eos and not joined
    for k in range(n):
        total += job.counts[k] + each_bos + each_eos
    if joined:
        total += bos + eos
    offsets = _np.empty(n + 1, dtype=_np.int64)
    cdef int64_t[::1] offv = offsets
    offv[0] = 0
    if job.nblocks == 1 and not bos and not eos and total > 0:
        for k in range(n):
            offv[k + 1] = offv[k] + job.counts[k]
        ids = _take_ids(&job.works[0])
        return ids if joined else (ids, offsets)
    ids = _np.empty(total, dtype=_np.uint32)
    cdef uint32_t[::1] idv = ids
    if joined and bos:
        idv[pos] = BOS_ID
        pos += 1
    for r in range(job.nblocks):
        src = job.works[r].out
        for k in range(job.bounds[r], job.bounds[r + 1]):
            if each_bos:
                idv[pos] = BOS_ID
                pos += 1
            for i in range(job.counts[k]):
                idv[pos + i] = <uint32_t>(src[i] + ID_OFFSET)
            pos += job.counts[k]
            src += job.counts[k]
            if each_eos:
                idv[pos] = EOS_ID
                pos += 1
            offv[k + 1] = pos
        if joined:
            # copied: give the block's memory back now, not when the call ends
            free(job.works[r].out)
            job.works[r].out = NULL
            job.works[r].out_cap = 0
    if joined and eos:
        idv[pos] = EOS_ID
    return ids if joined else (ids, offsets)


cdef list _joined_list(BatchJob* job, tuple table, bint bos, bint eos):
    """One list of all the blocks' pieces (parts of one text) as table's objects, bos/eos
    around it.  Each block's buffer is freed once it is in the list: the list's pages are
    only touched as it fills (a fresh calloc), so the call peaks at about the list itself."""
    cdef int64_t total = 0, pos = bos
    cdef int r
    cdef list result
    cdef object item
    for r in range(job.nblocks):
        total += job.works[r].out_len
    result = PyList_New(total + bos + eos)
    for r in range(job.nblocks):
        fill_list(result, pos, table, job.works[r].out, job.works[r].out_len)
        pos += job.works[r].out_len
        free(job.works[r].out)
        job.works[r].out = NULL
        job.works[r].out_cap = 0
    if bos:
        item = BOS_ID
        Py_INCREF(item)
        PyList_SET_ITEM(result, 0, item)
    if eos:
        item = EOS_ID
        Py_INCREF(item)
        PyList_SET_ITEM(result, pos, item)
    return result


cdef enum:
    RELEASE_STEP = 1 << 20      # tokens: how often _list_of gives memory back


cdef list _list_of(Work* w, tuple table):
    """w's pieces as a list of table's objects.  The list is filled from its end, and the
    part of w.out already copied is given back as it goes (realloc shrinks in place), so
    the call peaks at about the list's own 8 bytes a token, not that plus w.out's 4."""
    cdef int64_t i = w.out_len, k
    cdef void* p
    cdef list result = PyList_New(w.out_len)
    while i > 0:
        k = i - RELEASE_STEP if i > RELEASE_STEP else 0
        if k > 0:
            p = realloc(w.out, i * sizeof(int32_t))
            if p != NULL:
                w.out = <int32_t*>p
                w.out_cap = i
        fill_list(result, k, table, w.out + k, i - k)
        i = k
    return result


cdef int _emit_rows(BatchJob* job, int first, list result, tuple table, bint bos,
                    bint eos) except -1:
    """Fill the rows of result for the finished blocks first, first + 1, ... (stopping at the
    first unfinished one); the next block to emit."""
    cdef Py_ssize_t k
    cdef int b = first
    cdef const int32_t* src
    cdef list row
    cdef object item
    while b < job.nblocks and load_acquire(&job.done[b]):
        if job.works[b].out_len < 0:
            return job.nblocks      # out of memory: reported by the caller
        src = job.works[b].out
        for k in range(job.bounds[b], job.bounds[b + 1]):
            if job.counts[k] < 0:
                continue            # a lone surrogate: reported by the caller
            row = PyList_New(job.counts[k] + bos + eos)
            if bos:
                item = BOS_ID
                Py_INCREF(item)
                PyList_SET_ITEM(row, 0, item)
            fill_list(row, bos, table, src, job.counts[k])
            if eos:
                item = EOS_ID
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
        # this block's ids are rows now: its buffer is not read again
        free(job.works[b].out)
        job.works[b].out = NULL
        job.works[b].out_cap = 0
        b += 1
    return b
