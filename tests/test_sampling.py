"""Both samplers against brute-force enumeration and an independent reference simulation."""
from __future__ import annotations

import math
import random
import re
from collections import Counter

import pytest

from bytepiece_lite import Tokenizer
from bytepiece_lite.model import from_counts

from strategies import vocab_counts

# Short texts with many segmentations; no newline, so one chunk.
COUNTS = vocab_counts({b"ab": 40, b"abc": 15, b"bc": 25, b"ca": 10, b"abca": 5, b"cab": 8, b"bca": 6},
                      byte_count=20)
TEXTS = [b"abcab", b"abcabc", b"cabca"]
N = 20000


def segmentations(text: bytes, vocab):
    if not text:
        yield ()
        return
    for k in range(1, len(text) + 1):
        if text[:k] in vocab:
            for rest in segmentations(text[k:], vocab):
                yield (text[:k],) + rest


def exact_target(text, alpha):
    model = from_counts(COUNTS)
    logp = dict(zip(model.pieces, model.log_probs().tolist()))
    weights = {seg: math.exp(alpha * sum(logp[p] for p in seg)) for seg in segmentations(text, logp)}
    z = sum(weights.values())
    return {seg: w / z for seg, w in weights.items()}


def empirical(tok, text, alpha, sampler, n=N):
    counts = Counter(tuple(tok.tokenize(text, alpha, sampler=sampler, seed=i)) for i in range(n))
    return {seg: c / n for seg, c in counts.items()}


def tv(p, q):
    return 0.5 * sum(abs(p.get(k, 0.0) - q.get(k, 0.0)) for k in set(p) | set(q))


def chi2(emp, target, n=N):
    return sum((emp.get(k, 0.0) * n - target[k] * n) ** 2 / (target[k] * n) for k in target)


@pytest.mark.parametrize("alpha", [0.3, 1.0])
@pytest.mark.parametrize("text", TEXTS)
def test_exact_sampler_matches_enumerated_distribution(text, alpha):
    tok = Tokenizer(COUNTS)
    target = exact_target(text, alpha)
    emp = empirical(tok, text, alpha, "exact")
    assert set(emp) <= set(target)
    df = len(target) - 1
    # chi-square far below what a wrong rule gives; the statistic's sd is sqrt(2 df)
    assert chi2(emp, target) < df + 6 * math.sqrt(2 * df)
    assert tv(emp, target) < 0.03
    # sensitivity: the target of a different alpha (a wrong rule) is clearly rejected
    assert tv(emp, exact_target(text, alpha * 2)) > 0.05 or chi2(emp, exact_target(text, alpha * 2)) > 10 * df


def reference_viterbi_sampling(text: bytes, logp: dict, alpha: float, rng: random.Random):
    """docs/semantics.md, "Sampling", written independently: matches by end, longest first;
    sigmoid acceptance."""
    n = len(text)
    score = [0.0] + [-math.inf] * n
    route = [0] * (n + 1)
    for e in range(1, n + 1):
        for s in range(0, e):  # s ascending = longest first
            piece = text[s:e]
            if piece not in logp:
                continue
            cand = score[s] + logp[piece]
            if score[e] == -math.inf:
                accept = True
            else:
                x = alpha * (cand - score[e])
                accept = rng.random() < 1 / (1 + math.exp(-x)) if x > -700 else False
            if accept:
                score[e], route[e] = cand, s
    out, e = [], n
    while e > 0:
        out.append(text[route[e]:e])
        e = route[e]
    return tuple(reversed(out))


@pytest.mark.parametrize("alpha", [0.1, 1.0])
@pytest.mark.parametrize("text", TEXTS)
def test_viterbi_sampler_matches_reference_simulation(text, alpha):
    model = from_counts(COUNTS)
    logp = dict(zip(model.pieces, model.log_probs().tolist()))
    rng = random.Random(12345)
    ref = Counter(reference_viterbi_sampling(text, logp, alpha, rng) for _ in range(N))
    ref = {k: v / N for k, v in ref.items()}
    emp = empirical(Tokenizer(COUNTS), text, alpha, "viterbi")
    assert tv(emp, ref) < 0.035  # two-sample noise with ~20 outcomes is ~0.015


TYPICAL = ["tokenizer", "weather forecast", "今天天气不错", "internationalization", "数据加载器",
           "subword regularization", "the quick brown fox", "Viterbi sampling"]


def test_most_probable_segmentation_is_the_most_frequent_sample():
    from _shared import shared_path
    tok = Tokenizer(shared_path("models", "bytepiece.plus.40k.zip"))
    hits = {"viterbi": 0, "exact": 0}
    for text in TYPICAL:
        best = tuple(tok.tokenize(text))
        for sampler in hits:
            counts = Counter(tuple(tok.tokenize(text, 1.0, sampler=sampler, seed=i)) for i in range(1500))
            top = counts.most_common(1)[0][1]
            # a mode within sampling noise of the best counts as a hit (near-ties exist)
            hits[sampler] += counts[best] >= top - 3 * math.sqrt(top)
    # exact sampling draws P(w)/Z at alpha=1, so its mode is the best segmentation; Viterbi
    # Sampling's sigmoid rule is biased (e.g. "the quick brown fox" prefers " brown "+"f"+"ox",
    # as the reference simulation does too), but agrees on typical texts.
    assert hits["exact"] == len(TYPICAL)
    assert hits["viterbi"] >= len(TYPICAL) - 2


def test_large_alpha_converges_to_deterministic():
    tok = Tokenizer(COUNTS)
    for text in TEXTS:
        best = tuple(tok.tokenize(text))
        assert all(tuple(tok.tokenize(text, 1e6, seed=s)) == best for s in range(50))
        assert all(tuple(tok.tokenize(text, 1e6, sampler="exact", seed=s)) == best for s in range(50))
    # and away from it, samples vary
    assert len({tuple(tok.tokenize(TEXTS[1], 0.1, seed=s)) for s in range(50)}) > 3


def test_alpha_zero_or_negative_is_deterministic():
    tok = Tokenizer(COUNTS)
    best = tok.tokenize(b"abcabcab")
    for alpha in (0, 0.0, -1, -0.5):
        assert tok.tokenize(b"abcabcab", alpha, seed=1) == best
        assert tok.tokenize(b"abcabcab", alpha, sampler="exact") == best


@pytest.mark.parametrize("sampler", ["viterbi", "exact"])
def test_seeding(sampler):
    tok = Tokenizer(COUNTS)
    text = b"abcabcabcabca\nbcabcab\n\n" * 20
    a = tok.encode(text, 0.2, sampler=sampler, seed=42)
    assert a == tok.encode(text, 0.2, sampler=sampler, seed=42)
    assert a != tok.encode(text, 0.2, sampler=sampler, seed=43)
    unseeded = {tuple(tok.encode(text, 0.2, sampler=sampler)) for _ in range(5)}
    assert len(unseeded) == 5
    other = Tokenizer(COUNTS)
    assert tuple(other.encode(text, 0.2, sampler=sampler)) not in unseeded
    for ids in unseeded:
        assert tok.decode_bytes(list(ids)) == text


@pytest.mark.parametrize("sampler", ["viterbi", "exact"])
def test_backends_draw_identical_samples(sampler):
    native, oracle = Tokenizer(COUNTS), Tokenizer(COUNTS, backend="pyahocorasick")
    for seed in range(200):
        text = TEXTS[seed % 3] * (1 + seed % 4) + b"\n" + TEXTS[(seed + 1) % 3]
        assert native.tokenize(text, 0.5, sampler=sampler, seed=seed) == \
            oracle.tokenize(text, 0.5, sampler=sampler, seed=seed)


_M64 = (1 << 64) - 1


def _mix(z: int) -> int:
    """SplitMix64's output function, written here independently of the package."""
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    return z ^ (z >> 31)


def _reference_counter_sampling(text: bytes, logp: dict, alpha: float, seed: int, absolute: bool):
    """Viterbi Sampling of docs/semantics.md with its random stream: chunks cut after newline
    runs; candidate (s, e) draws from position e of the whole text (or of its chunk, when not
    `absolute`: the rule a mutant would follow)."""
    key = _mix((_mix(seed) + 0x9E3779B97F4A7C15) & _M64)          # text 0 of the call
    out = []
    for m in re.finditer(rb"[^\n]*\n+|[^\n]+", text):
        chunk, base = m.group(), (m.start() if absolute else 0)
        n = len(chunk)
        score = [0.0] + [-math.inf] * n
        route = [0] * (n + 1)
        for e in range(1, n + 1):
            for st in range(e):              # longest first
                piece = chunk[st:e]
                if piece not in logp:
                    continue
                cand = score[st] + logp[piece]
                bits = _mix((key + (((base + e) << 16) | (e - st)) * 0x9E3779B97F4A7C15) & _M64)
                u = (bits >> 11) / 2.0**53
                x = alpha * (cand - score[e])
                if score[e] == -math.inf or (x > -700 and u < 1 / (1 + math.exp(-x))):
                    score[e], route[e] = cand, st
        pieces, e = [], n
        while e > 0:
            pieces.append(chunk[route[e]:e])
            e = route[e]
        out += reversed(pieces)
    return out


@pytest.mark.parametrize("backend", ["native", "pyahocorasick"])
def test_draws_are_keyed_by_absolute_position(backend):
    # The second and third chunks draw from their positions in the whole text: their samples
    # equal an independent reference's, and differ from what chunk-relative draws give.
    model = from_counts(COUNTS)
    logp = dict(zip(model.pieces, model.log_probs().tolist()))
    tok = Tokenizer(COUNTS, backend=backend)
    text = b"abcab\n\nabcab\nabcabca"
    relative_differs = 0
    for seed in range(60):
        sample = tok.tokenize(text, 0.5, seed=seed)
        assert sample == _reference_counter_sampling(text, logp, 0.5, seed, absolute=True)
        relative_differs += sample != _reference_counter_sampling(text, logp, 0.5, seed, absolute=False)
    assert relative_differs > 10


def test_exact_sampling_on_long_lines_equals_the_oracle(monkeypatch):
    # Long lines have so many segmentations that the running total of exact sampling passes
    # 1e100 and its exponent is folded into the score, in both backends alike.
    from bytepiece_lite import _pyac
    folds = []
    fold = _pyac._fold
    monkeypatch.setattr(_pyac, "_fold", lambda base, total: folds.append(total) or fold(base, total))
    native, oracle = Tokenizer(COUNTS), Tokenizer(COUNTS, backend="pyahocorasick")
    text = b"abcabcab" * 300
    for alpha in (0.01, 0.1, 1.0):
        for seed in range(5):
            assert native.encode(text, alpha, sampler="exact", seed=seed) == \
                oracle.encode(text, alpha, sampler="exact", seed=seed)
    assert len(folds) >= 30
