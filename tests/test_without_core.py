"""The package without its compiled core: every module imports, every main path works through
the plain-Python twins, with the same results as the core, and one warning says so."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from bytepiece_lite import Tokenizer, Trainer

from strategies import vocab_counts

COUNTS = vocab_counts({b"ab": 9, "天气".encode(): 5, b" a": 4, b"\n\n": 3}, byte_count=2)
TEXT = "ab 天气 ab\n\nabab e\u0301 " * 20
LINES = ["今天天气不错\n", "天气很好\n", "ab ab ab\n"] * 40

# Run in a fresh interpreter in which bytepiece_lite._core cannot be imported.
CHILD = textwrap.dedent('''
    import json, sys, warnings
    import importlib.abc

    class NoCore(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name == "bytepiece_lite._core":
                raise ImportError("hidden by the test")

    sys.meta_path.insert(0, NoCore())
    counts, text, lines, model_path = json.loads(sys.stdin.read())
    counts = {bytes.fromhex(k): v for k, v in counts.items()}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        import bytepiece_lite
        from bytepiece_lite import Tokenizer, Trainer, backend
        from bytepiece_lite import cli, corpus, model, normalize, stream, trainer  # all import
        tok = Tokenizer(counts)
        other = Tokenizer(counts)
    trainer = Trainer(order=3, max_vocab_size=300)
    trainer.train(lines, progress=False)
    trained = Tokenizer(trainer.tokenizer().pieces())
    loaded = Tokenizer(model_path)
    out = {
        "backend": [backend(), tok.backend],
        "warnings": [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)],
        "tokenize": [p.hex() for p in tok.tokenize(text)],
        "encode": tok.encode(text, add_eos=True),
        "viterbi": tok.encode(text, 0.3, seed=5),
        "exact": tok.encode(text, 0.3, sampler="exact", seed=5),
        "batch": tok.encode_batch([text, "ab", ""], 0.2, seed=3, num_threads=2),
        "numpy": tok.encode_to_numpy(text, 0.2, seed=4, num_threads=2).tolist(),
        "offsets": tok.encode_with_offsets(text).char_spans.tolist(),
        "stream": [i for b in tok.encode_stream([text[:7], text[7:]], 0.2, seed=6) for i in b],
        "decode": tok.decode(tok.encode(text)),
        "trained": sorted((p.hex(), c) for p, c in trained.pieces().items()),
        "loaded": loaded.encode(text),
    }
    print(json.dumps(out))
''')


def test_every_main_path_works_without_the_compiled_core(tmp_path):
    model_path = tmp_path / "m.model"
    Tokenizer(COUNTS).save(model_path)
    payload = json.dumps([{k.hex(): v for k, v in COUNTS.items()}, TEXT, LINES, str(model_path)])
    proc = subprocess.run([sys.executable, "-c", CHILD], input=payload, capture_output=True,
                          text=True, cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert got["backend"] == ["pyahocorasick", "pyahocorasick"]
    assert len(got["warnings"]) == 1 and "compiled core is not available" in got["warnings"][0]
    tok = Tokenizer(COUNTS)
    assert tok.backend == "native"
    assert got["tokenize"] == [p.hex() for p in tok.tokenize(TEXT)]
    assert got["encode"] == tok.encode(TEXT, add_eos=True)
    assert got["viterbi"] == tok.encode(TEXT, 0.3, seed=5)
    assert got["exact"] == tok.encode(TEXT, 0.3, sampler="exact", seed=5)
    assert got["batch"] == tok.encode_batch([TEXT, "ab", ""], 0.2, seed=3)
    assert got["numpy"] == tok.encode(TEXT, 0.2, seed=4)
    assert got["offsets"] == tok.encode_with_offsets(TEXT).char_spans.tolist()
    assert got["stream"] == tok.encode(TEXT, 0.2, seed=6)
    assert got["decode"] == tok.decode(tok.encode(TEXT))
    trainer = Trainer(order=3, max_vocab_size=300)
    trainer.train(LINES, progress=False)
    assert got["trained"] == sorted([p.hex(), c] for p, c in trainer.tokenizer().pieces().items())
    assert got["loaded"] == tok.encode(TEXT)
