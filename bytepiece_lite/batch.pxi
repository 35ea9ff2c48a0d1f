# Batches: many texts (or consecutive parts of one text) segmented on a pool of threads with
# the GIL released, and the results turned into Python lists or numpy arrays.  Included into
# _core.pyx.
#
# The texts are cut into blocks of about equal size that the pool threads and the calling
# thread take in turn (an atomic counter).  The calling thread also turns each finished block
# into Python objects (that needs the GIL, so it is serial): the pool threads take more blocks
# meanwhile, and the serial part overlaps the parallel one.  The one result of a long text's
# parts is known in size only at the end: all threads then copy the blocks into it
# (results.pxi, _fill_joined).

from cpython.bytes cimport PyBytes_AS_STRING
from cpython.list cimport PyList_New
from cpython.object cimport PyObject
from cpython.ref cimport Py_DECREF
from libc.stdint cimport int8_t, int32_t, int64_t, uint8_t, uint32_t, uint64_t
from libc.stdlib cimport calloc, free, malloc
from libc.string cimport memset

from .contracts cimport (BOS_ID, EOS_ID, ID_OFFSET, MODE_VITERBI, OUTPUT_ARRAYS, OUTPUT_IDS,
                         OUTPUT_PIECES)
from .samplers cimport Bucket
from .scratch cimport (INTERRUPTED, POLL_BYTES, Work, load_flag, store_flag, work_free, work_init,
                       work_poll)
from .trie cimport Trie

cdef extern from *:
    """
    #if defined(_MSC_VER)
    #include <intrin.h>
    /* MSVC has no __atomic builtins; its interlocked operations are full barriers. */
    static inline int bpl_fetch_add(int* p) { return _InterlockedExchangeAdd((volatile long*)p, 1); }
    static inline void bpl_store_release(int8_t* p, int8_t v) { _InterlockedExchange8((volatile char*)p, v); }
    static inline int8_t bpl_load_acquire(const int8_t* p) { return _InterlockedOr8((volatile char*)p, 0); }
    #else
    static inline int bpl_fetch_add(int* p) { return __atomic_fetch_add(p, 1, __ATOMIC_RELAXED); }
    static inline void bpl_store_release(int8_t* p, int8_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
    static inline int8_t bpl_load_acquire(const int8_t* p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
    #endif
    """
    int fetch_add "bpl_fetch_add"(int* p) noexcept nogil
    void store_release "bpl_store_release"(int8_t* p, int8_t v) noexcept nogil
    int8_t load_acquire "bpl_load_acquire"(const int8_t* p) noexcept nogil

cdef int raise_pending() except -1:
    """Propagate the exception that a signal handler left pending while the GIL was released
    (work_poll): returning -1 with it set makes the caller raise it."""
    return -1


cdef enum:
    LONE_SURROGATE = -2     # counts[k] of a str text that UTF-8 cannot encode
    PREPARE_FAILED = -3     # counts[k] of a text whose prepare() raised (in job.errors)
    BLOCKS_PER_THREAD = 16


ctypedef struct BatchJob:
    const Trie* trie
    int mode
    double alpha
    uint64_t* keys          # the stream key of each text
    int64_t* starts         # position of each text in the stream it continues (0 if none)
    const uint8_t** ptrs    # a bytes text, or the code points of a str text ...
    int64_t* lens
    int8_t* kinds           # ... of this many bytes each (0 for bytes)
    int64_t* counts         # tokens of each text, or LONE_SURROGATE / PREPARE_FAILED
    # A long str text is quick-checked for NFC (text.pxi) by the thread that takes it, and if
    # the check cannot clear it, replaced there by prepare(text) under the GIL while the other
    # threads go on (batch_texts.pxi): sources[k] is the str it lies in from code point firsts[k] on.
    # Borrowed references (the _Batch owns the sources, prepare and errors), but for what
    # a thread prepared: that is owned (owned[k]) until the thread has encoded it.
    PyObject** sources
    int64_t* firsts
    int8_t* unchecked       # text k is still to be quick-checked
    int8_t* owned
    PyObject* prepare
    PyObject* errors        # a list of what prepare() raised
    Py_ssize_t* bounds      # block b covers texts bounds[b] .. bounds[b + 1] - 1
    Work* works             # one per block: its scratch space and its output
    int8_t* done            # block b is finished (written with release, read with acquire)
    Py_ssize_t ntexts
    int nblocks
    int next_block          # the next block to take (atomic)
    int cancelled           # set (atomic) when the calling thread was interrupted
    # The one list or array of a text's parts (results.pxi, _fill_joined), filled once every
    # block is segmented, by every thread: block b's tokens go to fill_at[b] on.
    int64_t* fill_at
    PyObject** fill_items   # the list's items (borrowed from fill_table, counted later) ...
    uint32_t* fill_ids      # ... or the array's ids
    PyObject* const* fill_table
    int32_t** fill_counts   # per thread slot: how often it wrote each table object
    int fill_next           # the next block to fill (atomic)
    int fill_slot           # the next thread slot (atomic), of fill_slots
    int fill_slots


cdef int _take_block(BatchJob* job, bint caller) noexcept nogil:
    """Take the next unclaimed block and segment it; its index, or -1 when none is left (or
    the call was interrupted).  The `caller` thread polls for signals (Ctrl-C)."""
    cdef int b
    cdef Work* w
    cdef Py_ssize_t k
    cdef int64_t before, n, polled = 0
    cdef const uint8_t* p
    cdef int rc
    if load_flag(&job.cancelled):
        return -1
    b = fetch_add(&job.next_block)
    if b >= job.nblocks:
        return -1
    w = &job.works[b]
    w.check_signals = caller
    w.cancelled = &job.cancelled
    for k in range(job.bounds[b], job.bounds[b + 1]):
        polled += job.lens[k]
        if polled >= POLL_BYTES:            # many short texts poll too
            polled = 0
            if work_poll(w) != 0:
                w.out_len = INTERRUPTED
                break
        before = w.out_len
        if job.unchecked[k] and not nfc_stable(job.ptrs[k], job.kinds[k], job.lens[k]):
            if _prepare_in_thread(job, k) != 0:
                job.counts[k] = PREPARE_FAILED
                continue
        p = job.ptrs[k]
        n = job.lens[k]
        if job.kinds[k] != 0:
            # str texts are encoded here, in parallel, rather than one by one under the GIL
            n = utf8_encode(p, job.kinds[k], n, w)
            if n == LONE_SURROGATE:
                job.counts[k] = LONE_SURROGATE
                continue
            if n < 0:
                w.out_len = -1
                break
            p = w.utf8
            if job.owned[k]:
                _release_prepared(job, k)
        rc = segment_text(job.trie, p, n, job.starts[k], job.mode, job.alpha, job.keys[k], w)
        if rc != 0:
            w.out_len = rc      # -1: out of memory; INTERRUPTED: the caller raises
            break
        job.counts[k] = w.out_len - before
    # the block's UTF-8 (up to 4 bytes a code point of its longest str) is not needed again:
    # kept until the call ends, the blocks' buffers would add up to a copy of the input
    free(w.utf8)
    w.utf8 = NULL
    w.utf8_cap = 0
    store_release(&job.done[b], 1)
    return b


cdef class _Batch:
    """Owns a BatchJob and everything its pointers lead to (the texts, what prepare()
    returned, the bucket table), for as long as any thread may still work on it: a pool task
    holds a reference, so a call that ends early (Ctrl-C while tasks are queued) frees
    nothing that a task can still read."""
    cdef BatchJob job
    cdef object texts
    cdef object prepare
    cdef list held
    cdef list errors
    cdef bytes buckets

    def __cinit__(self):
        memset(&self.job, 0, sizeof(BatchJob))

    def __dealloc__(self):
        _job_free(&self.job)


def _work_blocks(_Batch batch not None):
    """A pool thread's part of a batch: blocks until none is left."""
    with nogil:
        while _take_block(&batch.job, False) >= 0:
            pass


def _fill_blocks(_Batch batch not None):
    """A pool thread's part of filling a joined result (results.pxi)."""
    with nogil:
        _fill_some(&batch.job)


cdef void _job_free(BatchJob* job) noexcept:
    cdef int r
    if job.works != NULL:
        for r in range(job.nblocks):
            work_free(&job.works[r])
    free(job.works)
    free(job.done)
    free(job.fill_at)
    if job.fill_counts != NULL:
        for r in range(job.fill_slots):
            free(job.fill_counts[r])
    free(job.fill_counts)
    free(job.bounds)
    free(job.keys)
    free(job.starts)
    free(job.ptrs)
    free(job.lens)
    free(job.counts)
    free(job.kinds)
    if job.owned != NULL:
        for r in range(job.ntexts):
            if job.owned[r]:
                Py_DECREF(<object>job.sources[r])
    free(job.sources)
    free(job.firsts)
    free(job.unchecked)
    free(job.owned)


cdef int _cut_blocks(BatchJob* job, Py_ssize_t n, int64_t total, int nblocks,
                     bytes buckets) except -1:
    """Split the texts into `nblocks` contiguous blocks of about equal size, each with its
    own scratch space."""
    cdef Py_ssize_t k, r = 1
    cdef int64_t acc = 0
    job.nblocks = nblocks
    job.bounds = <Py_ssize_t*>malloc((nblocks + 1) * sizeof(Py_ssize_t))
    job.works = <Work*>malloc(nblocks * sizeof(Work))
    job.done = <int8_t*>malloc(nblocks)
    if not (job.bounds and job.works and job.done):
        raise MemoryError()
    memset(job.works, 0, nblocks * sizeof(Work))
    memset(job.done, 0, nblocks)
    job.bounds[0] = 0
    for k in range(n):
        acc += job.lens[k]
        while r < nblocks and acc * nblocks >= total * r:
            job.bounds[r] = k + 1
            r += 1
    while r <= nblocks:
        job.bounds[r] = n
        r += 1
    for r in range(nblocks):
        if work_init(&job.works[r], job.trie) != 0:
            raise MemoryError()
        if buckets is not None:
            job.works[r].buckets = <const Bucket*>PyBytes_AS_STRING(buckets)
    return 0


cdef object run_batch(const Trie* trie, tuple pieces, tuple ids, list texts, int mode,
                      double alpha, uint64_t seed, int num_threads, object executor, int output,
                      bint bos, bint eos, const int64_t[::1] starts, const uint64_t[::1] streams,
                      object prepare, Py_ssize_t min_bytes_per_thread, object source=None,
                      const int64_t[::1] cuts=None, int64_t chain_from=-1):
    """Vocab.encode_batch (which documents the arguments), and with `cuts` Vocab.encode_parts:
    the texts are the parts source[cuts[k]:cuts[k + 1]] of one text, which starts at
    chain_from in its stream, and the result is the whole text's (one list or array)."""
    cdef Py_ssize_t n = len(texts) if cuts is None else cuts.shape[0] - 1, k
    cdef int64_t total
    cdef int r, emitted = 0
    cdef list result = None
    cdef tuple table
    cdef _Batch owner = _Batch()
    cdef BatchJob* job = &owner.job
    owner.texts = texts if cuts is None else source
    owner.prepare = prepare
    owner.held = []             # what prepare() returned: the job points into it
    owner.errors = []
    if num_threads < 1:
        raise ValueError("num_threads must be >= 1")
    if starts is not None and starts.shape[0] != n:
        raise ValueError(f"{n} texts but {starts.shape[0]} starts")
    if streams is not None and streams.shape[0] != n:
        raise ValueError(f"{n} texts but {streams.shape[0]} streams")
    job.trie = trie
    job.mode = mode
    job.alpha = alpha
    job.ntexts = n
    job.prepare = <PyObject*>prepare
    job.errors = <PyObject*>owner.errors
    job.keys = <uint64_t*>malloc((n + 1) * sizeof(uint64_t))
    job.starts = <int64_t*>malloc((n + 1) * sizeof(int64_t))
    job.ptrs = <const uint8_t**>malloc((n + 1) * sizeof(uint8_t*))
    job.lens = <int64_t*>malloc((n + 1) * sizeof(int64_t))
    job.counts = <int64_t*>malloc((n + 1) * sizeof(int64_t))
    job.kinds = <int8_t*>malloc((n + 1) * sizeof(int8_t))
    job.sources = <PyObject**>malloc((n + 1) * sizeof(PyObject*))
    job.firsts = <int64_t*>malloc((n + 1) * sizeof(int64_t))
    job.unchecked = <int8_t*>malloc((n + 1) * sizeof(int8_t))
    job.owned = <int8_t*>calloc(n + 1, sizeof(int8_t))
    if not (job.keys and job.starts and job.ptrs and job.lens and job.counts and job.kinds
            and job.sources and job.firsts and job.unchecked and job.owned):
        raise MemoryError()
    total = _describe_texts(job, texts, source, cuts, seed, starts, streams, prepare,
                            owner.held, chain_from)
    if min_bytes_per_thread > 0:
        num_threads = <int>min(num_threads, max(1, total // min_bytes_per_thread))
    if num_threads > n:
        num_threads = <int>max(n, 1)
    owner.buckets = bucket_table(alpha) if mode == MODE_VITERBI else None
    _cut_blocks(job, n, total,
                1 if num_threads == 1 else <int>min(n, BLOCKS_PER_THREAD * num_threads),
                owner.buckets)
    futures = []
    try:
        if num_threads > 1 and executor is not None:
            for r in range(num_threads - 1):
                futures.append(executor.submit(_work_blocks, owner))
        if output == OUTPUT_ARRAYS or cuts is not None:
            with nogil:
                while _take_block(job, True) >= 0:
                    pass
            if load_flag(&job.cancelled):
                raise_pending()
        else:
            result = PyList_New(n)
            table = pieces if output == OUTPUT_PIECES else ids
            bos = bos and output == OUTPUT_IDS
            eos = eos and output == OUTPUT_IDS
            while True:
                with nogil:
                    r = _take_block(job, True)
                if load_flag(&job.cancelled):
                    raise_pending()
                emitted = _emit_rows(job, emitted, result, table, bos, eos)
                if r < 0:
                    break
    except BaseException:
        store_flag(&job.cancelled, 1)   # the pool's tasks stop at their next poll
        raise
    finally:
        # A pool task not yet started is not waited for: this thread has done its
        # blocks (so a call from inside a busy pool cannot deadlock).  A Ctrl-C during the
        # wait stops the tasks still running too, as one during this thread's blocks does.
        try:
            for f in futures:
                if not f.cancel():
                    f.result()
        except BaseException:
            store_flag(&job.cancelled, 1)
            raise
    for r in range(job.nblocks):
        if job.works[r].out_len < 0:
            raise MemoryError("out of memory while segmenting")
    if owner.errors:
        raise owner.errors[0]
    for k in range(n):
        if job.counts[k] == LONE_SURROGATE:
            _source_of(job, k).encode("utf-8")   # raises UnicodeEncodeError, naming the character
    if cuts is not None:
        return _fill_joined(owner, pieces if output == OUTPUT_PIECES else ids, output,
                            bos and output != OUTPUT_PIECES, eos and output != OUTPUT_PIECES,
                            num_threads, executor)
    if output == OUTPUT_ARRAYS:
        return _to_arrays(job, n, bos, eos)
    _emit_rows(job, emitted, result, table, bos, eos)
    return result
