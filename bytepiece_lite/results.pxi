# A batch's results: the segmented buffers of its blocks turned into Python lists of the
# vocabulary's objects or numpy arrays of ids, giving memory back as they go.  Included into
# _core.pyx after batch.pxi (whose BatchJob it reads).

from cpython.list cimport PyList_New, PyList_SET_ITEM
from cpython.object cimport PyObject
from cpython.ref cimport Py_INCREF
from libc.stdint cimport int32_t, int64_t, uint32_t
from libc.stdlib cimport calloc, free, malloc, realloc

from .branchless cimport prefetch      # bpl_fill_list uses it
from .contracts cimport BOS_ID, EOS_ID, ID_OFFSET
from .scratch cimport Work

cdef extern from "Python.h":
    void PyObject_GC_UnTrack(object)
    ctypedef struct PyListObject:
        PyObject** ob_item
    PyObject** PySequence_Fast_ITEMS(object)

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


cdef object _to_arrays(BatchJob* job, Py_ssize_t n, bint bos, bint eos):
    """(ids, offsets) of the texts, bos/eos around each text's ids."""
    cdef Py_ssize_t k, i, r
    cdef int64_t total = 0, pos = 0
    cdef const int32_t* src
    for k in range(n):
        total += job.counts[k] + bos + eos
    offsets = _np.empty(n + 1, dtype=_np.int64)
    cdef int64_t[::1] offv = offsets
    offv[0] = 0
    if job.nblocks == 1 and not bos and not eos and total > 0:
        for k in range(n):
            offv[k + 1] = offv[k] + job.counts[k]
        return _take_ids(&job.works[0]), offsets
    ids = _np.empty(total, dtype=_np.uint32)
    cdef uint32_t[::1] idv = ids
    for r in range(job.nblocks):
        src = job.works[r].out
        for k in range(job.bounds[r], job.bounds[r + 1]):
            if bos:
                idv[pos] = BOS_ID
                pos += 1
            for i in range(job.counts[k]):
                idv[pos + i] = <uint32_t>(src[i] + ID_OFFSET)
            pos += job.counts[k]
            src += job.counts[k]
            if eos:
                idv[pos] = EOS_ID
                pos += 1
            offv[k + 1] = pos
    return ids, offsets


cdef enum:
    FILLED = 2              # job.done[b] once block b is copied into the joined result


cdef void _fill_some(BatchJob* job) noexcept nogil:
    """Copy blocks of a joined result into it (see _fill_joined) until none is left: ids
    into the array, or table objects into the list, where this thread's slot counts the
    references they need (reference counts are written under the GIL, afterwards: only
    that thread may write them).  Each block's buffer is freed once copied."""
    cdef int b, slot = fetch_add(&job.fill_slot)
    cdef int64_t i, n
    cdef const int32_t* src
    cdef int32_t* counts
    cdef PyObject** items
    cdef uint32_t* ids
    if slot >= job.fill_slots:
        return                  # a task that started after the blocks were all taken
    counts = job.fill_counts[slot] if job.fill_items != NULL else NULL
    while True:
        b = fetch_add(&job.fill_next)
        if b >= job.nblocks:
            return
        src = job.works[b].out
        n = job.works[b].out_len
        if job.fill_items != NULL:
            items = job.fill_items + job.fill_at[b]
            for i in range(n):
                items[i] = <PyObject*>job.fill_table[src[i]]
                counts[src[i]] += 1
        else:
            ids = job.fill_ids + job.fill_at[b]
            for i in range(n):
                ids[i] = <uint32_t>(src[i] + ID_OFFSET)
        free(job.works[b].out)
        job.works[b].out = NULL
        job.works[b].out_cap = 0
        store_release(&job.done[b], FILLED)


cdef object _fill_joined(_Batch owner, tuple table, int output, bint bos, bint eos,
                         int num_threads, object executor):
    """The one result of a text's parts, once all are segmented: a list of table's objects,
    or (OUTPUT_ARRAYS) an array of ids, with bos/eos around it.  The blocks are copied into
    it by num_threads threads at once (the result is fresh memory, faulted in by the thread
    that writes it first), so that the copy is not a serial tail of the call; the list's
    references are then counted once per table object, not once per token.

    Until then the list holds borrowed references, so nothing may raise between its
    creation and the counting: this thread copies whatever no task took, and waits (without
    the GIL, so no signal can interrupt it) for the blocks a task took, which are only
    copies in progress."""
    cdef BatchJob* job = &owner.job
    cdef int64_t pos = bos
    cdef Py_ssize_t j, v = len(table)
    cdef int r, s, threads = num_threads if executor is not None and job.nblocks > 1 else 1
    cdef int64_t c
    cdef object item, result
    cdef uint32_t[::1] idv
    if job.nblocks == 1 and output == OUTPUT_ARRAYS and not bos and not eos and job.works[0].out_len > 0:
        return _take_ids(&job.works[0])
    if threads > job.nblocks:
        threads = job.nblocks
    job.fill_at = <int64_t*>malloc(job.nblocks * sizeof(int64_t))
    if job.fill_at == NULL:
        raise MemoryError()
    for r in range(job.nblocks):
        job.fill_at[r] = pos
        pos += job.works[r].out_len
    job.fill_slots = threads
    if output == OUTPUT_ARRAYS:
        result = _np.empty(pos + eos, dtype=_np.uint32)
        if pos + eos == 0:
            return result
        idv = result
        job.fill_ids = &idv[0]
        if bos:
            job.fill_ids[0] = BOS_ID
        if eos:
            job.fill_ids[pos] = EOS_ID
    else:
        if pos + eos == 0:
            return []
        job.fill_counts = <int32_t**>calloc(threads, sizeof(int32_t*))
        if job.fill_counts == NULL:
            raise MemoryError()
        for s in range(threads):
            job.fill_counts[s] = <int32_t*>calloc(v, sizeof(int32_t))
            if job.fill_counts[s] == NULL:
                raise MemoryError()
        result = PyList_New(pos + eos)
        job.fill_items = (<PyListObject*>result).ob_item
        job.fill_table = PySequence_Fast_ITEMS(table)
    error = None
    for s in range(threads - 1):
        try:
            executor.submit(_fill_blocks, owner)    # holds owner: the job outlives the task
        except BaseException as exc:                # raised once the list is consistent
            error = exc
            break
    with nogil:
        _fill_some(job)
        for r in range(job.nblocks):
            while load_acquire(&job.done[r]) != FILLED:
                pass
    if job.fill_items != NULL:
        for j in range(v):
            c = 0
            for s in range(threads):
                c += job.fill_counts[s][j]
            item = table[j]
            while c > 0:
                Py_INCREF(item)
                c -= 1
        if bos:
            item = BOS_ID
            Py_INCREF(item)
            PyList_SET_ITEM(result, 0, item)
        if eos:
            item = EOS_ID
            Py_INCREF(item)
            PyList_SET_ITEM(result, pos, item)
    if error is not None:
        raise error
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
