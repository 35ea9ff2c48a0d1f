"""The trainer against upstream's own output (goldens) and a literal reference of docs/semantics.md, "Training"."""
from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bytepiece_lite import Tokenizer
from bytepiece_lite import model as _model
from bytepiece_lite._core import Bnlm
from bytepiece_lite._train_tasks import presplit
from bytepiece_lite.trainer import Trainer

from _reference_trainer import train as reference_train
from _shared import shared_path

GOLDENS = {  # params file -> {vocab size: golden model file}
    "train_small.A": {6000: "train_small.A.model"},
    "train_small.B": {3000: "train_small.B.model.3000", 6000: "train_small.B.model.6000"},
}


def _trainer(params: dict) -> Trainer:
    return Trainer(order=params["order"], max_vocab_size=params["max_vocab_size"],
                   max_piece_length=params["max_piece_length"], min_count=params["min_count"],
                   isolate_digits=params["isolate_digits"], ensure_unicode=params["ensure_unicode"])


@pytest.fixture(scope="module")
def small_lines() -> list[str]:
    path = shared_path("corpora", "train_small.txt")
    with open(path, encoding="utf-8", newline="") as f:
        return f.readlines()


@pytest.mark.parametrize("name", sorted(GOLDENS))
def test_reproduces_upstream_goldens_byte_for_byte(name, small_lines, tmp_path):
    params = json.loads(shared_path("golden", f"{name}.params.json").read_text())
    trainer = _trainer(params)
    trainer.train(small_lines, progress=False)
    written = trainer.save(tmp_path / "out.model")
    for size, golden in GOLDENS[name].items():
        expected = shared_path("golden", golden).read_bytes()
        target = tmp_path / ("out.model" if len(GOLDENS[name]) == 1 else f"out.model.{size}")
        assert str(target) in written
        assert target.read_bytes() == expected, f"{golden}: pieces, ids or counts differ"


def test_result_does_not_depend_on_workers(small_lines):
    params = json.loads(shared_path("golden", "train_small.B.params.json").read_text())
    models = []
    for workers in (1, 2):
        t = _trainer(params)
        t.train(small_lines[:4000], workers=workers, progress=False)
        models.append({s: _model.to_json(m) for s, m in t.models.items()})
    assert models[0] == models[1]


CORPUS_LINES = ["今天天气不错\n", "the weather is nice today\n", "天气很好\n"]
_START_METHODS = r"""
import hashlib, threading
from bytepiece_lite import model
from bytepiece_lite._train_tasks import process_context
from bytepiece_lite.trainer import Trainer

if __name__ == "__main__":
    print(process_context().get_start_method())
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()                   # a thread that may hold a lock when the workers start
    print(process_context().get_start_method())
    t = Trainer(max_vocab_size=300, min_count=2)
    t.train(%r * 300, workers=2, progress=False)
    stop.set()
    other.join()
    print(hashlib.sha256(model.to_json(t.models[300])).hexdigest())
""" % (CORPUS_LINES,)


def test_workers_are_forked_only_without_other_threads(tmp_path):
    # A fresh interpreter: no other Python thread, so its workers fork; with another thread
    # running, a fork could copy a lock that thread holds, so they start from a forkserver
    # (which imports the main script again, as __mp_main__: hence the guard).
    script = tmp_path / "train_with_a_thread.py"
    script.write_text(_START_METHODS, encoding="utf-8")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         encoding="utf-8", timeout=300)
    assert out.returncode == 0, out.stderr
    default = multiprocessing.get_start_method()
    methods = ["fork", "forkserver"] if default == "fork" else [default, default]
    local = Trainer(max_vocab_size=300, min_count=2)
    local.train(CORPUS_LINES * 300, progress=False)
    assert out.stdout.split() == methods + [hashlib.sha256(_model.to_json(local.models[300])).hexdigest()]


def test_dask_executor_gives_the_same_model(small_lines):
    distributed = pytest.importorskip("distributed", reason="dask.distributed is not installed "
                                      "(pip install 'bytepiece-lite[dask]')")
    lines = small_lines[:3000]
    local = Trainer(max_vocab_size=2000)
    local.train(lines, progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        remote = Trainer(max_vocab_size=2000)
        remote.train(lines, executor=client.get_executor(), progress=False)
    assert _model.to_json(remote.models[2000]) == _model.to_json(local.models[2000])


# Small corpora over a small alphabet, so that n-grams repeat and every step has work to do.
_texts = st.lists(
    st.text(alphabet=st.sampled_from(list("ab c\n1é今天") + ["\u0301", "\U0001F600"]), max_size=30),
    min_size=1, max_size=12)


@settings(max_examples=40, deadline=None)
@given(texts=_texts, order=st.integers(1, 8), min_count=st.integers(1, 3),
       max_piece_length=st.integers(1, 6), isolate_digits=st.booleans(), ensure_unicode=st.booleans(),
       sizes=st.lists(st.integers(259, 275), min_size=1, max_size=2, unique=True))
def test_matches_a_literal_reference_of_the_algorithm(texts, order, min_count, max_piece_length,
                                                        isolate_digits, ensure_unicode, sizes):
    if not "".join(texts):
        return
    expected = reference_train(texts, order, sizes, max_piece_length, min_count, isolate_digits,
                               ensure_unicode)
    t = Trainer(order=order, max_vocab_size=sizes, max_piece_length=max_piece_length,
                min_count=min_count, isolate_digits=isolate_digits, ensure_unicode=ensure_unicode)
    t.train(texts, progress=False)
    for size, pieces in expected.items():
        m = t.models[size]
        assert dict(zip(m.pieces, m.counts.tolist())) == pieces


def test_trained_model_round_trips_and_is_lossless(tmp_path):
    corpus = ["今天天气不错，我们去公园散步。\n", "The weather is nice today.\n", "1234 5678\n"] * 40
    t = Trainer(order=4, max_vocab_size=400)
    t.train(corpus, progress=False)
    (path,) = t.save(tmp_path / "m.zip")
    tok = Tokenizer(path)
    assert tok.pieces() == t.tokenizer().pieces()
    assert tok.vocab_size <= 400
    assert any(len(p) > 3 for p in tok.pieces())          # it learned multi-byte pieces
    for text in corpus[:3]:
        assert b"".join(tok.tokenize(text)) == text.encode()
        assert tok.decode(tok.encode(text)) == text


def test_several_sizes_save_as_upstream_names_them(tmp_path):
    t = Trainer(order=3, max_vocab_size=[300, 260])
    t.train(["abcabcabd\n"] * 30, progress=False)
    written = t.save(tmp_path / "m.model")
    assert written == [str(tmp_path / "m.model.300"), str(tmp_path / "m.model.260")]
    assert set(t.tokenizers()) == {300, 260}
    assert Tokenizer(written[1]).vocab_size <= 260


def test_corpus_forms_agree(tmp_path):
    lines = ["alpha beta\n", "beta gamma\n", "gamma alpha beta\n"] * 20
    f = tmp_path / "c.txt"
    f.write_text("".join(lines), encoding="utf-8")

    class Corpus:
        def __iter__(self):
            return iter(lines)

    results = []
    for corpus in (lines, tuple(lines), Corpus(), f, str(f), [f]):
        t = Trainer(order=3, max_vocab_size=300)
        t.train(corpus, progress=False)
        results.append(_model.to_json(t.models[300]))
    assert all(r == results[0] for r in results)


def test_one_shot_iterators_are_rejected():
    t = Trainer()
    with pytest.raises(TypeError, match="one-shot iterator"):
        t.train((x for x in ["abc\n"]), progress=False)
    with pytest.raises(TypeError, match="one-shot iterator"):
        t.train(iter(["abc\n"]), progress=False)


@pytest.mark.parametrize("corpus, exc, match", [
    ([], ValueError, "corpus is empty"),
    ([""], ValueError, "corpus is empty"),
    (["ok", 3], TypeError, "corpus item 1 is int"),
    (42, TypeError, "iterable of str"),
    ("/no/such/file.txt", FileNotFoundError, "does not exist"),
])
def test_bad_corpora(corpus, exc, match):
    with pytest.raises(exc, match=match):
        Trainer().train(corpus, progress=False)


def test_invalid_utf8_file_names_the_file(tmp_path):
    f = tmp_path / "bad.txt"
    f.write_bytes(b"fine\n\xff\xfe\n")
    with pytest.raises(ValueError, match="bad.txt.*not valid UTF-8"):
        Trainer().train(f, progress=False)


def test_one_byte_corpus_gives_the_byte_alphabet():
    t = Trainer()
    t.train(["a"], progress=False)
    m = t.models[10000]
    assert m.pieces == [bytes([b]) for b in range(256)]
    assert m.counts.tolist() == [1] * 256          # every byte, 'a' seen once, the rest added


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"order": 0}, ValueError, "order must be at least 1"),
    ({"order": 9}, ValueError, "order must be at most 8"),
    ({"order": 2.5}, TypeError, "order must be an int"),
    ({"min_count": 0}, ValueError, "min_count must be at least 1"),
    ({"max_piece_length": 0}, ValueError, "max_piece_length must be at least 1"),
    ({"max_vocab_size": 258}, ValueError, "max_vocab_size must be at least 259"),
    ({"max_vocab_size": [300, 100]}, ValueError, "at least 259"),
    ({"max_vocab_size": []}, ValueError, "empty"),
    ({"max_vocab_size": [300, 300]}, ValueError, "repeated"),
    ({"isolate_digits": 1}, TypeError, "isolate_digits must be a bool"),
])
def test_bad_parameters(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        Trainer(**kwargs)


def test_bad_training_options():
    with pytest.raises(ValueError, match="workers must be at least 1"):
        Trainer().train(["abc"], workers=0, progress=False)
    with pytest.raises(TypeError, match="executor must be"):
        Trainer().train(["abc"], executor=object(), progress=False)
    with pytest.raises(RuntimeError, match="not been trained"):
        Trainer().tokenizer()


def test_progress_reports_every_phase(capsys):
    t = Trainer(order=3, max_vocab_size=300)
    t.train(["abcabc\n"] * 10, progress=True)
    err = capsys.readouterr().err
    for phase in ("count n-grams", "prune n-grams", "count pieces", "prune pieces"):
        assert f"{phase}: " in err and "peak RSS" in err
    assert set(t.phase_seconds) == {"count n-grams", "prune n-grams", "count pieces", "prune pieces"}


def test_presplit_follows_upstream_chunking():
    assert presplit("a\n\nb\nc") == [b"a\n\n", b"b\n", b"c"]
    assert presplit("\n" * 150) == [b"\n" * 100, b"\n" * 50]
    assert presplit("x" * 10001) == [b"x" * 10000, b"x"]
    assert presplit("ab12c\n", isolate_digits=True) == [b"ab", b"1", b"2", b"c\n"]
    assert presplit("e\u0301") == ["\u00e9".encode()]     # NFC first


def test_bnlm_pickles_and_validates():
    keys = [np.array([97], np.uint64), np.array([], np.uint64)]
    logps = [np.array([-0.5]), np.array([], np.float64)]
    b = Bnlm(2, True, keys, logps)
    c = pickle.loads(pickle.dumps(b))
    counter: dict = {}
    c.count_pieces([b"aa"], counter)
    assert counter == {b"a": 2}
    with pytest.raises(ValueError, match="order must be between 1 and 8"):
        Bnlm(9, True, keys * 5, logps * 5)
    with pytest.raises(ValueError, match="expected 2 n-gram tables"):
        Bnlm(2, True, keys[:1], logps[:1])


def test_saved_model_is_atomic_and_complete(tmp_path):
    t = Trainer(order=3, max_vocab_size=300)
    t.train(["abcabc\n"] * 10, progress=False)
    (p,) = t.save(tmp_path / "m.model")
    assert [x.name for x in Path(tmp_path).iterdir()] == ["m.model"]   # no temporary left
    umask = os.umask(0)
    os.umask(umask)
    assert Path(p).stat().st_mode & 0o777 == 0o666 & ~umask             # not mkstemp's 0600
    assert Tokenizer(p).pieces() == t.tokenizer().pieces()


@settings(max_examples=30, deadline=None)
@given(parts=st.lists(_texts, min_size=1, max_size=3), data=st.data(), order=st.integers(1, 6),
       min_count=st.integers(1, 3), size=st.integers(259, 275))
def test_weighted_parts_match_the_reference(parts, data, order, min_count, size):
    if not "".join(t for p in parts for t in p):
        return
    weights = data.draw(st.lists(st.integers(1, 5), min_size=len(parts), max_size=len(parts)))
    expected = reference_train(parts, order, [size], 36, min_count, False, True, weights)
    t = Trainer(order=order, max_vocab_size=size, min_count=min_count)
    t.train(parts, weights=weights, progress=False)
    m = t.models[size]
    assert dict(zip(m.pieces, m.counts.tolist())) == expected[size]


def test_weights_scale_piece_counts_not_the_ngram_model(small_lines):
    half = len(small_lines) // 2
    parts = [small_lines[:half], small_lines[half:]]
    plain = Trainer(max_vocab_size=3000)
    plain.train(small_lines, progress=False)
    ones = Trainer(max_vocab_size=3000)
    ones.train(parts, weights=[1, 1], progress=False)
    assert ones.models[3000].pieces == plain.models[3000].pieces
    assert ones.models[3000].counts.tolist() == plain.models[3000].counts.tolist()
    # Doubling every weight doubles every count before min_count, so more pieces pass it; a
    # repeated corpus would also have passed its once-seen n-grams into the model.
    doubled = Trainer(max_vocab_size=3000)
    doubled.train(parts, weights=[2, 2], progress=False)
    repeated = Trainer(max_vocab_size=3000)
    repeated.train(small_lines + small_lines, progress=False)
    assert doubled.models[3000].pieces != repeated.models[3000].pieces
    # Weighting the second half moves the vocabulary towards its text.
    heavy = Trainer(max_vocab_size=3000)
    heavy.train(parts, weights=[1, 8], progress=False)
    def tokens(trainer, lines):
        tok = trainer.tokenizer()
        return sum(len(tok.encode(x)) for x in lines)
    assert tokens(heavy, parts[1]) < tokens(plain, parts[1])
    assert tokens(heavy, parts[0]) > tokens(plain, parts[0])


@pytest.mark.parametrize("corpus, weights, exc, match", [
    (["a b"], [1], FileNotFoundError, "corpus file 'a b' does not exist"),  # a str part is a path
    ([["a"], ["b"]], [1], ValueError, "as many parts as there are weights"),
    ("text", [1], ValueError, "as many parts"),
    ([["a"]], [0], ValueError, "weight must be at least 1, not 0"),
    ([["a"]], [1.5], TypeError, "weight must be an int, not float"),
    ([["a"]], [True], TypeError, "weight must be an int, not bool"),
    ([["a"]], 3, TypeError, "weights must be a list of ints, not int"),
])
def test_bad_weights(corpus, weights, exc, match):
    with pytest.raises(exc, match=match):
        Trainer(max_vocab_size=300).train(corpus, weights=weights, progress=False)


def test_command_line_train(tmp_path, capsys):
    from bytepiece_lite.cli import main

    corpus = tmp_path / "c.txt"
    corpus.write_text("alpha beta\nbeta gamma\n" * 30, encoding="utf-8")
    out = tmp_path / "m.model"
    assert main(["train", "--input", str(corpus), "--vocab-size", "300", "260", "--output", str(out),
                 "--order", "3", "--quiet"]) == 0
    assert capsys.readouterr().out.split() == [f"{out}.300", f"{out}.260"]
    t = Trainer(order=3, max_vocab_size=[300, 260])
    t.train(corpus, progress=False)
    assert Path(f"{out}.260").read_bytes() == _model.to_json(t.models[260])
    assert main(["train", "--input", str(tmp_path / "missing.txt"), "--vocab-size", "300",
                 "--output", str(out)]) == 2
    assert "missing.txt" in capsys.readouterr().err
    other = tmp_path / "d.txt"
    other.write_text("delta epsilon\n" * 5, encoding="utf-8")
    assert main(["train", "--input", str(corpus), str(other), "--weights", "1", "6", "--vocab-size",
                 "300", "--output", str(out), "--order", "3", "--quiet"]) == 0
    t = Trainer(order=3, max_vocab_size=300)
    t.train([corpus, other], weights=[1, 6], progress=False)
    assert out.read_bytes() == _model.to_json(t.models[300])
    assert main(["train", "--input", str(corpus), str(other), "--weights", "2", "--vocab-size", "300",
                 "--output", str(out)]) == 2
    assert "--weights gives 1 weights for 2 input files" in capsys.readouterr().err


@settings(max_examples=60, deadline=None)
@given(texts=_texts, order=st.integers(1, 8), min_count=st.integers(1, 3),
       ensure_unicode=st.booleans())
def test_python_kernels_equal_the_compiled_ones(texts, order, min_count, ensure_unicode):
    # The plain-Python twins (installations without the core) count the same pieces and
    # re-segment the same way, ties included.
    from bytepiece_lite import _ngrams, _pyac, _pytrain
    from bytepiece_lite._core import Vocab, split_counts
    chunks = [c for t in texts for c in presplit(t)]
    if not chunks:
        return
    total, tables = _ngrams.count_ngrams(chunks, order)
    keys, logps = _ngrams.prune_ngrams(total, tables, min_count)
    native, python = {}, {}
    Bnlm(order, ensure_unicode, keys, logps).count_pieces(chunks, native)
    _pytrain.Bnlm(order, ensure_unicode, keys, logps).count_pieces(chunks, python)
    assert python == native
    model = _model.from_counts({bytes([b]): 1 for b in range(256)} | native)
    weights = np.arange(1, len(chunks) + 1, dtype=np.int64)
    assert _pytrain.split_counts(_pyac.PyVocab(model.pieces, model.log_probs()), chunks,
                                 weights).tolist() == \
        split_counts(Vocab(model.pieces, model.log_probs()), chunks, weights).tolist()
