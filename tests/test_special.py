"""Special tokens: ids, matching only when allowed, segmentation around them, decoding, saving."""
from __future__ import annotations

import pickle

import numpy as np
import pytest

from bytepiece_lite import Tokenizer

from strategies import vocab_counts

COUNTS = vocab_counts({b"ab": 9, b"<a": 7, b"a>": 7, b"ba": 4, "天气".encode(): 5, b"\n\n": 3},
                      byte_count=2)
SPECIALS = ["<a>", "<a>b", "<|endoftext|>", "天<x>"]


@pytest.fixture(scope="module", params=["native", "pyahocorasick"])
def tok(request):
    return Tokenizer(COUNTS, special_tokens=SPECIALS, backend=request.param)


def test_ids_follow_the_pieces_in_order(tok):
    n = len(COUNTS) + 3
    assert tok.vocab_size == n + len(SPECIALS)
    assert tok.special_tokens == {"<pad>": 0, "<bos>": 1, "<eos>": 2, "<a>": n, "<a>b": n + 1,
                                  "<|endoftext|>": n + 2, "天<x>": n + 3}
    assert tok.id_to_piece(n + 2) == b"<|endoftext|>"


@pytest.mark.parametrize("bad, message", [
    (["ab"], "is a piece"), (["<a>", "<a>"], "given twice"), ([""], "empty"),
    (["<eos>"], "reserved"), (["a\nb"], "newline"), (["\ud800"], "not valid Unicode"),
])
def test_bad_special_tokens_are_refused(bad, message):
    with pytest.raises(ValueError, match=message):
        Tokenizer(COUNTS, special_tokens=bad)
    with pytest.raises(TypeError, match="sequence of str or bytes"):
        Tokenizer(COUNTS, special_tokens="<a>")


TEXTS = ["ab<a>ba", "<a><a>b<a>", "x\n<|endoftext|>\n\ny", "天<x>天气<a>\n", "<a", "no specials",
         "ab<|endoftext|>" * 30 + "ba<a>b" * 30]


def test_not_allowed_is_ordinary_text(tok):
    plain = Tokenizer(COUNTS, backend=tok.backend)
    for text in TEXTS:
        assert tok.encode(text) == plain.encode(text)
        for sampler in ("viterbi", "exact"):
            assert tok.encode(text, 0.3, sampler=sampler, seed=4) == \
                plain.encode(text, 0.3, sampler=sampler, seed=4)
        if "<a>b" not in text:      # allowing a token the text lacks changes nothing
            assert tok.encode(text, allowed_special={"<a>b"}) == plain.encode(text)


def test_allowed_tokens_are_single_ids_and_chunk_boundaries(tok):
    sp = tok.special_tokens
    a, ab, eot = sp["<a>"], sp["<a>b"], sp["<|endoftext|>"]
    assert tok.encode("ab<a>ba", allowed_special={"<a>"}) == tok.encode("ab") + [a] + tok.encode("ba")
    assert tok.encode("ab<a>ba", allowed_special="all") == tok.encode("ab") + [ab] + tok.encode("a")
    # longest at a position, leftmost first, adjacent ones, at chunk edges
    assert tok.encode("<a><a>b<a>", allowed_special="all") == [a, ab, a]
    assert tok.encode("<a><a>b<a>", allowed_special={"<a>"}) == [a, a] + tok.encode("b") + [a]
    assert tok.encode("x\n<|endoftext|>\n\ny", allowed_special="all") == \
        tok.encode("x\n") + [eot] + tok.encode("\n\ny")
    assert tok.tokenize("天<x>天气", allowed_special="all") == ["天<x>".encode(), "天气".encode()]
    # a chunk boundary: "<a" + ">" would merge across it were it ordinary text
    assert tok.encode("ba<a>b", allowed_special={"<a>"}) == tok.encode("ba") + [a] + tok.encode("b")
    with pytest.raises(ValueError, match="not a special token"):
        tok.encode("x", allowed_special={"<b>"})
    with pytest.raises(ValueError, match='"all"'):
        tok.encode("x", allowed_special="everything")


@pytest.mark.parametrize("sampler", ["viterbi", "exact"])
def test_sampling_around_specials_is_reproducible_and_never_crosses_them(tok, sampler):
    text = TEXTS[-1]
    eot = tok.special_tokens["<|endoftext|>"]
    samples = {tuple(tok.encode(text, 0.2, sampler=sampler, seed=s, allowed_special="all"))
               for s in range(20)}
    assert len(samples) > 5
    for s in samples:
        assert s.count(eot) == 30 and tok.decode(list(s)) == text
    one = tok.encode(text, 0.2, sampler=sampler, seed=7, allowed_special="all")
    for threads in (1, 2, 3):
        assert tok.encode(text, 0.2, sampler=sampler, seed=7, allowed_special="all",
                          num_threads=threads) == one
    # both backends draw the same (absolute positions in the whole text)
    other = Tokenizer(COUNTS, special_tokens=SPECIALS,
                      backend="pyahocorasick" if tok.backend == "native" else "native")
    assert other.encode(text, 0.2, sampler=sampler, seed=7, allowed_special="all") == one


def test_every_encoder_takes_allowed_special(tok, tmp_path):
    texts = TEXTS
    rows = [tok.encode(t, 0.3, seed=2, allowed_special="all") for t in texts[:1]]
    batch = tok.encode_batch(texts, 0.3, seed=2, allowed_special="all", num_threads=2)
    assert batch[0] == rows[0]
    assert batch == tok.encode_batch(texts, 0.3, seed=2, allowed_special="all", num_threads=1)
    assert [tok.decode(r) for r in batch] == texts
    ids, offsets = tok.encode_batch_to_numpy(texts, 0.3, seed=2, allowed_special="all",
                                             add_bos=True)
    assert [ids[a:b].tolist() for a, b in zip(offsets[:-1], offsets[1:])] == [[1] + r for r in batch]
    assert [b"".join(r) for r in tok.tokenize_batch(texts, allowed_special="all")] == \
        [t.encode() for t in texts]
    det = [tok.encode(t, allowed_special="all") for t in texts]
    assert [tok.encode_to_numpy(t, allowed_special="all", add_eos=True).tolist() for t in texts] == \
        [r + [2] for r in det]
    text = "".join(texts)
    stream = [i for b in tok.encode_stream([text[:9], text[9:40], text[40:]], 0.3, seed=5,
                                           allowed_special="all") for i in b]
    assert stream == tok.encode(text, 0.3, seed=5, allowed_special="all")
    enc = tok.encode_with_offsets("ab<|endoftext|>é", allowed_special="all")
    k = enc.ids.tolist().index(tok.special_tokens["<|endoftext|>"])
    assert enc.byte_spans[k].tolist() == [2, 15] and enc.char_spans[k].tolist() == [2, 15]
    src = tmp_path / "a.txt"
    src.write_text(text, encoding="utf-8")
    tok.encode_files([src], tmp_path / "ids.npy", allowed_special="all", progress=False)
    assert np.load(tmp_path / "ids.npy").tolist() == tok.encode(text, allowed_special="all")


def test_decode_and_skip(tok):
    ids = tok.encode("ab<a>ba", allowed_special={"<a>"}, add_bos=True, add_eos=True)
    assert tok.decode(ids) == "ab<a>ba"
    assert tok.decode(ids, skip_special_tokens=True) == "abba"
    assert tok.decode_bytes(ids, skip_special_tokens=True) == b"abba"
    dec = tok.decoder(skip_special_tokens=True)
    assert "".join(dec.decode([i]) for i in ids) + dec.flush() == "abba"


def test_pickle_keeps_the_special_tokens(tok):
    again = pickle.loads(pickle.dumps(tok))
    assert again.special_tokens == tok.special_tokens
    assert again.encode(TEXTS[1], allowed_special="all") == tok.encode(TEXTS[1], allowed_special="all")


def test_from_pieces_takes_special_tokens():
    tok = Tokenizer.from_pieces(COUNTS, special_tokens=[b"<bin\xff>"])
    assert tok.special_tokens[b"<bin\xff>"] == len(COUNTS) + 3
    assert tok.encode(b"<bin\xff>", allowed_special="all") == [len(COUNTS) + 3]


def test_reserved_tokens_can_be_allowed(tok):
    assert tok.encode("ab<eos>", allowed_special="all") == tok.encode("ab") + [2]
    assert tok.encode("<bos>ab", allowed_special={"<bos>"}) == [1] + tok.encode("ab")
    assert tok.encode("ab<eos>") == tok.encode("ab") + tok.encode("<eos>")     # ordinary text
    assert tok.tokenize("<pad>", allowed_special="all") == [b"<pad>"]


def test_special_tokens_round_trip_through_the_model_file(tmp_path):
    import base64
    import json

    tok = Tokenizer(COUNTS, special_tokens=SPECIALS)
    for name in ("m.model", "m.zip"):
        tok.save(tmp_path / name)
        again = Tokenizer(tmp_path / name)
        assert again.special_tokens == tok.special_tokens and again.pieces() == tok.pieces()
        assert again.encode(TEXTS[1], allowed_special="all") == tok.encode(TEXTS[1], allowed_special="all")
    # a model without special tokens is saved as before (upstream's format byte for byte)
    Tokenizer(COUNTS).save(tmp_path / "plain.model")
    plain = json.loads((tmp_path / "plain.model").read_text(encoding="utf-8"))
    assert all(v[2] > 0 for v in plain.values())
    # upstream's loader ({b64decode(k): v}, ids v[0], counts v[-1]) reads the pieces with
    # their ids; the special tokens are entries of count 0 after them (log 0 = -inf: never
    # part of a segmentation there)
    entries = {base64.b64decode(k): v for k, v in
               json.loads((tmp_path / "m.model").read_text(encoding="utf-8")).items()}
    assert {p: v[-1] for p, v in entries.items() if v[-1] > 0} == tok.pieces()
    assert {p.decode(): v[0] for p, v in entries.items() if v[-1] == 0} == \
        {t: tok.special_tokens[t] for t in SPECIALS}
    # extra tokens given at load time follow the file's
    more = Tokenizer(tmp_path / "m.model", special_tokens=["<new>"])
    assert more.special_tokens["<new>"] == tok.vocab_size
    with pytest.raises(ValueError, match="given twice"):
        Tokenizer(tmp_path / "m.model", special_tokens=["<a>"])


def test_the_trainer_takes_special_tokens(tmp_path):
    from bytepiece_lite import Trainer
    t = Trainer(order=3, max_vocab_size=300, special_tokens=["<|endoftext|>"])
    t.train(["今天天气不错\n", "天气很好\n"] * 30, progress=False)
    tok = t.tokenizer()
    assert tok.special_tokens["<|endoftext|>"] == tok.vocab_size - 1
    t.save(tmp_path / "m.model")
    assert Tokenizer(tmp_path / "m.model").special_tokens == tok.special_tokens
    with pytest.raises(ValueError, match="empty"):
        Trainer(special_tokens=[""])
