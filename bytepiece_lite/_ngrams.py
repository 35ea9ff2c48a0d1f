"""Steps 2 and 3 of training (docs/semantics.md, "Training"): count the byte n-grams of a
corpus, vectorized, and prune them into the conditional log-probabilities of the n-gram
model.  Every window of up to 8 bytes is packed big-endian into a uint64; one sort per order
and batch turns windows into counts."""
from __future__ import annotations

import numpy as np

__all__ = ["count_ngrams", "merge_counts", "prune_ngrams"]

_Table = tuple[np.ndarray, np.ndarray]     # sorted unique uint64 keys, their int64 counts


def _runs(sorted_keys: np.ndarray) -> _Table:
    """Unique keys of a sorted array and how often each occurs."""
    if sorted_keys.size == 0:
        return np.zeros(0, np.uint64), np.zeros(0, np.int64)
    first = np.flatnonzero(np.concatenate(([True], sorted_keys[1:] != sorted_keys[:-1])))
    return sorted_keys[first], np.diff(np.append(first, sorted_keys.size)).astype(np.int64)


def count_ngrams(chunks: list[bytes], order: int) -> tuple[int, list[_Table]]:
    """(number of bytes, [table 1, ..., table order]): table j counts every j-byte window
    that lies inside one chunk.  Shorter windows at a chunk's end, which upstream files in
    table j and then prunes, are never counted."""
    buf = np.frombuffer(b"".join(chunks), dtype=np.uint8)
    n = buf.size
    lengths = np.fromiter(map(len, chunks), dtype=np.int64, count=len(chunks))
    room = (np.repeat(np.cumsum(lengths), lengths) - np.arange(n)).astype(np.int32)
    key = np.zeros(n, dtype=np.uint64)
    tables = []
    for j in range(1, order + 1):
        m = max(n - j + 1, 0)
        key = key[:m]
        key <<= np.uint64(8)
        key |= buf[j - 1:j - 1 + m]
        tables.append(_runs(np.sort(key[room[:m] >= j])))
    return n, tables


def _merge_tables(a: _Table, b: _Table) -> _Table:
    """a + b for sorted unique keys: b's counts are added in place where a has the key, the
    other keys inserted in order (no re-sort of the whole, so little memory beyond the result)."""
    keys, counts = a
    if keys.size == 0:
        return b
    at = np.searchsorted(keys, b[0])
    found = np.zeros(at.size, dtype=bool)
    inside = at < keys.size
    found[inside] = keys[at[inside]] == b[0][inside]
    counts[at[found]] += b[1][found]
    new = ~found
    return np.insert(keys, at[new], b[0][new]), np.insert(counts, at[new], b[1][new])


def merge_counts(a: tuple[int, list[_Table]], b: tuple[int, list[_Table]]) -> tuple[int, list[_Table]]:
    """a + b; reuses a's list so that each table's old arrays are freed as soon as it is merged."""
    tables = a[1]
    for j, t in enumerate(b[1]):
        tables[j] = _merge_tables(tables[j], t)
    return a[0] + b[0], tables


def prune_ngrams(total: int, tables: list[_Table], min_count: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Conditional log-probabilities ln c(k) - ln c(k[:-1]) of the kept n-grams, per table,
    in exactly upstream's float64 operations."""
    keys1, counts1 = tables[0]
    missing = np.setdiff1d(np.arange(256, dtype=np.uint64), keys1)
    if missing.size:           # every byte gets a count of at least 1
        total += missing.size
        tables = [_merge_tables((keys1, counts1), (missing, np.ones(missing.size, np.int64)))] + tables[1:]
    keys: list[np.ndarray] = []
    logs: list[np.ndarray] = []
    for j, (k, c) in enumerate(tables, start=1):
        if j > 1:
            kept = c >= min_count
            k, c = k[kept], c[kept]
        keys.append(k)
        logs.append(np.log(c.astype(np.float64)))
    log_total = np.log(np.float64(total))
    for j in range(len(tables), 0, -1):
        if j == 1:
            logs[0] = logs[0] - log_total
        else:
            # a kept n-gram's prefix is at least as frequent, hence kept too
            prefix = np.searchsorted(keys[j - 2], keys[j - 1] >> np.uint64(8))
            logs[j - 1] = logs[j - 1] - logs[j - 2][prefix]
    return keys, logs
