"""The public surface: argument checks, ids, pickling, threads and fork."""
from __future__ import annotations

import multiprocessing
import os
import pickle
import sys
import unicodedata
import threading

import numpy as np
import pytest

from bytepiece_lite import Tokenizer

from strategies import vocab_counts

COUNTS = vocab_counts({b"ab": 50, b"abc": 30, b"bc": 20, "天气".encode(): 9, b" a": 7, b"\n\n": 3}, byte_count=2)
TEXT = "abc 天气 abcab\n\n" * 40


@pytest.fixture(scope="module", params=["native", "pyahocorasick"])
def tok(request):
    return Tokenizer(COUNTS, backend=request.param)


def test_bad_argument_types(tok):
    with pytest.raises(TypeError, match="str or bytes"):
        tok.tokenize(123)
    with pytest.raises(TypeError, match="str or bytes"):
        tok.encode(["abc"])
    with pytest.raises(TypeError, match="alpha"):
        tok.tokenize("abc", "0.1")
    with pytest.raises(TypeError, match="alpha"):
        tok.tokenize("abc", True)
    with pytest.raises(ValueError, match="finite"):
        tok.tokenize("abc", float("nan"))
    with pytest.raises(ValueError, match="finite"):
        tok.tokenize("abc", float("inf"))
    with pytest.raises(ValueError, match="alpha must be at most 1e.200"):
        tok.tokenize("abc", 1e201, sampler="exact")
    assert tok.tokenize("abc", 1e200, sampler="exact") == tok.tokenize("abc")
    with pytest.raises(ValueError, match="sampler"):
        tok.tokenize("abc", 0.1, sampler="beam")
    with pytest.raises(TypeError, match="seed"):
        tok.tokenize("abc", 0.1, seed=1.5)
    with pytest.raises(ValueError, match="seed"):
        tok.tokenize("abc", 0.1, seed=-1)
    with pytest.raises(ValueError, match="seed"):
        tok.tokenize("abc", 0.1, seed=2**64)
    with pytest.raises(TypeError):
        tok.tokenize("abc", None, "viterbi")  # options are keyword-only
    with pytest.raises(ValueError, match="not valid Unicode"):
        tok.tokenize("a\ud800b")
    with pytest.raises(ValueError, match="backend"):
        Tokenizer(COUNTS, backend="rust")
    with pytest.raises(TypeError, match="source"):
        Tokenizer(42)


def test_decode_rejects_bad_ids(tok):
    n = tok.vocab_size
    with pytest.raises(ValueError, match=f"id {n} at position 1 is outside"):
        tok.decode([3, n])
    with pytest.raises(ValueError, match="id -1 at position 0"):
        tok.decode_bytes([-1])
    with pytest.raises(TypeError, match="not an int"):
        tok.decode([3.0])
    with pytest.raises(TypeError, match="iterable of int"):
        tok.decode("abc")
    with pytest.raises(ValueError, match="outside"):
        tok.id_to_piece(n)
    with pytest.raises(TypeError):
        tok.decode(np.zeros((2, 2), dtype=np.int64))


def test_ids_and_pieces(tok):
    ids = tok.encode(TEXT, add_bos=True, add_eos=True)
    assert ids[0] == Tokenizer.BOS_ID and ids[-1] == Tokenizer.EOS_ID
    assert tok.decode(ids) == TEXT
    assert tok.decode(np.array(ids, dtype=np.uint32)) == TEXT
    assert [tok.id_to_piece(i) for i in ids[1:-1]] == tok.tokenize(TEXT)
    assert tok.id_to_piece(0) == b"<pad>"
    assert tok.piece_to_id(b"abc") == tok.encode("abc")[0]
    assert tok.vocab_size == len(COUNTS) + 3
    with pytest.raises(KeyError):
        tok.piece_to_id(b"zzz")
    with pytest.raises(TypeError):
        tok.piece_to_id("abc")
    assert tok.decode(tok.encode(b"\xff\xfeab")) == "\ufffd\ufffdab"
    assert tok.decode(tok.encode(b"\xffab"), errors="ignore") == "ab"


def test_pickle_round_trip(tok):
    again = pickle.loads(pickle.dumps(tok))
    assert again.backend == tok.backend
    assert again.pieces() == tok.pieces()
    assert again.encode(TEXT) == tok.encode(TEXT)
    assert again.encode(TEXT, 0.2, seed=3) == tok.encode(TEXT, 0.2, seed=3)


def test_pickle_is_compact():
    from _shared import shared_path
    path = shared_path("models", "bytepiece_80k.zip")
    tok = Tokenizer(path)
    blob = pickle.dumps(tok)
    # ~12 bytes per piece; upstream's tokenizer pickles to ~10x that
    assert len(blob) < 15 * tok.vocab_size
    assert pickle.loads(blob).encode(TEXT) == tok.encode(TEXT)


def test_eight_threads_match_one(tok):
    texts = [TEXT[i:] + str(i) for i in range(64)]
    expect = [(tok.encode(t), tok.encode(t, 0.3, seed=i)) for i, t in enumerate(texts)]
    results = [None] * 8
    barrier = threading.Barrier(8)

    def work(k):
        barrier.wait()
        results[k] = [(tok.encode(t), tok.encode(t, 0.3, seed=i)) for i, t in enumerate(texts)]

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r == expect for r in results)


def test_threads_sampling_with_many_alphas_match_one(tok):
    # Viterbi Sampling's tables are cached per alpha (cleared past 64): threads filling and
    # clearing the cache at once still get the one-thread samples.
    from bytepiece_lite import _core
    texts = [TEXT[i:] for i in range(0, 40, 4)]
    alphas = [0.05 + 0.01 * j for j in range(80)]
    expect = {a: [tok.encode(t, a, seed=i) for i, t in enumerate(texts)] for a in alphas}
    _core._bucket_tables.clear()
    results = [None] * 4
    barrier = threading.Barrier(4)

    def work(k):
        barrier.wait()
        results[k] = {a: [tok.encode(t, a, seed=i) for i, t in enumerate(texts)]
                      for a in alphas[k::2] + alphas[::-1]}

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r[a] == expect[a] for r in results for a in r)


def _child_sample(conn):
    tok = pickle.loads(conn.recv())
    conn.send(tok.encode(TEXT, 0.5))
    conn.close()


@pytest.mark.skipif(sys.platform == "win32", reason="fork is POSIX-only")
def test_forked_workers_draw_different_streams(tok):
    ctx = multiprocessing.get_context("fork")
    samples = []
    for _ in range(2):
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_child_sample, args=(child,))
        proc.start()
        parent.send(pickle.dumps(tok))
        samples.append(parent.recv())
        proc.join()
        assert proc.exitcode == 0
    assert samples[0] != samples[1]
    assert all(tok.decode(s) == TEXT for s in samples)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_raw_fork_children_differ(tok):
    # The tokenizer was created before the fork (as DataLoader workers inherit it), and the
    # parent has sampled already: its entropy and call counter are inherited too.
    outs = [repr(tok.encode(TEXT, 0.5)).encode()]
    for _ in range(2):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # child
            os.close(r)
            os.write(w, repr(tok.encode(TEXT, 0.5)).encode())
            os._exit(0)
        os.close(w)
        with os.fdopen(r, "rb") as f:
            outs.append(f.read())
        os.waitpid(pid, 0)
    assert len(set(outs)) == 3


def test_docstring_examples():
    import doctest

    import bytepiece_lite
    from bytepiece_lite import corpus, model, normalize, stream, tokenizer, trainer
    for module in (bytepiece_lite, tokenizer, model, normalize, stream, corpus, trainer):
        result = doctest.testmod(module)
        assert result.failed == 0 and result.attempted > 0, module.__name__


@pytest.mark.parametrize("sampler", ["viterbi", "exact"])
def test_batch_equals_per_item_loop_for_every_thread_count(tok, sampler):
    texts = [TEXT[i:i + 200] for i in range(0, 2000, 37)] + ["", "a", b"\xff\xfe"]
    oracle = Tokenizer(COUNTS, backend="pyahocorasick")
    for alpha in (None, 0.3):
        # the per-item loop: each text alone, text k drawing from stream (seed, k); the
        # oracle's batch is that loop in plain Python
        if alpha is None:
            expect = [tok.encode(t) for t in texts]
        else:
            expect = oracle.encode_batch(texts, alpha, sampler=sampler, seed=11, num_threads=1)
            assert expect[0] == tok.encode(texts[0], alpha, sampler=sampler, seed=11)
            assert expect != [tok.encode(t) for t in texts]      # the draws do something
        for k in (1, 2, 3, 8):
            assert tok.encode_batch(texts, alpha, sampler=sampler, seed=11, num_threads=k) == expect
        ids, offsets = tok.encode_batch_to_numpy(texts, alpha, sampler=sampler, seed=11,
                                                 num_threads=2, add_bos=True, add_eos=True)
        assert ids.dtype == np.uint32 and offsets.dtype == np.int64 and len(offsets) == len(texts) + 1
        assert [ids[a:b].tolist() for a, b in zip(offsets[:-1], offsets[1:])] == [[1] + r + [2] for r in expect]
        pieces = tok.tokenize_batch(texts, alpha, sampler=sampler, seed=11, num_threads=2)
        assert [[tok.piece_to_id(p) for p in row] for row in pieces] == expect
        assert tok.encode_to_numpy(texts[0], alpha, sampler=sampler, seed=11).tolist() == expect[0]
        # the earlier names still work
        assert tok.encode_batch_flat(texts, alpha, sampler=sampler, seed=11)[0].tolist() == \
            [i for r in expect for i in r]
        assert tok.encode_array(texts[0], alpha, sampler=sampler, seed=11).tolist() == expect[0]


def test_concurrent_batches_share_the_pools(tok):
    # Six threads run batches at once on the shared 2- and 3-thread pools: a call whose pool
    # task has not started yet does all the blocks itself, so none waits on another's task.
    texts = [TEXT[i:i + 300] for i in range(0, 3000, 23)]
    expect = [tok.encode(t, 0.4, seed=3 + i) for i in range(6) for t in texts[:1]]
    results = [None] * 6
    barrier = threading.Barrier(6)

    def work(k):
        barrier.wait()
        results[k] = [tok.encode_batch(texts, 0.4, seed=3 + k, num_threads=2 + k % 2)
                      for _ in range(5)]

    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    for k in range(6):
        assert all(r == results[k][0] for r in results[k])
        assert results[k][0] == tok.encode_batch(texts, 0.4, seed=3 + k, num_threads=1)
        assert results[k][0][0] == expect[k]


def test_batch_str_texts_of_every_width_match_their_utf8(tok):
    # The core encodes str batch items itself (1-, 2- and 4-byte code points); NFC first.
    class Str(str):
        pass

    texts = ["ascii only", "latin-1: café ÿ", "BMP: 今天天气不错 €", "astral: 😀𝄞 and 今", "e\u0301 needs NFC",
             "", "\x00\x7f\x80\u07ff\u0800\uffff\U00010000\U0010ffff", "Ångström \u212b \uf900",
             "😀 か\u3099", Str("a str subclass: e\u0301")]
    as_bytes = [unicodedata.normalize("NFC", t).encode() for t in texts]
    for alpha in (None, 0.2):
        for threads in (1, 2):
            assert tok.encode_batch(texts, alpha, seed=5, num_threads=threads) == \
                tok.encode_batch(as_bytes, alpha, seed=5, num_threads=threads)
    assert tok.encode_batch(texts) == [tok.encode(t) for t in texts]
    with pytest.raises(ValueError, match="not valid Unicode.*surrogate"):
        tok.encode_batch(["fine", "bad \ud800 text"], num_threads=2)


def test_batch_argument_checks(tok):
    with pytest.raises(TypeError, match="iterable"):
        tok.encode_batch("abc")
    with pytest.raises(TypeError, match="str or bytes"):
        tok.encode_batch(["a", 1])
    with pytest.raises(ValueError, match="num_threads"):
        tok.encode_batch(["a"], num_threads=0)
    assert tok.encode_batch([]) == []
    ids, offsets = tok.encode_batch_flat([])
    assert ids.size == 0 and offsets.tolist() == [0]
