"""A slow, literal transcription of docs/semantics.md, "Training" (dicts of bytes, numpy per byte) for tiny
corpora: the independent reference the vectorized/compiled Trainer is checked against.
Step 5's Unigram tokenizer is the pyahocorasick backend, not the native core."""
from __future__ import annotations

import re
import unicodedata

import numpy as np

from bytepiece_lite import Tokenizer


def presplit(text: str, isolate_digits: bool) -> list[bytes]:
    m = 10000
    if isolate_digits:
        regex = r"\d|[^\n\d]{,%d}\n{1,100}|[^\n\d]{1,%d}" % (m, m)
    else:
        regex = r".{,%d}\n{1,100}|.{1,%d}" % (m, m)
    return [t.encode() for t in re.findall(regex, unicodedata.normalize("NFC", text))]


def train(texts, order, sizes, max_piece_length, min_count, isolate_digits, ensure_unicode,
          weights=None):
    # With weights, texts is a list of parts; a piece cut in part i counts weights[i] times.
    parts, weights = ([texts], [1]) if weights is None else (texts, weights)
    weighted = [(c, w) for part, w in zip(parts, weights) for t in part for c in presplit(t, isolate_digits)]
    chunks = [c for c, _ in weighted]
    # step 2
    ngrams = [{} for _ in range(order + 1)]
    for c in chunks:
        for i in range(len(c)):
            for j in range(order + 1):
                k = c[i:i + j]
                ngrams[j][k] = ngrams[j].get(k, 0) + 1
    # step 3
    for b in range(256):
        if bytes([b]) not in ngrams[1]:
            ngrams[1][bytes([b])] = 1
            ngrams[0][b""] += 1
    for i in range(order, -1, -1):
        ngrams[i] = {k: np.log(v) for k, v in ngrams[i].items()
                     if len(k) == i and v >= (min_count if i > 1 else 0)}
        if i < order:
            ngrams[i + 1] = {k: v - ngrams[i][k[:i]] for k, v in ngrams[i + 1].items()}
    # step 4
    trans = np.full((order, order), -np.inf)
    for i in range(order):
        trans[i, 0] = 0
        trans[i, min(i + 1, order - 1)] = 0
    pieces: dict[bytes, int] = {}
    for c, w in weighted:
        n = len(c)
        node = np.full((n, order), -np.inf)
        for j in range(order):
            for i in range(j, n):
                node[i, j] = ngrams[j + 1].get(c[i - j:i + 1], -np.inf)
        if ensure_unicode:
            arr = np.frombuffer(c, dtype=np.uint8)
            node[(arr >= 0x80) & (arr < 0xC0), 0] = -np.inf
        route = np.zeros((n, order), dtype=int)
        for i in range(1, n):
            s = node[i - 1][:, None] + trans + node[i]
            route[i] = s.argmax(0)
            node[i] = s.max(0)
        state = [int(node[-1].argmax())]
        for i in range(n - 1, 0, -1):
            state.append(int(route[i][state[-1]]))
        state = state[::-1]
        starts = [i for i in range(n) if state[i] == 0] + [n]
        for s, e in zip(starts, starts[1:]):
            pieces[c[s:e]] = pieces.get(c[s:e], 0) + w
    # step 5
    for b in range(256):
        pieces.setdefault(bytes([b]), 1)

    def split(keep, drop):
        tok = Tokenizer.from_pieces(keep, backend="pyahocorasick")
        out: dict[bytes, int] = {}
        for k, v in drop:
            for p in tok.tokenize(k):
                out[p] = out.get(p, 0) + v
        return out

    def drop_wasted(keep):
        while True:
            before = len(keep)
            keep = split(keep, list(keep.items()))
            if len(keep) == before:
                return keep

    keep = {k: v for k, v in pieces.items()
            if len(k) == 1 or (len(k) <= max_piece_length and v >= min_count)}
    drop = [(k, v) for k, v in pieces.items() if k not in keep]
    for k, v in split(keep, drop).items():
        keep[k] += v
    keep = drop_wasted(keep)
    result = {}
    for size in sorted(sizes, reverse=True):
        if len(keep) > size - 3:
            ranked = sorted(keep.items(), key=lambda t: (len(t[0]) > 1, -t[1], -len(t[0]), t[0]))
            keep = dict(ranked[:size - 3])
            for k, v in split(keep, ranked[size - 3:]).items():
                keep[k] += v
            keep = drop_wasted(keep)
        result[size] = dict(keep)
    return result
