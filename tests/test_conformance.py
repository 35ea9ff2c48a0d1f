"""Upstream bytepiece 0.6.3's own outputs (../shared/golden) reproduced id for id."""
from __future__ import annotations

import json

import pytest

from bytepiece_lite import Tokenizer

from _shared import shared_path

MODELS = ["bytepiece_80k", "bytepiece.plus.40k"]


@pytest.fixture(scope="module", params=[(m, b) for m in MODELS for b in ("native", "pyahocorasick")],
                ids=lambda p: f"{p[0]}-{p[1]}")
def case(request):
    model, backend = request.param
    tok = Tokenizer(shared_path("models", model + ".zip"), backend=backend)
    lines = shared_path("golden", model + ".dev.jsonl").read_text(encoding="utf-8").splitlines()
    return tok, [json.loads(line) for line in lines]


def test_encode_matches_upstream_on_every_line(case):
    tok, rows = case
    assert len(rows) > 4000
    mismatches = [r["text"][:60] for r in rows if tok.encode(r["text"]) != r["ids"]]
    assert mismatches == []


def test_tokenize_agrees_with_encode_and_round_trips(case):
    tok, rows = case
    for r in rows[:300]:
        pieces = tok.tokenize(r["text"])
        assert [tok.piece_to_id(p) for p in pieces] == r["ids"]
        assert tok.decode(r["ids"]) == tok.decode_bytes(r["ids"]).decode("utf-8", "replace")


def test_whole_file_equals_line_by_line():
    """Chunking cuts after every run of newlines, so one call on a file equals per-chunk calls."""
    tok = Tokenizer(shared_path("models", "bytepiece.plus.40k.zip"))
    text = shared_path("corpora", "zh_debref.txt").read_text(encoding="utf-8")[:200_000]
    whole = tok.encode(text)
    parts = []
    for line in text.splitlines(keepends=True):
        parts.extend(tok.encode(line))
    # splitlines cuts after each newline, chunking after a run of them: re-join runs
    assert tok.decode(whole) == text
    assert len(whole) <= len(parts)
    import re
    by_chunk = [i for chunk in re.findall(r".*\n+|.+", text) for i in tok.encode(chunk)]
    assert whole == by_chunk


@pytest.mark.parametrize("sampler", ["viterbi", "exact"])
@pytest.mark.parametrize("alpha", [0.1, 1.0])
def test_seeded_samples_equal_the_oracle_on_real_text(sampler, alpha):
    """Both backends, a published model, real text: the same samples (thousands of candidates
    per line reach every path of the samplers, the rare exact-formula one included)."""
    native = Tokenizer(shared_path("models", "bytepiece.plus.40k.zip"))
    oracle = Tokenizer(shared_path("models", "bytepiece.plus.40k.zip"), backend="pyahocorasick")
    for name in ("en_pydocs_a.txt", "zh_fortunes.txt"):
        text = shared_path("corpora", name).read_text(encoding="utf-8")[:20_000]
        assert native.encode(text, alpha, sampler=sampler, seed=5) == \
            oracle.encode(text, alpha, sampler=sampler, seed=5)
