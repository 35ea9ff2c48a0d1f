"""Hugging Face: the tokenizer.json export (_hf_export, Tokenizer.save_pretrained) and the
transformers tokenizer bytepiece_lite.hf.BytePieceTokenizer.

The export must give our ids exactly: on every golden line of both upstream models, on corpus
text with newline runs, NFC-changing text, emoji and CJK, and after tokenizers' and
transformers' own save and reload.  BPL_HF_MODELS="/path/*.zip" adds more upstream models.
"""
from __future__ import annotations

import glob
import json
import math
import os
import pickle
import random
import subprocess
import sys
import unicodedata

import numpy as np
import pytest

tokenizers = pytest.importorskip("tokenizers", reason="the hf extra (tokenizers) is not installed")
transformers = pytest.importorskip("transformers", reason="the hf extra (transformers) is not installed")

from _shared import shared_path  # noqa: E402

from bytepiece_lite import Tokenizer  # noqa: E402
from bytepiece_lite import _hf_export  # noqa: E402
WRAPPER_MISSING = ""
try:
    from bytepiece_lite.hf import BytePieceTokenizer
except ImportError as exc:  # transformers 4.x: the export is tested, the wrapper is not
    BytePieceTokenizer = None
    WRAPPER_MISSING = str(exc)
needs_wrapper = pytest.mark.skipif(BytePieceTokenizer is None,
                                   reason=f"bytepiece_lite.hf is unavailable: {WRAPPER_MISSING}")

HT = tokenizers.Tokenizer
MODELS = ["bytepiece_80k", "bytepiece.plus.40k"]
SMALL = {bytes([b]): 1 + b % 7 for b in range(256)} | {b"ab": 50, b"abc": 30, b"bc": 20, b"<e": 9,
                                                    "天气".encode(): 9, b"\n\n": 3, b" a": 7}
HAS_SPECIAL_API = hasattr(Tokenizer(SMALL), "special_tokens")
needs_special_api = pytest.mark.skipif(not HAS_SPECIAL_API,
                                       reason="Tokenizer has no special_tokens API in this version")

PROBES = [
    "", "a", "\n", "\n\n\n", "a\n\nb", "\n\na", "a\n\n\n", "\r\n\r\n", "x\n\ny\nz\n\n\n",
    "e\u0301 cafe\u0301 \u1100\u1161\u11a8 a\u0323\u0307 \u0344 \u212b \uff21 \u2126 \u0301start",
    "😀🚀 emoji 👩\u200d👩\u200d👧 🇨🇳", "今天天气不错\n\n\n明天会更好\n", "\x00\x01\x7f\u0085\u2028\t\t",
    "<pad><bos><eos> <eos>x", "12345678901234567890 " * 5,
]


def _probe_texts() -> list[str]:
    texts = list(PROBES)
    rng = random.Random(7)
    for name in ("en_pydocs_a.txt", "zh_fortunes.txt", "zh_debref.txt"):
        lines = shared_path("corpora", name).read_text(encoding="utf-8").splitlines(keepends=True)
        texts += lines[:300]
        texts += ["".join(lines[i:i + 6]) for i in range(1000, 1600, 6)]
        texts += ["\n" * rng.randint(0, 3) + "".join(rng.sample(lines, 3)).replace("\n", "\n" * rng.randint(1, 4))
                  for _ in range(40)]
    pools = [(32, 0x2FF), (0x300, 0x36F), (0x4E00, 0x9FFF), (0x1F300, 0x1F64F), (0xAC00, 0xD7A3), (10, 10)]
    for _ in range(200):
        texts.append("".join(chr(rng.randint(*rng.choice(pools))) for _ in range(rng.randint(1, 40))))
    return texts


def _model_path(name: str) -> str:
    return str(shared_path("models", name + ".zip"))


def _golden(name: str) -> list[dict]:
    with open(shared_path("golden", name + ".dev.jsonl"), encoding="utf-8") as f:
        return [json.loads(line) for line in f]


@pytest.fixture(scope="module", params=MODELS)
def exported(request, tmp_path_factory):
    """(name, our tokenizer, export directory)"""
    tok = Tokenizer(_model_path(request.param))
    d = tmp_path_factory.mktemp(request.param.replace(".", "_"))
    paths = tok.save_pretrained(d)
    assert sorted(os.path.basename(p) for p in paths) == [
        "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json"]
    return request.param, tok, str(d)


def _ids(hf: HT, texts: list[str]) -> list[list[int]]:
    """Plain tokenizers' ids, special-token text encoded as text (our default: see
    test_special_token_text)."""
    hf.encode_special_tokens = True
    return [e.ids for e in hf.encode_batch(texts, add_special_tokens=False)]


def _count_diffs(a, b) -> int:
    assert len(a) == len(b)
    return sum(x != y for x, y in zip(a, b))


# ------------------------------------------------------------------------------ the export
def test_byte_table_is_bytelevels():
    table = _hf_export.bytes_to_unicode()
    assert sorted(table) == list(range(256)) and len(set(table.values())) == 256
    assert set(table.values()) == set(tokenizers.pre_tokenizers.ByteLevel.alphabet())
    assert _hf_export.piece_to_token("é\n".encode()) == "Ã©Ċ"


def test_pre_tokenizer_cuts_after_newline_runs(exported):
    _, _, d = exported
    pre = HT.from_file(os.path.join(d, "tokenizer.json")).pre_tokenizer
    m = _hf_export.piece_to_token
    cases = {"a\n\nb": ["a\n\n", "b"], "\n\na": ["\n\n", "a"], "a\n": ["a\n"], "ab\n\n\ncd\ne": ["ab\n\n\n", "cd\n", "e"]}
    for text, chunks in cases.items():
        assert [s for s, _ in pre.pre_tokenize_str(text)] == [m(c.encode()) for c in chunks]


def test_golden_ids_tokenizers_and_transformers(exported):
    name, tok, d = exported
    rows = _golden(name)
    texts = [r["text"] for r in rows]
    gold = [r["ids"] for r in rows]
    assert len(rows) == 4636
    assert _count_diffs([tok.encode(t) for t in texts], gold) == 0
    assert _count_diffs(_ids(HT.from_file(os.path.join(d, "tokenizer.json")), texts), gold) == 0
    auto = transformers.AutoTokenizer.from_pretrained(d)
    assert _count_diffs(auto(texts)["input_ids"], gold) == 0
    assert _count_diffs(auto(texts, add_special_tokens=True)["input_ids"], gold) == 0


def test_scores_are_read_exactly_and_survive_resave(exported, tmp_path):
    """Every Unigram score as tokenizers holds it is exactly log p * 2**k, after loading our
    file and after tokenizers' own save and reload (serde_json's reader is not correctly
    rounded: without the scaling some scores come back 1 ulp off)."""
    _, tok, d = exported
    logp = _hf_export.log_probs(np.array(list(tok.pieces().values())))
    _, k = _hf_export.scaled_scores(logp)
    want = [math.ldexp(float(v), k) for v in logp]
    hf = HT.from_file(os.path.join(d, "tokenizer.json"))
    held = [s for _, s in json.loads(hf.to_str())["model"]["vocab"][3:3 + len(want)]]
    assert held == want
    hf.save(str(tmp_path / "again.json"))
    held = [s for _, s in json.loads(HT.from_file(str(tmp_path / "again.json")).to_str())["model"]["vocab"][3:3 + len(want)]]
    assert held == want


def test_the_serde_model_predicts_the_resave():
    """_read_like_serde(_ryu(x)) is what tokenizers reads back after writing x: checked on
    scores it gets wrong and right."""
    rng = random.Random(3)
    values = [-math.ldexp(rng.random() * 30 + 0.01, 49 + rng.randint(0, 8)) for _ in range(3000)]
    values = [float(int(v)) for v in values]
    vocab = [[_hf_export.piece_to_token(bytes([b])), -1.0] for b in range(256)]
    vocab += [[f"{'x' * (i // 26 + 2)}{chr(97 + i % 26)}", v] for i, v in enumerate(values)]
    obj = {"version": "1.0", "model": {"type": "Unigram", "unk_id": None, "vocab": vocab, "byte_fallback": False}}
    hf = HT.from_str(json.dumps(obj))
    again = HT.from_str(hf.to_str())
    held = [s for _, s in json.loads(again.to_str())["model"]["vocab"][256:]]
    predicted = [_hf_export._read_like_serde(_hf_export._ryu(v)) for v in values]
    assert held == predicted
    assert held != values          # the problem is real: some do move


def test_hf_unigram_breaks_exact_ties_as_we_do(tmp_path):
    """Exact ties (scores with exact sums): the longer piece ending at a position wins, as in
    our Viterbi, e.g. "abc" with a, b, c = -1, ab, bc = -2: a + bc, not ab + c or a + b + c;
    "ab" alone: ab, not a + b."""
    pieces = [bytes([b]) for b in range(256)] + [b"ab", b"bc"]
    logp = np.array([-1.0 if bytes([b]) in (b"a", b"b", b"c") else -10.0 for b in range(256)] + [-2.0, -2.0])
    _hf_export.write_pretrained(tmp_path, pieces, logp)
    hf = HT.from_file(str(tmp_path / "tokenizer.json"))
    assert hf.encode("abc").tokens == ["a", "bc"]
    assert hf.encode("ab").tokens == ["ab"]
    assert hf.encode("abcab").tokens == ["a", "bc", "ab"]
    # and ours, on counts whose log probabilities tie the same way up to rounding, agrees
    # with the export of its own scores (the golden tests cover real models)
    tok = Tokenizer({p: 2 ** 20 for p in pieces[:256]} | {b"ab": 1, b"bc": 1})
    tok.save_pretrained(tmp_path / "ours")
    hf = HT.from_file(str(tmp_path / "ours" / "tokenizer.json"))
    for text in ("abc", "abcab", "aabbcc", "bcabca"):
        assert _ids(hf, [text])[0] == tok.encode(text)


def test_resave_by_tokenizers_and_transformers(exported, tmp_path):
    name, tok, d = exported
    texts = [r["text"] for r in _golden(name)] + _probe_texts()
    ours = tok.encode_batch(texts)
    hf = HT.from_file(os.path.join(d, "tokenizer.json"))
    hf.save(str(tmp_path / "t.json"))
    assert _count_diffs(_ids(HT.from_file(str(tmp_path / "t.json")), texts), ours) == 0
    auto = transformers.AutoTokenizer.from_pretrained(d)
    auto.save_pretrained(str(tmp_path / "d2"))
    auto2 = transformers.AutoTokenizer.from_pretrained(str(tmp_path / "d2"))
    assert _count_diffs(auto2(texts)["input_ids"], ours) == 0
    assert auto2.split_special_tokens is True


def test_probe_texts_and_decode(exported):
    _, tok, d = exported
    texts = _probe_texts()
    ours = tok.encode_batch(texts)
    hf = HT.from_file(os.path.join(d, "tokenizer.json"))
    assert _count_diffs(_ids(hf, texts), ours) == 0
    assert [hf.decode(ids) for ids in ours] == [tok.decode(ids) for ids in ours]
    assert all(hf.decode(ids) == unicodedata.normalize("NFC", t) for ids, t in zip(ours, texts))
    # a piece cut inside a character decodes with U+FFFD, as ours
    ids = tok.encode("天")[:1]
    assert hf.decode(ids) == tok.decode(ids)


@pytest.mark.skipif(not os.environ.get("BPL_HF_MODELS"), reason="set BPL_HF_MODELS to a glob of more upstream models")
def test_more_upstream_models(tmp_path):
    paths = [p for p in sorted(glob.glob(os.environ["BPL_HF_MODELS"])) if os.path.getsize(p) > 0]
    assert paths
    texts = _probe_texts()
    for path in paths:
        tok = Tokenizer(path)
        d = tmp_path / os.path.basename(path)
        tok.save_pretrained(d)
        hf = HT.from_file(str(d / "tokenizer.json"))
        assert _count_diffs(_ids(hf, texts), tok.encode_batch(texts)) == 0, path


def test_special_token_text(exported):
    """transformers (split_special_tokens=True in the config) encodes special-token text as
    text, like our default; plain tokenizers matches added tokens unless
    encode_special_tokens=True, and add_special_tokens=False does not change that."""
    _, tok, d = exported
    text = "a<eos>b <pad><bos>\n<eos>"
    ours = tok.encode(text)
    assert 0 not in ours and 1 not in ours and 2 not in ours
    auto = transformers.AutoTokenizer.from_pretrained(d)
    assert auto(text)["input_ids"] == ours
    assert auto(text, split_special_tokens=False)["input_ids"][1] == 2
    hf = HT.from_file(os.path.join(d, "tokenizer.json"))
    assert hf.encode(text, add_special_tokens=False).ids[1] == 2
    assert hf.encode(text).ids[1] == 2
    hf.encode_special_tokens = True
    assert hf.encode(text).ids == ours
    # tokenizers' decode skips special tokens by default (as ours); transformers' does not
    assert hf.decode([1, 100, 2]) == tok.decode([1, 100, 2]) == tok.decode([100])
    assert hf.decode([1, 100, 2], skip_special_tokens=False) == "<bos>" + tok.decode([100]) + "<eos>"
    assert auto.decode([1, 100, 2]) == "<bos>" + tok.decode([100]) + "<eos>"
    assert auto.decode([1, 100, 2], skip_special_tokens=True) == tok.decode([100])
    assert auto(["a", "abc abc"], padding=True)["input_ids"][0][-1] == 0 == auto.pad_token_id


def test_writer_with_extra_special_tokens(tmp_path):
    """The writer takes special tokens as a plain dict (ids after the pieces)."""
    tok = Tokenizer(SMALL)
    n = tok.vocab_size
    pieces = list(tok.pieces())
    counts = np.array(list(tok.pieces().values()))
    specials = {"<|im_start|>": n, "<|im_end|>": n + 1, "<e>": n + 2}
    _hf_export.write_pretrained(tmp_path, pieces, counts, specials)
    hf = HT.from_file(str(tmp_path / "tokenizer.json"))
    assert hf.get_vocab_size() == n + 3
    assert [hf.token_to_id(t) for t in specials] == [n, n + 1, n + 2]
    text = "<|im_start|>ab<e>c<|im_end|>"
    assert hf.encode(text).ids == [n] + tok.encode("ab") + [n + 2] + tok.encode("c") + [n + 1]
    hf.encode_special_tokens = True
    assert hf.encode(text).ids == tok.encode(text)
    auto = transformers.AutoTokenizer.from_pretrained(str(tmp_path))
    assert auto(text)["input_ids"] == tok.encode(text)
    assert auto(text, split_special_tokens=False)["input_ids"][0] == n
    assert auto.decode(auto(text, split_special_tokens=False)["input_ids"]) == text
    cfg = json.loads((tmp_path / "tokenizer_config.json").read_text())
    assert cfg["split_special_tokens"] is True and cfg["tokenizer_class"] == "PreTrainedTokenizerFast"
    with pytest.raises(ValueError, match="ids"):
        _hf_export.write_pretrained(tmp_path, pieces, counts, {"<x>": n + 1})
    with pytest.raises(ValueError, match="also pieces"):
        _hf_export.write_pretrained(tmp_path, pieces, counts, {"ab": n})


@needs_special_api
def test_special_token_api_export(tmp_path):
    specials = ["<|im_start|>", "<|im_end|>"]
    tok = Tokenizer(_model_path(MODELS[1]), special_tokens=specials)
    tok.save_pretrained(tmp_path)
    text = "<|im_start|>user\n今天天气不错<|im_end|>\n<eos>"
    auto = transformers.AutoTokenizer.from_pretrained(str(tmp_path))
    assert auto(text)["input_ids"] == tok.encode(text)
    assert auto(text, split_special_tokens=False)["input_ids"] == tok.encode(text, allowed_special="all")
    for t in specials:
        assert auto.convert_tokens_to_ids(t) == tok.special_tokens[t]


def test_core_does_not_import_hf(tmp_path):
    code = ("import sys; from bytepiece_lite import Tokenizer; "
            f"Tokenizer({{bytes([b]): 1 for b in range(256)}}).save_pretrained({str(tmp_path)!r}); "
            "assert 'transformers' not in sys.modules and 'tokenizers' not in sys.modules, 'imported'")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    assert (tmp_path / "tokenizer.json").exists()


# ------------------------------------------------------------------------------ BytePieceTokenizer
@pytest.fixture(scope="module")
def core():
    return Tokenizer(_model_path(MODELS[1]))


@needs_wrapper
@pytest.mark.parametrize("name", MODELS)
def test_wrapper_golden(name):
    rows = _golden(name)
    tok = BytePieceTokenizer(_model_path(name))
    texts = [r["text"] for r in rows]
    gold = [r["ids"] for r in rows]
    assert _count_diffs(tok(texts)["input_ids"], gold) == 0
    assert _count_diffs([tok.encode(t) for t in texts[:300]], gold[:300]) == 0
    assert all(m == [1] * len(i) for m, i in zip(tok(texts)["attention_mask"], gold))


@needs_wrapper
def test_wrapper_never_uses_token_strings(core, monkeypatch):
    tok = BytePieceTokenizer.from_tokenizer(core)

    def fail(*a, **k):
        raise AssertionError("per-token path used")

    for name in ("_tokenize", "_convert_token_to_id", "_convert_id_to_token", "tokenize"):
        monkeypatch.setattr(tok, name, fail)
    texts = _probe_texts()[:200]
    assert tok(texts)["input_ids"] == core.encode_batch(texts)
    assert tok(texts, padding=True, truncation=True, max_length=9, return_tensors="np")["input_ids"].shape[1] <= 9
    tok.encode("abc", alpha=0.1)


@needs_wrapper
def test_wrapper_sampling(core):
    texts = _probe_texts()[:300]
    tok = BytePieceTokenizer.from_tokenizer(core)
    det = core.encode_batch(texts)
    for sampler in ("viterbi", "exact"):
        got = tok(texts, alpha=0.1, sampler=sampler, seed=11)["input_ids"]
        assert got == core.encode_batch(texts, 0.1, sampler=sampler, seed=11)
        assert got != det
        assert tok.encode(texts[20], alpha=0.1, sampler=sampler, seed=5) == core.encode(texts[20], 0.1, sampler=sampler, seed=5)
        assert [core.decode(r) for r in got] == [core.decode(r) for r in det]
    # on the tokenizer: unseeded calls differ, a tokenizer seed makes the sequence reproducible
    t1 = BytePieceTokenizer.from_tokenizer(core, alpha=0.1)
    assert t1(texts)["input_ids"] != t1(texts)["input_ids"]
    a = BytePieceTokenizer.from_tokenizer(core, alpha=0.1, sampler="exact", seed=3)
    b = BytePieceTokenizer.from_tokenizer(core, alpha=0.1, sampler="exact", seed=3)
    first, second = a(texts)["input_ids"], a(texts)["input_ids"]
    assert first != second and [first, second] == [b(texts)["input_ids"], b(texts)["input_ids"]]
    assert a(texts, alpha=None)["input_ids"] == det
    assert tok.tokenize(texts[25], alpha=0.1, seed=2) == [_hf_export.piece_to_token(p)
                                                        for p in core.tokenize(texts[25], 0.1, seed=2)]
    with pytest.raises(ValueError, match="sampler"):
        BytePieceTokenizer.from_tokenizer(core, alpha=0.1, sampler="beam")
    assert tok(texts, num_threads=1, alpha=0.2, seed=4)["input_ids"] == tok(texts, num_threads=2, alpha=0.2, seed=4)["input_ids"]


@needs_wrapper
def test_wrapper_padding_truncation_tensors(core):
    tok = BytePieceTokenizer.from_tokenizer(core, add_bos=True, add_eos=True)
    texts = ["今天天气不错", "a", "", "hello world, this is a longer line of text\n"]
    rows = core.encode_batch(texts, add_bos=True, add_eos=True)
    out = tok(texts, padding=True)
    width = max(map(len, rows))
    assert out["input_ids"] == [r + [0] * (width - len(r)) for r in rows]
    assert out["attention_mask"] == [[1] * len(r) + [0] * (width - len(r)) for r in rows]
    left = tok(texts, padding="longest", padding_side="left", return_tensors="np")
    assert left["input_ids"].tolist() == [[0] * (width - len(r)) + r for r in rows]
    assert left["attention_mask"].tolist() == [[0] * (width - len(r)) + [1] * len(r) for r in rows]
    assert left["input_ids"].dtype == np.int64
    arr = tok(texts, padding="max_length", max_length=20, return_tensors="np")
    assert arr["input_ids"].shape == (4, 20) and arr["input_ids"].tolist() == [r + [0] * (20 - len(r)) for r in rows]
    trunc = tok(texts, truncation=True, max_length=4)["input_ids"]
    assert trunc == [r if len(r) <= 4 else r[:3] + [2] for r in rows]
    assert all(r[0] == 1 and r[-1] == 2 for r in trunc)
    tok.truncation_side = "left"
    assert tok(texts, truncation=True, max_length=4)["input_ids"] == [r if len(r) <= 4 else [1] + r[-3:] for r in rows]
    tok.truncation_side = "right"
    mult = tok(texts, padding=True, pad_to_multiple_of=8, return_tensors="np")["input_ids"]
    assert mult.shape[1] % 8 == 0
    assert tok(texts, add_special_tokens=False)["input_ids"] == core.encode_batch(texts)
    single = tok("今天天气不错", return_tensors="np")
    assert single["input_ids"].tolist() == [rows[0]]
    extras = tok(texts, return_length=True, return_special_tokens_mask=True, return_token_type_ids=True)
    assert extras["length"] == list(map(len, rows))
    assert extras["special_tokens_mask"][0] == [1] + [0] * (len(rows[0]) - 2) + [1]
    assert extras["token_type_ids"][1] == [0] * len(rows[1])
    pair = tok("ab", "cd")["input_ids"]
    assert pair == [1] + core.encode("ab") + [2, 1] + core.encode("cd") + [2]


@needs_wrapper
def test_wrapper_torch_tensors(core):
    torch = pytest.importorskip("torch", reason="torch is not installed")
    tok = BytePieceTokenizer.from_tokenizer(core)
    out = tok(["ab", "今天天气不错"], padding=True, return_tensors="pt")
    assert isinstance(out["input_ids"], torch.Tensor)
    assert out["input_ids"].tolist() == tok(["ab", "今天天气不错"], padding=True)["input_ids"]


@needs_wrapper
def test_wrapper_tokens_and_decode_match_the_export(core, tmp_path):
    core.save_pretrained(tmp_path)
    hf = HT.from_file(str(tmp_path / "tokenizer.json"))
    fast = transformers.AutoTokenizer.from_pretrained(str(tmp_path))
    tok = BytePieceTokenizer.from_tokenizer(core)
    ids = list(range(0, tok.vocab_size, 97)) + [tok.vocab_size - 1]
    assert tok.convert_ids_to_tokens(ids) == [hf.id_to_token(i) for i in ids]
    assert tok.get_vocab() == hf.get_vocab()
    assert len(tok) == len(fast)
    for text in _probe_texts()[:150]:
        enc = core.encode(text)
        assert tok.convert_tokens_to_string(tok.tokenize(text)) == unicodedata.normalize("NFC", text)
        with_specials = [1] + enc + [2, 0]
        for skip in (False, True):
            assert tok.decode(with_specials, skip_special_tokens=skip) == fast.decode(with_specials, skip_special_tokens=skip)
    assert tok.decode([1, 100, 2]) == "<bos>a<eos>" and tok.decode([1, 100, 2], skip_special_tokens=True) == "a"
    assert tok.convert_tokens_to_ids(["<pad>", "<bos>", "<eos>", "a"]) == [0, 1, 2, 100]


@needs_wrapper
def test_wrapper_special_tokens(core):
    extras = ["<|im_start|>", "<|im_end|>"]
    tok = BytePieceTokenizer(_model_path(MODELS[1]), extra_special_tokens=extras)
    n = core.vocab_size
    assert tok.convert_tokens_to_ids(extras) == [n, n + 1] and len(tok) == n + 2
    text = "<|im_start|>user\nab<|im_end|><eos>"
    assert tok(text)["input_ids"] == core.encode(text)
    matched = tok(text, split_special_tokens=False)["input_ids"]
    assert matched == [n] + core.encode("user\nab") + [n + 1, 2]
    assert tok.decode(matched) == text
    assert tok.decode(matched, skip_special_tokens=True) == "user\nab"
    assert set(tok.all_special_ids) == {0, 1, 2, n, n + 1}
    if HAS_SPECIAL_API:
        assert {t: tok.bytepiece.special_tokens[t] for t in extras} == {extras[0]: n, extras[1]: n + 1}


@needs_wrapper
def test_wrapper_save_and_auto_load(core, tmp_path):
    tok = BytePieceTokenizer(_model_path(MODELS[1]), alpha=0.1, sampler="exact", seed=9, add_eos=True,
                             extra_special_tokens=["<|x|>"])
    tok.save_pretrained(str(tmp_path))
    assert (tmp_path / "bytepiece.model").exists()
    cfg = json.loads((tmp_path / "tokenizer_config.json").read_text())
    assert (cfg["alpha"], cfg["sampler"], cfg["seed"], cfg["add_eos"], cfg["tokenizer_class"]) == (
        0.1, "exact", 9, True, "BytePieceTokenizer")
    assert Tokenizer(str(tmp_path / "bytepiece.model")).pieces() == core.pieces()
    for loaded in (BytePieceTokenizer.from_pretrained(str(tmp_path)),
                   transformers.AutoTokenizer.from_pretrained(str(tmp_path))):
        assert type(loaded) is BytePieceTokenizer
        assert (loaded.alpha, loaded.sampler, loaded.seed, loaded.add_eos) == (0.1, "exact", 9, True)
        assert loaded("今天天气不错", alpha=None)["input_ids"] == core.encode("今天天气不错") + [2]
        assert loaded("ab", seed=1)["input_ids"] == core.encode("ab", 0.1, sampler="exact", seed=1) + [2]
        assert loaded.convert_tokens_to_ids("<|x|>") == core.vocab_size
        assert loaded.split_special_tokens is True


@needs_wrapper
def test_wrapper_pickles(core):
    tok = BytePieceTokenizer.from_tokenizer(core, alpha=0.1)
    again = pickle.loads(pickle.dumps(tok))
    assert again("今天天气不错", seed=4)["input_ids"] == tok("今天天气不错", seed=4)["input_ids"]
