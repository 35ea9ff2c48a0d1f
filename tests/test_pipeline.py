"""Pipeline features: offsets, streaming, incremental decoding, corpus encoding, scale-out."""
from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import unicodedata

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bytepiece_lite import Tokenizer, _threads
from bytepiece_lite.cli import main

from strategies import BACKENDS, small_vocab_tokenizer

ALPHAS = [None, 0.1]


@pytest.fixture(scope="module")
def tok() -> Tokenizer:
    return Tokenizer.default()


# ------------------------------------------------------------------ offsets

@settings(max_examples=80, deadline=None)
@given(text=st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=60),
       alpha=st.sampled_from(ALPHAS), seed=st.integers(0, 2**64 - 1))
def test_offsets_are_the_spans_of_the_pieces(tok, text, alpha, seed):
    enc = tok.encode_with_offsets(text, alpha, seed=seed)
    assert enc.ids.tolist() == tok.encode(text, alpha, seed=seed)
    data = unicodedata.normalize("NFC", text).encode()
    pieces = tok.tokenize(text, alpha, seed=seed)
    pos = 0
    for (a, b), piece in zip(enc.byte_spans.tolist(), pieces):
        assert (a, b) == (pos, pos + len(piece)) and data[a:b] == piece
        pos = b
    # brute force: the characters whose UTF-8 bytes overlap the token's bytes
    nfc = unicodedata.normalize("NFC", text)
    char_of_byte = [i for i, ch in enumerate(nfc) for _ in ch.encode()]
    for (a, b), (ca, cb) in zip(enc.byte_spans.tolist(), enc.char_spans.tolist()):
        assert (ca, cb) == (char_of_byte[a], char_of_byte[b - 1] + 1)


def test_offsets_for_bytes_input_have_no_char_spans(tok):
    enc = tok.encode_with_offsets(b"ab\xffc")
    assert enc.char_spans is None
    assert enc.byte_spans[-1, 1] == 4
    empty = tok.encode_with_offsets("")
    assert empty.ids.size == 0 and empty.byte_spans.shape == (0, 2) and empty.char_spans.shape == (0, 2)


# ------------------------------------------------------------------ streaming

def _split(data, cuts):
    cuts = sorted({c % (len(data) + 1) for c in cuts})
    return [data[a:b] for a, b in zip([0] + cuts, cuts + [len(data)])]


_stream_text = st.lists(st.sampled_from(list("ab今天\n ") + ["\n\n", "e\u0301", "\u0301"]),
                        max_size=40).map("".join)


@settings(max_examples=100, deadline=None)
@given(text=_stream_text, cuts=st.lists(st.integers(0, 200), max_size=8),
       alpha=st.sampled_from(ALPHAS), sampler=st.sampled_from(["viterbi", "exact"]),
       as_bytes=st.booleans(), backend=st.sampled_from(BACKENDS))
def test_stream_equals_encoding_the_whole(text, cuts, alpha, sampler, as_bytes, backend):
    tok = small_vocab_tokenizer(backend)
    whole = tok.encode(text.encode() if as_bytes else text, alpha, sampler=sampler, seed=3)
    source = _split(text.encode() if as_bytes else text, cuts)
    blocks = list(tok.encode_stream(source, alpha, sampler=sampler, seed=3))
    assert [i for b in blocks for i in b] == whole


def test_stream_from_files_and_bounded_blocks(tok, tmp_path):
    lines = [f"line {i} 今天天气不错\n" for i in range(2000)]
    path = tmp_path / "t.txt"
    path.write_text("".join(lines), encoding="utf-8")
    whole = tok.encode("".join(lines), 0.1, seed=9)
    with open(path, "rb") as f:
        assert [i for b in tok.encode_stream(f, 0.1, seed=9) for i in b] == whole
    with open(path, encoding="utf-8") as f:
        assert [i for b in tok.encode_stream(f, 0.1, seed=9) for i in b] == whole
    # a block never holds more than what has arrived: one line per part gives one line's ids
    blocks = list(tok.encode_stream(lines))
    assert len(blocks) == len(lines) - 1 or len(blocks) == len(lines)
    assert max(map(len, blocks)) <= max(len(tok.encode(x)) for x in lines)


def test_stream_rejects_bad_sources(tok):
    with pytest.raises(TypeError, match="for one text use encode"):
        tok.encode_stream("abc")
    with pytest.raises(TypeError, match="all str or all bytes"):
        list(tok.encode_stream(["a", b"b"]))
    with pytest.raises(TypeError, match="part 1 is int"):
        list(tok.encode_stream(["a", 1]))
    with pytest.raises(ValueError, match="alpha must be finite"):
        tok.encode_stream(["a"], float("nan"))          # checked before the first block


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=40), cuts=st.lists(st.integers(0, 200), max_size=8),
       alpha=st.sampled_from(ALPHAS))
def test_incremental_decoder_never_splits_a_character(tok, text, cuts, alpha):
    text = text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    ids = tok.encode(text, alpha, seed=1)
    dec = tok.decoder()
    pieces = [dec.decode(part) for part in _split(ids, cuts)] + [dec.flush()]
    assert "".join(pieces) == tok.decode(ids)
    for p in pieces:                     # no replacement character from a split sequence
        assert "\ufffd" not in p or "\ufffd" in tok.decode(ids)


def test_incremental_decoder_flushes_an_incomplete_tail(tok):
    dec = tok.decoder()
    first = tok.piece_to_id(b"\xe4")
    assert dec.decode([first]) == ""
    assert dec.flush() == "\ufffd"
    assert dec.decode(tok.encode("ok")) == "ok"          # reset after flush


# ------------------------------------------------------------------ batch pieces of one text

@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("sampler", ["viterbi", "exact"])
def test_one_text_on_many_threads_draws_like_one_thread(backend, sampler, monkeypatch):
    # A long text is cut at chunk boundaries and its parts segmented on a pool; the draws are
    # keyed by absolute position, so every thread count gives the one-thread result.  (Texts
    # get a thread per 64 KB: here per 64 bytes, so that short texts have parts.)
    monkeypatch.setattr(_threads, "MIN_BYTES_PER_THREAD", 64)
    tok = small_vocab_tokenizer(backend)
    text = b"ab ab\n\nba ab\nabba\n" * 200 + b"ab" * 50
    for alpha in (None, 0.3):
        whole = tok.encode(text, alpha, sampler=sampler, seed=11, num_threads=1)
        pieces = tok.tokenize(text, alpha, sampler=sampler, seed=11, num_threads=1)
        for threads in (2, 3):
            assert tok.encode(text, alpha, sampler=sampler, seed=11, num_threads=threads) == whole
            assert tok.tokenize(text, alpha, sampler=sampler, seed=11, num_threads=threads) == pieces
            assert tok.encode_to_numpy(text, alpha, sampler=sampler, seed=11, num_threads=threads,
                                       add_bos=True).tolist() == [1] + whole
        assert [tok.piece_to_id(p) for p in pieces] == whole
    # and a seeded sample differs from what per-part streams would give (text 0 of a batch)
    parts = [text[:20], text[20:]]
    assert tok.encode_batch(parts, 0.3, seed=11, num_threads=1)[1] != \
        tok.encode(text, 0.3, seed=11)[len(tok.encode(parts[0], 0.3, seed=11)):]


# Lines that test what a str's parts go through in the threads: NFC (e + combining acute;
# a KELVIN SIGN, which NFC turns into K), 1-, 2- and 4-byte code points, and newline runs.
_STR_LINES = ["ab ab ba", "cafe\u0301 ab", "今天 ab 天气", "\u212a ab 😀", "", "ba\n", "ab"]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("sampler", ["viterbi", "exact"])
def test_one_str_text_on_many_threads_equals_its_nfc_utf8_on_one(backend, sampler, monkeypatch):
    # A long str is cut into str parts, which the threads normalize and encode themselves;
    # the draws are keyed by positions in the UTF-8 of NFC(text), as for the whole.
    monkeypatch.setattr(_threads, "MIN_BYTES_PER_THREAD", 64)
    tok = small_vocab_tokenizer(backend)
    # the parts NFC changes come first; the later ones are NFC already, with 2- and 4-byte
    # code points, so that their positions in the UTF-8 are not their code points'
    text = "\n".join(_STR_LINES[i % 7] + "ab" * (i % 5) for i in range(100)) + "\n" + \
        "\n".join(("今天 ab 天气", "ab 😀 ba")[i % 2] + "ab" * (i % 5) for i in range(400))
    data = unicodedata.normalize("NFC", text).encode()
    assert "\u212a" in text and "e\u0301" in text
    for alpha in (None, 0.3):
        whole = tok.encode(data, alpha, sampler=sampler, seed=7, num_threads=1)
        assert tok.encode(text, alpha, sampler=sampler, seed=7, num_threads=1) == whole
        for threads in (2, 3):
            assert tok.encode(text, alpha, sampler=sampler, seed=7, num_threads=threads) == whole
            assert tok.encode_to_numpy(text, alpha, sampler=sampler, seed=7, num_threads=threads,
                                       add_bos=True, add_eos=True).tolist() == [1] + whole + [2]
            assert b"".join(tok.tokenize(text, alpha, sampler=sampler, seed=7,
                                         num_threads=threads)) == data
    with pytest.raises(ValueError, match="not valid Unicode.*surrogate"):
        tok.encode(text[:3001] + "\ud800" + text[3001:], num_threads=2)


@pytest.mark.parametrize("sampler", ["viterbi", "exact"])
def test_a_long_str_is_normalized_by_the_threads(sampler):
    # Parts of 4K code points and more are quick-checked and normalized by the thread that
    # takes them (shorter ones before the threads start): the same result as one thread.
    tok = small_vocab_tokenizer("native")
    text = "\n".join(_STR_LINES[i % 7] + "ab" * (i % 5) for i in range(15000))
    data = unicodedata.normalize("NFC", text).encode()
    assert len(text) > 2 * 16 * (1 << 12)       # 32 parts on 2 threads, each long enough
    for alpha in (None, 0.3):
        whole = tok.encode(data, alpha, sampler=sampler, seed=3, num_threads=1)
        assert tok.encode(text, alpha, sampler=sampler, seed=3, num_threads=2) == whole
        assert tok.encode_to_numpy(text, alpha, sampler=sampler, seed=3,
                                   num_threads=2).tolist() == whole


@pytest.mark.parametrize("threads", [1, 2])
def test_long_results_hold_one_reference_per_token(threads):
    # The core fills lists (single texts, the joined parts of a long one, batch rows) from
    # its tables of shared objects.  Each list must own exactly one reference per item:
    # making it takes as many as it holds, dropping it gives them back (ids above 256,
    # never immortal; the table's objects are the same from call to call).
    tok = small_vocab_tokenizer("native")
    text = "ab ba ab\n" * 40000
    for call in (lambda: tok.encode(text, num_threads=threads),
                 lambda: tok.tokenize(text, num_threads=threads),
                 lambda: tok.encode_batch([text, text[:9]], num_threads=threads)[0]):
        result = call()
        assert len(result) > 1 << 16
        counts = {}
        for item in result:
            counts[id(item)] = counts.get(id(item), 0) + 1
        items = {id(x): x for x in result if not isinstance(x, int) or x > 256}
        del result
        before = {k: sys.getrefcount(x) for k, x in items.items()}
        result = call()
        for k, x in items.items():
            assert sys.getrefcount(x) - before[k] == counts[k], x
        del result
        for k, x in items.items():
            assert sys.getrefcount(x) == before[k], x


# ------------------------------------------------------------------ corpus encoding CLI

def _corpus(tmp_path):
    a = tmp_path / "a.txt"
    b = tmp_path / "b.txt"
    a.write_text("今天天气不错\n\n\nhello world\n" * 300 + "no newline", encoding="utf-8")
    b.write_bytes(b"raw \xff bytes\n" * 50)
    return [str(a), str(b)]


@pytest.mark.parametrize("fmt", ["npy", "bin"])
@pytest.mark.parametrize("alpha", [None, 0.1])
def test_encode_command_writes_the_batch_ids(tok, tmp_path, fmt, alpha, monkeypatch):
    import bytepiece_lite.corpus as corpus

    monkeypatch.setattr(corpus, "_BLOCK", 1000)       # many blocks, cut at chunk boundaries
    files = _corpus(tmp_path)
    out = tmp_path / f"ids.{fmt}"
    args = ["encode", "--input", *files, "--output", str(out), "--add-eos", "--threads", "2", "-q"]
    if alpha:
        args += ["--alpha", str(alpha), "--seed", "4"]
    assert main(args) == 0
    info = json.loads((tmp_path / f"ids.{fmt}.json").read_text())
    ids = np.load(out) if fmt == "npy" else np.fromfile(out, dtype="<u2")
    assert info["dtype"] == "uint16" and ids.dtype == np.uint16
    data = [open(f, "rb").read() for f in files]
    expected = tok.encode_batch(data, alpha, seed=4, add_eos=True)
    assert ids.tolist() == expected[0] + expected[1]
    assert info["tokens"] == len(ids)
    assert info["documents"] == [[files[0], 0, len(expected[0])],
                                 [files[1], len(expected[0]), len(ids)]]
    assert sorted(os.listdir(tmp_path)) == sorted(["a.txt", "b.txt", f"ids.{fmt}", f"ids.{fmt}.json"])


def test_encode_command_uses_uint32_for_large_vocabularies(tmp_path):
    model = tmp_path / "big.model"
    Tokenizer({bytes([b]): 1 for b in range(256)} | {f"w{i}".encode(): 2 for i in range(70000)}).save(model)
    src = tmp_path / "t.txt"
    src.write_text("w69999 w5\n")
    out = tmp_path / "ids.npy"
    assert main(["encode", "--model", str(model), "--input", str(src), "--output", str(out), "-q"]) == 0
    ids = np.load(out)
    assert ids.dtype == np.uint32 and ids.tolist() == Tokenizer(str(model)).encode("w69999 w5\n")


def test_decode_command_reads_encoded_files(tmp_path, capsys):
    files = _corpus(tmp_path)[:1]
    for fmt in ("npy", "bin"):
        out = tmp_path / f"ids.{fmt}"
        assert main(["encode", "--input", *files, "--output", str(out), "-q"]) == 0
        capsys.readouterr()
        assert main(["decode", "--input", str(out)]) == 0
        assert capsys.readouterr().out == open(files[0], encoding="utf-8").read() + "\n"


@pytest.mark.parametrize("args, message", [
    (["encode", "--input", "/no/such.txt", "--output", "x.npy"], "does not exist"),
    (["encode", "--input", "{a}", "--output", "x.txt"], "must end in .npy or .bin"),
    (["encode", "--input", "{a}"], "needs --output"),
    (["encode", "hi", "--input", "{a}", "--output", "x.npy"], "not both"),
    (["encode", "--input", "{a}", "--output", "/no/dir/x.npy"], "folder of output"),
    (["decode", "--input", "/no/such.npy"], "No such file"),
    (["tokenize", "x", "--model", "/no/model.zip"], "No such file"),
    (["tokenize", "x", "--alpha", "nan"], "alpha must be finite"),
])
def test_command_line_errors_are_one_line(tmp_path, args, message):
    files = _corpus(tmp_path)
    args = [a.replace("{a}", files[0]) for a in args]
    proc = subprocess.run([sys.executable, "-m", "bytepiece_lite", *args], cwd=tmp_path,
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert [p for p in os.listdir(tmp_path) if p.endswith((".tmp", ".npy"))] == []


def test_command_line_tokenize_and_info(capsys):
    assert main(["tokenize", "今天天气不错", "--json"]) == 0
    pieces = json.loads(capsys.readouterr().out)
    assert "".join(pieces) == "今天天气不错"
    assert main(["info"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["vocab_size"] == Tokenizer.default().vocab_size


# ------------------------------------------------------------------ scale-out recipes

def test_dask_bag_recipe_gives_the_local_ids(tok):
    """README's recipe: a dask.bag of lines, map_partitions with the pickled tokenizer."""
    pytest.importorskip("dask.bag", reason="dask is not installed (pip install 'bytepiece-lite[dask]')")
    distributed = pytest.importorskip("distributed", reason="dask.distributed is not installed")
    import dask.bag as db

    lines = [f"{i} 今天天气不错, the weather is fine\n" for i in range(500)]

    def encode_partition(part, tok=tok):
        return [tok.encode(line) for line in part]

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster, \
            distributed.Client(cluster):
        remote = db.from_sequence(lines, npartitions=4).map_partitions(encode_partition).compute()
    assert remote == [tok.encode(line) for line in lines]


def test_tokenizer_survives_pickling_into_a_subprocess(tok, tmp_path):
    blob = tmp_path / "tok.pkl"
    blob.write_bytes(pickle.dumps(tok))
    code = ("import pickle,sys; t = pickle.load(open(sys.argv[1], 'rb')); "
            "print(t.encode('今天天气不错', 0.1, seed=5))")
    out = subprocess.run([sys.executable, "-c", code, str(blob)], capture_output=True, text=True, check=True,
                         cwd=tmp_path)          # not the checkout: "-c" puts the cwd first on sys.path
    assert out.stdout.strip() == str(tok.encode("今天天气不错", 0.1, seed=5))


def test_torch_dataloader_workers_sample_differently_and_reproducibly(tok):
    torch = pytest.importorskip("torch", reason="torch is not installed")
    from torch.utils.data import DataLoader, Dataset, get_worker_info

    class Lines(Dataset):
        def __len__(self):
            return 8

        def __getitem__(self, i):
            info = get_worker_info()
            seed = None if self.base is None else self.base * 1000 + info.id * 100 + i
            # alpha 0.1: the most frequent segmentation of this text has probability ~3%,
            # so 16 equal draws would mean shared random streams, not chance
            return tok.encode("今天天气不错，我们去公园散步", 0.1, seed=seed)

    ds = Lines()
    ds.base = None
    runs = [list(DataLoader(ds, batch_size=None, num_workers=2)) for _ in range(2)]
    flat = [tuple(x.tolist() if hasattr(x, "tolist") else x) for r in runs for x in r]
    assert len(set(flat)) > 1                                       # workers differ
    ds.base = 7
    seeded = [list(DataLoader(ds, batch_size=None, num_workers=2)) for _ in range(2)]
    assert [list(map(list, r)) for r in seeded[0:1]] == [list(map(list, r)) for r in seeded[1:2]]
    del torch


def test_a_failed_corpus_encode_leaves_no_output_and_no_sidecar(tmp_path, monkeypatch):
    import bytepiece_lite._files as files

    src = tmp_path / "a.txt"
    src.write_text("some text\n" * 100, encoding="utf-8")

    real = os.replace

    def refuse(a, b):                   # the sidecar goes into place, the ids do not
        if str(b).endswith(".json"):
            return real(a, b)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, "replace", refuse)
    with pytest.raises(OSError):
        Tokenizer.default().encode_files([src], tmp_path / "ids.npy", progress=False)
    monkeypatch.undo()
    assert sorted(os.listdir(tmp_path)) == ["a.txt"]
