"""The batch shapes of the transformers wrapper (hf.py): truncation, padding, masks, in
plain Python and numpy, the tokens already encoded."""
from __future__ import annotations

import itertools

import numpy as np

__all__ = ["pad_lists", "padded_arrays", "special_mask", "truncate"]


def truncate(rows: list[list[int]], max_length: int, bos: bool, eos: bool, left: bool) -> list[list[int]]:
    """Rows cut to max_length: the text loses tokens at its end (or its start, with
    ``truncation_side="left"``), <bos>/<eos> stay."""
    out = []
    for r in rows:
        if len(r) <= max_length:
            out.append(r)
            continue
        head, tail = (r[:1] if bos else []), (r[-1:] if eos else [])
        body = r[len(head):len(r) - len(tail)]
        keep = max(max_length - len(head) - len(tail), 0)
        out.append(head + (body[len(body) - keep:] if left else body[:keep]) + tail)
    return out


def special_mask(row, n, side, bos, eos):
    mask = [0] * n
    if n:
        if bos:
            mask[0] = 1
        if eos:
            mask[-1] = 1
    pad = len(row) - n
    return mask + [1] * pad if side == "right" else [1] * pad + mask


def pad_lists(rows, lengths, target, side, pad_id):
    out, masks = [], []
    for r, n in zip(rows, lengths):
        k = target - n
        if k <= 0:
            out.append(r)
            masks.append([1] * n)
        elif side == "right":
            out.append(r + [pad_id] * k)
            masks.append([1] * n + [0] * k)
        else:
            out.append([pad_id] * k + r)
            masks.append([0] * k + [1] * n)
    return out, masks


def padded_arrays(rows, lengths, target, side, pad_id) -> dict[str, np.ndarray]:
    n_rows = len(rows)
    ids = np.full((n_rows, target), pad_id, dtype=np.int64)
    lens = np.asarray(lengths, dtype=np.int64)
    flat = np.fromiter(itertools.chain.from_iterable(rows), dtype=np.int64, count=int(lens.sum()))
    row_of = np.repeat(np.arange(n_rows), lens)
    starts = np.cumsum(lens) - lens
    col = np.arange(flat.size, dtype=np.int64) - np.repeat(starts, lens)
    if side != "right":
        col += np.repeat(target - lens, lens)
    ids[row_of, col] = flat
    positions = np.arange(target)[None, :]
    if side == "right":
        mask = positions < lens[:, None]
    else:
        mask = positions >= (target - lens)[:, None]
    return {"input_ids": ids, "attention_mask": mask.astype(np.int64)}
