"""Replays the fuzz corpus: every file of tests/fuzz/corpus/<target>/ (the seeds and every
input that ever crashed a target) through its target function, without atheris."""
from __future__ import annotations

import os

import pytest

from fuzz import targets

CORPUS = os.path.join(os.path.dirname(__file__), "fuzz", "corpus")
CASES = sorted((t, name) for t in os.listdir(CORPUS) for name in os.listdir(os.path.join(CORPUS, t)))


def test_every_target_has_a_corpus():
    assert sorted(os.listdir(CORPUS)) == sorted(targets.TARGETS)
    for t in targets.TARGETS:
        assert os.listdir(os.path.join(CORPUS, t)), f"no inputs for {t}"


@pytest.mark.parametrize("target, name", CASES, ids=[f"{t}/{n}" for t, n in CASES])
def test_replay(target, name):
    with open(os.path.join(CORPUS, target, name), "rb") as f:
        data = f.read()
    targets.TARGETS[target](data)


def test_the_targets_catch_bugs(monkeypatch):
    """The oracles can fail: a wrong core (the oracle's ids shifted) or a reader that refuses
    what the other accepts makes the targets raise."""
    seed = b"\x01\x05\x02ab\x03\x01" + b"ab\nab ba\xe4\xb8" * 4
    native, oracle = targets._tokenizers(targets._vocab(targets.Data(seed)))
    real = type(oracle).encode
    monkeypatch.setattr(type(oracle), "encode",
                        lambda self, *a, **k: [i + (self is oracle) for i in real(self, *a, **k)])
    with pytest.raises(AssertionError, match="native != pyahocorasick"):
        targets.tokenize(seed)
    monkeypatch.undo()
    targets.tokenize(seed)
    good = [f for f in os.listdir(os.path.join(CORPUS, "json_readers"))]
    from bytepiece_lite import model as model_io
    monkeypatch.setattr(model_io, "_parse_with_json", lambda data, source: (_ for _ in ()).throw(
        model_io.ModelError(f"{source}: refused")))
    failures = 0
    for name in good:
        with open(os.path.join(CORPUS, "json_readers", name), "rb") as f:
            try:
                targets.json_readers(f.read())
            except AssertionError:
                failures += 1
    assert failures >= 1
