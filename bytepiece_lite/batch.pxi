# Batches: many texts (or consecutive parts of one text) segmented on a pool of threads with
# the GIL released, and the results turned into Python lists or numpy arrays.  Included into
# _core.pyx.
#
# The texts are cut into blocks of about equal size that the pool threads and the calling
# thread take in turn (an atomic counter).  The calling thread also turns each finished block
# into Python objects (that needs the GIL, so it is serial): the pool threads take more blocks
# meanwhile, and the serial part overlaps the parallel one.

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.list cimport PyList_New
from cpython.unicode cimport PyUnicode_DATA, PyUnicode_GET_LENGTH, PyUnicode_KIND
from libc.stdint cimport int8_t, int32_t, int64_t, uint8_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memset

from .contracts cimport (BOS_ID, EOS_ID, ID_OFFSET, MODE_VITERBI, OUTPUT_ARRAYS, OUTPUT_IDS,
                         OUTPUT_PIECES)
from .rng cimport stream_key_of
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
    int64_t* counts         # tokens of each text, or LONE_SURROGATE
    Py_ssize_t* bounds      # block b covers texts bounds[b] .. bounds[b + 1] - 1
    Work* works             # one per block: its scratch space and its output
    int8_t* done            # block b is finished (written with release, read with acquire)
    int nblocks
    int next_block          # the next block to take (atomic)
    int cancelled           # set (atomic) when the calling thread was interrupted


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
        rc = segment_text(job.trie, p, n, job.starts[k], job.mode, job.alpha, job.keys[k], w)
        if rc != 0:
            w.out_len = rc      # -1: out of memory; INTERRUPTED: the caller raises
            break
        job.counts[k] = w.out_len - before
    store_release(&job.done[b], 1)
    return b


cdef class _Batch:
    """Owns a BatchJob and everything its pointers lead to (the texts, what prepare()
    returned, the bucket table), for as long as any thread may still work on it: a pool task
    holds a reference, so a call that ends early (Ctrl-C while tasks are queued) frees
    nothing that a task can still read."""
    cdef BatchJob job
    cdef object texts
    cdef list held
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


cdef void _job_free(BatchJob* job) noexcept:
    cdef int r
    if job.works != NULL:
        for r in range(job.nblocks):
            work_free(&job.works[r])
    free(job.works)
    free(job.done)
    free(job.bounds)
    free(job.keys)
    free(job.starts)
    free(job.ptrs)
    free(job.lens)
    free(job.counts)
    free(job.kinds)


cdef int64_t _describe_texts(BatchJob* job, list texts, uint64_t seed, const int64_t[::1] starts,
                             const uint64_t[::1] streams, object prepare, list held) except -1:
    """Point the job at every text (replacing, through `prepare`, what the core cannot take
    as it is); the total size in bytes (code points for str)."""
    cdef Py_ssize_t n = len(texts), k
    cdef int64_t total = 0
    cdef object obj
    for k in range(n):
        obj = texts[k]
        if prepare is not None and type(obj) is not bytes and (
                type(obj) is not str or not nfc_stable(
                    PyUnicode_DATA(obj), PyUnicode_KIND(obj), PyUnicode_GET_LENGTH(obj))):
            obj = prepare(obj)
            held.append(obj)
        if type(obj) is bytes:
            job.ptrs[k] = <const uint8_t*>PyBytes_AS_STRING(obj)
            job.lens[k] = PyBytes_GET_SIZE(obj)
            job.kinds[k] = 0
        elif type(obj) is str:
            job.ptrs[k] = <const uint8_t*>PyUnicode_DATA(obj)
            job.lens[k] = PyUnicode_GET_LENGTH(obj)
            job.kinds[k] = <int8_t>PyUnicode_KIND(obj)
        else:
            raise TypeError(f"text {k} is {type(obj).__name__}, not bytes or str")
        job.keys[k] = stream_key_of(seed, k if streams is None else streams[k])
        job.starts[k] = 0 if starts is None else starts[k]
        total += job.lens[k]
    return total


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
                      object prepare, Py_ssize_t min_bytes_per_thread):
    """Vocab.encode_batch (which documents the arguments)."""
    cdef Py_ssize_t n = len(texts), k
    cdef int64_t total
    cdef int r, emitted = 0
    cdef list result = None
    cdef tuple table
    cdef _Batch owner = _Batch()
    cdef BatchJob* job = &owner.job
    owner.texts = texts
    owner.held = []             # what prepare() returned: the job points into it
    if num_threads < 1:
        raise ValueError("num_threads must be >= 1")
    if starts is not None and starts.shape[0] != n:
        raise ValueError(f"{n} texts but {starts.shape[0]} starts")
    if streams is not None and streams.shape[0] != n:
        raise ValueError(f"{n} texts but {streams.shape[0]} streams")
    job.trie = trie
    job.mode = mode
    job.alpha = alpha
    job.keys = <uint64_t*>malloc((n + 1) * sizeof(uint64_t))
    job.starts = <int64_t*>malloc((n + 1) * sizeof(int64_t))
    job.ptrs = <const uint8_t**>malloc((n + 1) * sizeof(uint8_t*))
    job.lens = <int64_t*>malloc((n + 1) * sizeof(int64_t))
    job.counts = <int64_t*>malloc((n + 1) * sizeof(int64_t))
    job.kinds = <int8_t*>malloc((n + 1) * sizeof(int8_t))
    if not (job.keys and job.starts and job.ptrs and job.lens and job.counts and job.kinds):
        raise MemoryError()
    total = _describe_texts(job, texts, seed, starts, streams, prepare, owner.held)
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
        if output == OUTPUT_ARRAYS:
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
        # blocks (so a call from inside a busy pool cannot deadlock).
        for f in futures:
            if not f.cancel():
                f.result()
    for r in range(job.nblocks):
        if job.works[r].out_len < 0:
            raise MemoryError("out of memory while segmenting")
    for k in range(n):
        if job.counts[k] == LONE_SURROGATE:
            texts[k].encode("utf-8")     # raises UnicodeEncodeError, naming the character
    if output == OUTPUT_ARRAYS:
        return _to_arrays(job, n, bos, eos)
    _emit_rows(job, emitted, result, table, bos, eos)
    return result
