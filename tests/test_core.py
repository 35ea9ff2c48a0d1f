"""The compiled core against references written independently of it."""
from __future__ import annotations

import math
import unicodedata

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bytepiece_lite import Tokenizer, _core
from bytepiece_lite.model import from_counts

from strategies import byte_pieces, texts, vocab_counts


def brute_force_matches(pieces: list[bytes], text: bytes) -> list[tuple[int, int, int]]:
    index = {p: i for i, p in enumerate(pieces)}
    found = [(s, e, index[text[s:e]]) for e in range(1, len(text) + 1)
             for s in range(e) if text[s:e] in index]
    return sorted(found, key=lambda m: (m[1], m[0]))


def brute_force_best(pieces: dict[bytes, int], text: bytes) -> float:
    """Best total log-probability over all segmentations (O(n^2) dynamic programming)."""
    model = from_counts(pieces)
    logp = dict(zip(model.pieces, model.log_probs().tolist()))
    best = [0.0] + [-math.inf] * len(text)
    for e in range(1, len(text) + 1):
        for s in range(e):
            if text[s:e] in logp:
                best[e] = max(best[e], best[s] + logp[text[s:e]])
    return best[-1]


@given(byte_pieces(), texts)
def test_automaton_matches_equal_brute_force(extra, text):
    model = from_counts(vocab_counts(extra))
    vocab = _core.Vocab(model.pieces, model.log_probs())
    assert _core.trie_matches(vocab, text) == brute_force_matches(model.pieces, text)
    assert _core.walk_floor(vocab, text) == len(brute_force_matches(model.pieces, text))
    # stepping only: a step succeeds for every (start, end) whose text is a trie node, i.e.
    # a prefix of some piece
    prefixes = {p[:k] for p in model.pieces for k in range(1, len(p) + 1)}
    steps = sum(text[s:e] in prefixes for e in range(1, len(text) + 1) for s in range(e))
    assert _core.walk_floor(vocab, text, visit=False) == steps


# Viterbi Sampling's fast test is rescaled by 1/alpha: tiny alphas overflow the bucket edges
# (clamped), 1e9 makes every test take the full formula (the rescaled one would be inexact).
ALPHAS = [1e-300, 1e-6, 0.1, 0.7, 3.0, 1e9]


@given(byte_pieces(), texts, st.sampled_from(ALPHAS))
def test_native_equals_pyahocorasick(extra, text, alpha):
    counts = vocab_counts(extra)
    native, oracle = Tokenizer(counts), Tokenizer(counts, backend="pyahocorasick")
    assert native.encode(text) == oracle.encode(text)
    for sampler in ("viterbi", "exact"):
        for seed in (0, 1, 2**64 - 1):
            assert native.encode(text, alpha, sampler=sampler, seed=seed) == \
                oracle.encode(text, alpha, sampler=sampler, seed=seed)


@given(byte_pieces(), texts.filter(lambda t: b"\n" not in t))
def test_deterministic_is_optimal(extra, text):
    tok = Tokenizer(vocab_counts(extra))
    model = from_counts(vocab_counts(extra))
    logp = dict(zip(model.pieces, model.log_probs().tolist()))
    total = sum(logp[p] for p in tok.tokenize(text))
    assert total == pytest.approx(brute_force_best(vocab_counts(extra), text), abs=1e-9)


@given(st.binary(max_size=300))
def test_tokenize_round_trips_arbitrary_bytes(data):
    tok = Tokenizer(vocab_counts({b"ab": 3, b"\xff\xfe": 2, b"\n\n": 4}))
    pieces = tok.tokenize(data)
    assert b"".join(pieces) == data
    assert tok.decode_bytes(tok.encode(data)) == data


@given(st.text(max_size=80))
def test_decode_encode_is_nfc(text):
    tok = Tokenizer(vocab_counts({"é".encode(): 5, b"e": 9, b"\n\n": 2}))
    assert tok.decode(tok.encode(text)) == unicodedata.normalize("NFC", text)


def _tie_counts() -> dict[bytes, int]:
    # "a"+"bc" and "ab"+"c" have equal pieces' log-probabilities (a, c: 10; ab, bc: 5), so
    # their scores are the same two floats added in either order: an exact tie in float64.
    counts = {bytes([b]): 1 for b in range(256)}
    counts.update({b"a": 10, b"c": 10, b"ab": 5, b"bc": 5})
    return counts


@pytest.mark.parametrize("backend", ["native", "pyahocorasick"])
def test_an_exact_tie_keeps_the_candidate_visited_first(backend):
    model = from_counts(_tie_counts())
    lp = dict(zip(model.pieces, model.log_probs().tolist()))
    assert lp[b"a"] + lp[b"bc"] == lp[b"ab"] + lp[b"c"]              # the tie is real
    assert lp[b"ab"] > lp[b"a"] + lp[b"b"]                            # and both beat a+b+c
    # At the end of "abc", "bc" (the longer piece, whose walk started earlier) is visited
    # before "c"; strict ">" keeps it, as upstream does.
    tok = Tokenizer(_tie_counts(), backend=backend)
    assert tok.tokenize(b"abc") == [b"a", b"bc"]
    assert tok.tokenize(b"abc\nabc") == [b"a", b"bc", b"\n", b"a", b"bc"]   # each chunk from 0


@pytest.mark.parametrize("backend", ["native", "pyahocorasick"])
def test_known_segmentations(backend):
    counts = {bytes([b]): 1 for b in range(256)}
    counts.update({b"the": 40, b" cat": 30, b"ca": 20, b"at": 20, b" ": 50, b"th": 5, b"he": 5,
                   "天气".encode(): 25, "天".encode(): 2})
    tok = Tokenizer(counts, backend=backend)
    assert tok.tokenize("the cat") == [b"the", b" cat"]
    assert tok.tokenize("thecat") == [b"the", b"ca", b"t"]
    assert tok.tokenize("天气天") == ["天气".encode(), "天".encode()]
    assert tok.tokenize(b"\n\nthe\n") == [b"\n", b"\n", b"the", b"\n"]
    assert tok.encode("the") == [tok.piece_to_id(b"the")]


def test_chunks_are_cut_after_newline_runs():
    counts = vocab_counts({b"a\nb": 1000, b"\n\n": 5, b"a\n": 3})
    tok = Tokenizer(counts)
    # "a\nb" never matches across the cut after "\n".
    assert tok.tokenize(b"a\nb") == [b"a\n", b"b"]
    assert tok.tokenize(b"a\n\n\nb") == [b"a\n", b"\n\n", b"b"]


def test_long_single_line_round_trips_and_matches_short_lines():
    tok = Tokenizer(vocab_counts({b"ab": 5, b"ba": 4, b"abab": 3, b" a": 2}))
    rng = np.random.default_rng(0)
    line = bytes(rng.choice(list(b"ab "), size=1_000_000))
    pieces = tok.tokenize(line)
    assert b"".join(pieces) == line
    # The same bytes cut into lines: every chunk segments on its own.
    lines = line.replace(b" ", b"\n")
    assert b"".join(tok.tokenize(lines)) == lines


def test_vocab_rejects_bad_tables():
    ok = [bytes([b]) for b in range(256)]
    lp = np.full(256, -6.0)
    with pytest.raises(ValueError, match="duplicate piece"):
        _core.Vocab(ok + [b"a"], np.full(257, -6.0))
    with pytest.raises(ValueError, match="lacks the single bytes 0x00"):
        _core.Vocab(ok[1:], lp[1:])
    with pytest.raises(ValueError, match="empty"):
        _core.Vocab(ok + [b""], np.full(257, -6.0))
    for bad in (np.nan, -np.inf, 0.5):
        with pytest.raises(ValueError, match="log-probability"):
            _core.Vocab(ok, np.full(256, bad))
    with pytest.raises(ValueError, match="256 pieces but 3"):
        _core.Vocab(ok, np.zeros(3))
    with pytest.raises(TypeError):
        _core.Vocab(ok[:-1] + ["x"], lp)


def test_native_stream_equals_python_stream():
    from bytepiece_lite import _rng
    for seed, index in [(0, 0), (7, 3), (2**64 - 1, 10**9)]:
        assert _core.stream_key(seed, index) == _rng.stream_key(seed, index)
        key = _rng.stream_key(seed, index)
        for end, length in [(1, 1), (10**6, 36), (2**40, 65535)]:
            assert _core.draw_bits(key, end, length) == _rng.draw(key, end, length)


def _quick_nfc(text: str) -> bool:
    """Whether the core's quick check clears the whole of `text`."""
    return _core.nfc_unstable_at(text) == len(text)


def test_nfc_quick_check_only_passes_text_that_is_nfc():
    # Every code point the core's quick check passes must be assigned, of combining class 0,
    # its own NFC, and never the second half of a canonical composition (nor a Hangul
    # vowel or trailing jamo): then any string of such code points is NFC.
    seconds = set()
    for x in range(0x110000):
        parts = unicodedata.decomposition(chr(x)).split()
        if len(parts) == 2 and not parts[0].startswith("<"):
            seconds.add(int(parts[1], 16))
    passed = 0
    for c in range(0x30000):
        ch = chr(c)
        if not _quick_nfc(ch):
            continue
        passed += 1
        assert unicodedata.category(ch) != "Cn", hex(c)
        assert unicodedata.combining(ch) == 0, hex(c)
        assert unicodedata.normalize("NFC", ch) == ch, hex(c)
        assert c not in seconds and not (0x1161 <= c <= 0x1175 or 0x11A8 <= c <= 0x11C2), hex(c)
    assert passed > 80_000
    assert not _quick_nfc("\U00030000") and not _quick_nfc("\U0010ffff")
    for text in ("plain", "café", "Привет", "今天天气不错，好！", "한국어", "カタカナ", "😀🤖", "𠀀"):
        assert _quick_nfc(text), text
    for text in ("e\u0301", "\u212b", "\uf900", "か\u3099", "\U0001f600\u0301", "\ud800"):
        assert not _quick_nfc(text), text


# Lines mixing what the quick check clears, NFC text it does not know (Devanagari, Thai,
# compatibility characters), and what NFC changes (combining marks, singletons, jamo).
_nfc_parts = st.sampled_from(list("ab é\nПр今한") + [
    "e\u0301", "\u212a", "\u0915\u093f", "\u0e01", "\u2080", "\u1100\u1161", "\u0301",
    "\uf900", "\n\n"])


@given(parts=st.lists(_nfc_parts, max_size=200), block=st.sampled_from([1, 3, 8, 4096]))
def test_nfc_blockwise_equals_whole_text_nfc(parts, block):
    from bytepiece_lite import normalize
    text = "".join(parts)
    old = normalize._BLOCK
    normalize._BLOCK = block
    try:
        assert normalize.nfc(text) == unicodedata.normalize("NFC", text)
    finally:
        normalize._BLOCK = old


def test_nfc_unstable_at_finds_a_mark_after_a_long_run_of_latin():
    # A run of the first range is cleared by its code units' OR, the first 64 of them looked
    # at first: a mark anywhere after them must still be found.
    for pad in (0, 63, 64, 65, 1000, 1023, 1024, 3000):
        for tail in ("e\u0301", "\u212a", "\uf900"):
            text = "a" * pad + tail + "\u4eca"         # the tail's last code point fails
            assert _core.nfc_unstable_at(text) == pad + len(tail) - 1
    assert _core.nfc_unstable_at("a" * 5000 + "\u0430") == 5001       # all stable


@given(text=st.text(max_size=40), start=st.integers(0, 40))
def test_nfc_unstable_at_is_the_first_character_the_quick_check_rejects(text, start):
    start = min(start, len(text))
    # Against the check of each character alone (checked against unicodedata above).
    expected = next((i for i in range(start, len(text)) if not _quick_nfc(text[i])),
                    len(text))
    assert _core.nfc_unstable_at(text, start) == expected
    long = "a" * 3000 + "\u0439" * 3000 + text     # past the first runs of 1024
    assert _core.nfc_unstable_at(long, 6000 + start) == 6000 + expected
    with pytest.raises(IndexError):
        _core.nfc_unstable_at(text, len(text) + 1)


@given(texts=st.lists(st.text(max_size=40), min_size=1, max_size=5), data=st.data())
def test_utf8_join_is_the_utf8_of_the_joined_slices(texts, data):
    spans = []
    for t in texts:
        a = data.draw(st.integers(0, len(t)))
        b = data.draw(st.integers(a, len(t)))
        spans.append((t, a, b))
    joined = "".join(t[a:b] for t, a, b in spans)
    try:
        expected = joined.encode("utf-8")
    except UnicodeEncodeError:
        expected = None                 # a lone surrogate
    assert _core.utf8_join(spans) == expected
    long = "x" * 37 + "".join(texts) + "y" * 21    # past the 8-at-a-time ASCII runs
    try:
        assert _core.utf8_join([(long, 0, len(long))]) == long.encode("utf-8")
    except UnicodeEncodeError:
        assert _core.utf8_join([(long, 0, len(long))]) is None
    with pytest.raises(IndexError):
        _core.utf8_join([(texts[0], 0, len(texts[0]) + 1)])


@given(st.one_of(st.floats(min_value=-760.0, max_value=0.0),
                 st.sampled_from([0.0, -0.0, -700.0, -699.9999999999999, -700.0000000000001,
                                  -math.inf, math.nan, -5e-324, -1e-300, -math.log(2) / 512])))
def test_exact_samplers_exp_is_the_same_function_in_both_backends(x):
    from bytepiece_lite import _fastexp
    native, python = _core.exact_exp(x), _fastexp.exp_neg(x)
    assert native.hex() == python.hex()
    if x > -700.0:
        assert native == pytest.approx(math.exp(x), rel=8e-16)
    else:
        assert native == 0.0


def test_exp_table_is_correctly_rounded():
    from decimal import Decimal, localcontext
    from bytepiece_lite import _fastexp
    with localcontext() as ctx:
        ctx.prec = 40
        assert _fastexp.EXP2_256 == tuple(float(Decimal(2) ** (Decimal(j) / 256)) for j in range(256))


@pytest.mark.parametrize("backend", ["native", "pyahocorasick"])
def test_encode_parts_is_the_whole_text_and_checks_its_cuts(backend):
    from strategies import small_vocab_tokenizer

    from bytepiece_lite import _backend

    vocab = small_vocab_tokenizer(backend)._seg.vocab
    for text in (b"ab\nba ab\n\nabba", "ab\nba 今天\n\nab"):
        data = text if type(text) is bytes else text.encode()
        for cuts in ([0, len(text)], [0, 3, 10, len(text)], [0, 3, 3, len(text)]):
            for mode, alpha in ((0, 0.0), (1, 0.3), (2, 0.3)):
                # parts of a str are cut in code points and start at their UTF-8 offsets
                assert vocab.encode_parts(text, np.array(cuts), mode=mode, alpha=alpha, seed=5,
                                          num_threads=2) == \
                    vocab.encode(data, mode, alpha, _backend.stream_key(5, 0))
    for cuts, message in (([0], "from 0"), ([1, 4], "from 0"), ([0, 3], "from 0"),
                          ([0, 3, 2, 4], "decrease")):
        with pytest.raises(ValueError, match=message):
            vocab.encode_parts(b"abcd", np.array(cuts), mode=0, alpha=0.0, seed=0)
    with pytest.raises(TypeError, match="bytearray"):
        vocab.encode_parts(bytearray(b"ab"), np.array([0, 2]), mode=0, alpha=0.0, seed=0)


@pytest.mark.parametrize("threads", [1, 2])
def test_what_prepare_raises_in_a_thread_reaches_the_caller(threads):
    # A long str the quick check cannot clear is prepared by the thread that takes it; what
    # prepare raises there (or a wrong type it returns) is raised by the call.
    vocab = Tokenizer(vocab_counts({}), backend="native")._seg.vocab
    texts = ["ab"] * 8 + ["cafe\u0301 " + "ab" * 4000] + ["ab"] * 8

    def fails(text):
        raise KeyError(text)

    with pytest.raises(KeyError, match="cafe"):
        vocab.encode_batch(texts, mode=0, alpha=0.0, seed=0, num_threads=threads,
                           prepare=fails)
    with pytest.raises(TypeError, match="int, not bytes or str"):
        vocab.encode_batch(texts, mode=0, alpha=0.0, seed=0, num_threads=threads,
                           prepare=len)
    assert vocab.encode_batch(texts, mode=0, alpha=0.0, seed=0, num_threads=threads,
                              prepare=lambda t: unicodedata.normalize("NFC", t).encode())[0].size \
        == sum(len(unicodedata.normalize("NFC", t).encode()) for t in texts)
