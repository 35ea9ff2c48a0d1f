"""bytepiece-lite against SentencePiece, upstream BytePiece, HF tokenizers and tiktoken.

    python benchmarks/bench.py --corpus FILE... [--model PATH] [--upstream-model PATH]
        [--vocab-size 32000] [--quick] [--out DIR]

Per corpus file (so that each language gets its own figures), on the same text in the same
run, median of --repeats runs: UTF-8 input bytes per second of every system that is
installed (the others are listed as absent), deterministic and sampling (alpha=0.1), one
thread and all cores; the floor (walking our automaton and visiting every match with no
Viterbi, and one pass over the bytes); model load time, pickle size, peak memory; and
compression (UTF-8 bytes per token) on held-out text.  Then throughput against input length
(one line and many lines), to show linear time.

Models: every file's lines are split 9:1 into training and held-out text.  SentencePiece
(unigram and BPE, its default settings, plus a lossless unigram for compression) and our
trainer learn from the training part at --vocab-size, cached under --cache.  --model uses a
given model of ours instead; --upstream-model gives upstream's own tokenizer a model too
(by default the one of ours, upstream reads it), e.g. a 160k model for the README's ratio.

Writes OUT/results.json, OUT/results.md and, with matplotlib, OUT/throughput.png and
OUT/scaling.png.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Callable

import numpy as np

import bytepiece_lite
from bytepiece_lite import Tokenizer, _core
from bytepiece_lite.model import from_counts
from bytepiece_lite.trainer import Trainer

ALPHA = 0.1
THREADS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _optional(name: str):
    try:
        return __import__(name)
    except ImportError:
        return None


spm = _optional("sentencepiece")
hf = _optional("tokenizers")
tiktoken = _optional("tiktoken")
upstream = _optional("bytepiece")


# ------------------------------------------------------------------ data and models

def split_corpus(files: list[str], cache: Path, limit: int | None) -> tuple[Path, dict[str, tuple[str, str]]]:
    """A training file of 9 in 10 lines of every corpus file, and per file (its measured
    text, its held-out text).  `limit` caps the bytes of each file used (for --quick)."""
    train = []
    texts = {}
    for f in files:
        data = Path(f).read_bytes()[:limit].decode("utf-8", errors="ignore")
        lines = data.splitlines(keepends=True)
        train += [x for i, x in enumerate(lines) if i % 10 != 9]
        held = "".join(x for i, x in enumerate(lines) if i % 10 == 9)
        texts[Path(f).name] = (data, held)
    digest = hashlib.sha256("".join(train).encode()).hexdigest()[:16]
    path = cache / f"train-{digest}.txt"
    if not path.exists():
        path.write_text("".join(train), encoding="utf-8")
    return path, texts


def train_ours(train: Path, size: int, cache: Path) -> Path:
    path = cache / f"{train.stem}-ours-{size}.model"
    if not path.exists():
        t = Trainer(max_vocab_size=size)
        t.train(train, workers=min(2, THREADS), progress=False)
        t.save(path)
    return path


def train_spm(train: Path, size: int, cache: Path, kind: str) -> Path | None:
    """kind: unigram, bpe (SentencePiece's defaults) or lossless (unigram that keeps every byte)."""
    if spm is None:
        return None
    prefix = cache / f"{train.stem}-spm-{kind}-{size}"
    if not prefix.with_suffix(".model").exists():
        extra = {}
        if kind == "lossless":
            extra = dict(normalization_rule_name="identity", remove_extra_whitespaces=False,
                         byte_fallback=True)
        spm.SentencePieceTrainer.train(
            input=str(train), model_prefix=str(prefix), vocab_size=size,
            model_type="bpe" if kind == "bpe" else "unigram", input_sentence_size=2_000_000,
            shuffle_input_sentence=True, num_threads=THREADS, minloglevel=2,
            hard_vocab_limit=False, **extra)
    return prefix.with_suffix(".model")


def upstream_model_file(path: Path, cache: Path) -> Path:
    """Upstream's Tokenizer reads a JSON file: unzip a .zip once into the cache."""
    if path.suffix != ".zip":
        return path
    out = cache / (path.stem + ".json")
    if not out.exists():
        with zipfile.ZipFile(path) as z:
            out.write_bytes(z.read(z.namelist()[0]))
    return out


# ------------------------------------------------------------------ timing

def median_rate(fn: Callable[[], object], nbytes: int, repeats: int) -> float:
    """Median bytes per second of `repeats` calls (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return nbytes / statistics.median(times)


def rate_rows(text: str, systems: dict[str, Callable[[str], object]], repeats: int,
              slow: set[str]) -> dict[str, float]:
    """Throughput of every system on `text` (the `slow` ones on a 1/20 slice)."""
    out = {}
    for name, fn in systems.items():
        t = text[: max(1, len(text) // 20)] if name in slow else text
        out[name] = median_rate(lambda: fn(t), len(t.encode("utf-8")), repeats if name not in slow else 1)
        print(f"  {name:55s} {out[name] / 1e6:8.2f} MB/s", flush=True)
    return out


# ------------------------------------------------------------------ systems

def ours_systems(tok: Tokenizer, lines_of: Callable[[str], list[str]]) -> dict[str, Callable]:
    py = Tokenizer(tok.pieces(), backend="pyahocorasick")
    model = from_counts(tok.pieces())
    floor_vocab = _core.Vocab(model.pieces, model.log_probs())
    # One thread unless a row says otherwise: a text of 1 MB or more would use every core by
    # default, and the peers it is set against here run on one.
    return {
        "bytepiece-lite tokenize det": lambda t: tok.tokenize(t, num_threads=1),
        "bytepiece-lite encode det": lambda t: tok.encode(t, num_threads=1),
        "bytepiece-lite tokenize viterbi a=0.1": lambda t: tok.tokenize(t, ALPHA, seed=1, num_threads=1),
        "bytepiece-lite tokenize exact a=0.1":
            lambda t: tok.tokenize(t, ALPHA, sampler="exact", seed=1, num_threads=1),
        "bytepiece-lite encode viterbi a=0.1": lambda t: tok.encode(t, ALPHA, seed=1, num_threads=1),
        f"bytepiece-lite encode det, the one text on {THREADS} threads":
            lambda t: tok.encode(t, num_threads=THREADS),
        f"bytepiece-lite tokenize exact a=0.1, the one text on {THREADS} threads":
            lambda t: tok.tokenize(t, ALPHA, sampler="exact", seed=1, num_threads=THREADS),
        f"bytepiece-lite encode_batch_flat det, {THREADS} threads":
            lambda t: tok.encode_batch_flat(lines_of(t), num_threads=THREADS),
        "bytepiece-lite encode_batch_flat det, 1 thread":
            lambda t: tok.encode_batch_flat(lines_of(t), num_threads=1),
        f"bytepiece-lite encode_batch_flat viterbi a=0.1, {THREADS} threads":
            lambda t: tok.encode_batch_flat(lines_of(t), ALPHA, seed=1, num_threads=THREADS),
        "bytepiece-lite [pyahocorasick backend] det": lambda t: py.encode(t),
        "bytepiece-lite [pyahocorasick backend] viterbi a=0.1": lambda t: py.encode(t, ALPHA, seed=1),
        "floor: automaton walk visiting every match": lambda t: _core.walk_floor(floor_vocab, t.encode()),
        "floor: one pass over the bytes (bytes.count)": lambda t: t.encode().count(b"\0"),
    }


def spm_systems(uni: Path | None, bpe: Path | None, lines_of) -> dict[str, Callable]:
    if spm is None:
        return {}
    u = spm.SentencePieceProcessor(model_file=str(uni))
    b = spm.SentencePieceProcessor(model_file=str(bpe))
    return {
        "SentencePiece unigram det": lambda t: u.encode(t),
        "SentencePiece unigram sample a=0.1 nbest=-1":
            lambda t: u.encode(t, enable_sampling=True, alpha=ALPHA, nbest_size=-1),
        "SentencePiece unigram sample a=0.1 nbest=64":
            lambda t: u.encode(t, enable_sampling=True, alpha=ALPHA, nbest_size=64),
        "SentencePiece BPE det": lambda t: b.encode(t),
        "SentencePiece BPE dropout a=0.1": lambda t: b.encode(t, enable_sampling=True, alpha=ALPHA),
        f"SentencePiece unigram det, lines, {THREADS} threads":
            lambda t: u.encode(lines_of(t), num_threads=THREADS),
        "SentencePiece unigram det, lines, 1 thread": lambda t: u.encode(lines_of(t), num_threads=1),
        f"SentencePiece unigram sample a=0.1 nbest=-1, lines, {THREADS} threads":
            lambda t: u.encode(lines_of(t), enable_sampling=True, alpha=ALPHA, nbest_size=-1,
                               num_threads=THREADS),
    }


def hf_unigram(uni: Path | None):
    """HF tokenizers' Unigram with SentencePiece's pieces and scores (its own normalization
    is not replicated: ▁ pre-tokenization only)."""
    if hf is None or uni is None:
        return None
    from tokenizers import Tokenizer as HFTokenizer, models, pre_tokenizers
    sp = spm.SentencePieceProcessor(model_file=str(uni))
    vocab = [(sp.id_to_piece(i), sp.get_score(i)) for i in range(sp.get_piece_size())]
    tok = HFTokenizer(models.Unigram(vocab, unk_id=sp.unk_id(), byte_fallback=False))
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    return tok


def tiktoken_from_bpe(bpe: Path | None):
    """A tiktoken Encoding whose ranks are SentencePiece BPE's pieces in merge order (after
    the 256 bytes); tiktoken pre-splits with its own regex, so its cuts differ from
    SentencePiece's: a speed peer with the same vocabulary, not the same tokenizer."""
    if tiktoken is None or bpe is None:
        return None
    sp = spm.SentencePieceProcessor(model_file=str(bpe))
    ranks = {bytes([b]): b for b in range(256)}
    order = sorted(range(sp.get_piece_size()), key=lambda i: -sp.get_score(i))
    for i in order:
        if sp.is_unknown(i) or sp.is_control(i) or sp.is_byte(i):
            continue
        piece = sp.id_to_piece(i).replace("\u2581", " ").encode("utf-8")
        if len(piece) > 1 and piece not in ranks:
            ranks[piece] = len(ranks)
    return tiktoken.Encoding(name="spm-bpe", pat_str=r" ?\S+|\s+", mergeable_ranks=ranks,
                             special_tokens={})


def peer_systems(uni, bpe, upstream_tok, lines_of) -> tuple[dict[str, Callable], dict[str, str]]:
    systems, absent = {}, {}
    systems.update(spm_systems(uni, bpe, lines_of))
    if spm is None:
        absent["SentencePiece"] = "not installed"
    if upstream_tok is not None:
        systems["upstream bytepiece 0.6.3 tokenize det"] = lambda t: upstream_tok.tokenize(t)
        systems["upstream bytepiece 0.6.3 tokenize exact a=0.1"] = lambda t: upstream_tok.tokenize(t, alpha=ALPHA)
    else:
        absent["upstream bytepiece 0.6.3"] = "not installed"
    h = hf_unigram(uni)
    if h is not None:
        systems["HF tokenizers Unigram det"] = lambda t: h.encode(t)
        systems[f"HF tokenizers Unigram det, lines, batch ({THREADS} threads)"] = \
            lambda t: h.encode_batch(lines_of(t))
    else:
        absent["HF tokenizers"] = "not installed" if hf is None else "needs SentencePiece to build its model"
    k = tiktoken_from_bpe(bpe)
    if k is not None:
        systems["tiktoken (SentencePiece BPE ranks) det"] = lambda t: k.encode_ordinary(t)
        systems[f"tiktoken (SentencePiece BPE ranks) det, lines, {THREADS} threads"] = \
            lambda t: k.encode_ordinary_batch(lines_of(t), num_threads=THREADS)
    else:
        absent["tiktoken"] = "not installed" if tiktoken is None else "needs SentencePiece's BPE model"
    return systems, absent


# ------------------------------------------------------------------ other measurements

_MEMORY_SCRIPT = r"""
import sys, time, json
def status(key):  # from /proc: ru_maxrss would include the forking parent's pages
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith(key)) / 1024
kind, path, text_file = sys.argv[1:4]
text = open(text_file, encoding="utf-8").read()
# libraries are imported first: load time is the model's alone
if kind == "ours":
    from bytepiece_lite import Tokenizer as make
elif kind == "upstream":
    from bytepiece import Tokenizer as make
else:
    import sentencepiece as spm
    make = lambda p: spm.SentencePieceProcessor(model_file=p)
before = status("VmRSS")
t0 = time.perf_counter()
tok = make(path)
load = time.perf_counter() - t0
run = tok.encode if kind == "spm" else tok.tokenize
loaded = status("VmRSS")
run(text)
print(json.dumps({"load_s": load, "peak_mb": status("VmHWM"), "loaded_mb": loaded - before}))
"""


def load_and_memory(kind: str, path: Path, text: str) -> dict | None:
    """Load time and peak memory in a fresh interpreter (model loaded, then one text tokenized)."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8", delete=False) as f:
        f.write(text)
    try:
        # cwd elsewhere: from a source checkout, "-c" would import the uncompiled sources
        out = subprocess.run([sys.executable, "-c", _MEMORY_SCRIPT, kind, str(Path(path).resolve()), f.name],
                             capture_output=True, text=True, timeout=600, cwd=tempfile.gettempdir())
    finally:
        os.unlink(f.name)
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "failed"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def compression(held: str, tok: Tokenizer, uni, lossless, bpe, upstream_tok) -> dict[str, float]:
    """UTF-8 bytes per token on held-out text, newlines included (lossless systems), and
    SentencePiece with its lossy defaults said so."""
    n = len(held.encode("utf-8"))
    out = {"bytepiece-lite": n / len(tok.encode(held))}
    if upstream_tok is not None:
        out["upstream bytepiece 0.6.3 (same model)"] = n / len(upstream_tok.encode(held))
    if spm is not None:
        lines = held.splitlines(keepends=True)
        for name, path in [("SentencePiece unigram, lossless training, newlines fed", lossless),
                           ("SentencePiece unigram, defaults (lossy: NFKC, whitespace collapsed)", uni),
                           ("SentencePiece BPE, defaults (lossy)", bpe)]:
            sp = spm.SentencePieceProcessor(model_file=str(path))
            out[name] = n / sum(len(x) for x in sp.encode(lines))
    return out


def scaling(tok: Tokenizer, text: str, sizes: list[int], repeats: int) -> list[dict]:
    """Deterministic tokenize throughput against input length, many lines and one line, on one
    thread (by default a text of 1 MB or more would take every core)."""
    base = text.encode("utf-8")
    rows = []
    for size in sizes:
        data = (base * (size // max(1, len(base)) + 1))[:size]
        one_line = data.replace(b"\n", b" ")
        for shape, d in (("many lines", data), ("one line", one_line)):
            rows.append({"bytes": size, "shape": shape,
                         "rate": median_rate(lambda: tok.tokenize(d, num_threads=1), size,
                                             repeats)})
        print(f"  scaling {size:>10d} B: many lines {rows[-2]['rate'] / 1e6:6.1f}, one line "
              f"{rows[-1]['rate'] / 1e6:6.1f} MB/s", flush=True)
    return rows


# ------------------------------------------------------------------ report

def seed_table(rates: dict[str, float]) -> list[tuple[str, str, str]]:
    """The article's table: deterministic vs stochastic bytes/sec per system."""
    rows = [("SP-BPE", "SentencePiece BPE det", "SentencePiece BPE dropout a=0.1"),
            ("SP-Unigram", "SentencePiece unigram det", "SentencePiece unigram sample a=0.1 nbest=-1"),
            ("BytePiece 0.6.3", "upstream bytepiece 0.6.3 tokenize det",
             "upstream bytepiece 0.6.3 tokenize exact a=0.1"),
            ("bytepiece-lite", "bytepiece-lite tokenize det", "bytepiece-lite tokenize viterbi a=0.1")]
    fmt = lambda k: f"{rates[k] / 1e6:.2f} MB/s" if k in rates else "absent"
    return [(name, fmt(d), fmt(s)) for name, d, s in rows]


def markdown(result: dict) -> str:
    out = ["# bytepiece-lite benchmark", "",
           f"- command: `{result['command']}`",
           f"- machine: {result['machine']}",
           "- versions: " + ", ".join(f"{k} {v}" for k, v in result["versions"].items()),
           f"- vocabulary: {result['vocab_size']}; ours: `{result['models']['ours']}`; "
           f"upstream tokenizer reads `{result['models']['upstream']}`",
           "- absent: " + (", ".join(f"{k} ({v})" for k, v in result["absent"].items()) or "none"),
           f"- median of {result['repeats']} runs; MB = 10^6 UTF-8 bytes of input; slow systems "
           "(the pyahocorasick backend, upstream) measured on a 1/20 slice", ""]
    for name, block in result["corpora"].items():
        ours = block["rates"].get("bytepiece-lite tokenize det")
        out += [f"## {name} ({block['bytes'] / 1e6:.2f} MB)", "",
                "| system | det | stochastic |", "|---|---|---|"]
        out += [f"| {a} | {b} | {c} |" for a, b, c in seed_table(block["rates"])]
        out += ["", "| system | MB/s | vs bytepiece-lite tokenize det |", "|---|---|---|"]
        for k, v in block["rates"].items():
            out.append(f"| {k} | {v / 1e6:.2f} | {v / ours:.2f}x |")
        out += ["", "| compression on held-out text | bytes/token |", "|---|---|"]
        out += [f"| {k} | {v:.3f} |" for k, v in block["compression"].items()]
        out.append("")
    out += ["## Load time, size and memory", "",
            "Fresh process, libraries imported first: load the model (seconds, and MB added to the "
            "process by loading it), then tokenize 1 MB (peak RSS of the whole process, Python and "
            "libraries included).", "",
            "| model | load s | MB added by loading | peak MB | pickle MB |", "|---|---|---|---|---|"]
    for k, v in result["load"].items():
        if "error" in v:
            out.append(f"| {k} | error: {v['error']} | | | |")
        else:
            pk = v.get("pickle_mb")
            out.append(f"| {k} | {v['load_s']:.3f} | {v['loaded_mb']:.0f} | {v['peak_mb']:.0f} | "
                       f"{'' if pk is None else f'{pk:.2f}'} |")
    out += ["", "## Scaling (deterministic tokenize)", "", "| input bytes | many lines MB/s | one line MB/s |",
            "|---|---|---|"]
    rows = result["scaling"]
    for a, b in zip(rows[::2], rows[1::2]):
        out.append(f"| {a['bytes']} | {a['rate'] / 1e6:.2f} | {b['rate'] / 1e6:.2f} |")
    return "\n".join(out) + "\n"


def plots(result: dict, out: Path) -> list[str]:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    names = list(result["corpora"])
    keys = [k for k in next(iter(result["corpora"].values()))["rates"] if "pyahocorasick" not in k]
    fig, ax = plt.subplots(figsize=(11, 0.32 * len(keys) * len(names) + 1.5))
    y = np.arange(len(keys))
    for i, name in enumerate(names):
        rates = result["corpora"][name]["rates"]
        ax.barh(y + i * 0.8 / len(names), [rates.get(k, 0) / 1e6 for k in keys],
                height=0.8 / len(names), label=name)
    ax.set_yticks(y + 0.4 - 0.4 / len(names), keys, fontsize=7)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("MB/s of UTF-8 input (log scale)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "throughput.png", dpi=110)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(6, 4))
    for shape in ("many lines", "one line"):
        rows = [r for r in result["scaling"] if r["shape"] == shape]
        ax.plot([r["bytes"] for r in rows], [r["rate"] / 1e6 for r in rows], marker="o", label=shape)
    ax.set_xscale("log")
    ax.set_xlabel("input bytes")
    ax.set_ylabel("MB/s (deterministic tokenize)")
    ax.set_ylim(bottom=0)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "scaling.png", dpi=110)
    plt.close(fig)
    return ["throughput.png", "scaling.png"]


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", nargs="+", required=True, help="UTF-8 text files")
    ap.add_argument("--model", help="our model (default: trained on the corpus)")
    ap.add_argument("--upstream-model", help="model for upstream's tokenizer (default: ours)")
    ap.add_argument("--vocab-size", type=int, default=32000)
    ap.add_argument("--quick", action="store_true", help="tiny run for smoke tests")
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--max-bytes", type=int, default=2_000_000, help="text measured per corpus file")
    ap.add_argument("--out", default="benchmarks/results/latest")
    ap.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "bytepiece-lite-bench"))
    args = ap.parse_args(argv)
    repeats = args.repeats or (1 if args.quick else 5)
    limit = 200_000 if args.quick else None
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    train, texts = split_corpus(args.corpus, cache, limit)
    print(f"training text {train} ({train.stat().st_size / 1e6:.1f} MB)", flush=True)
    ours_path = Path(args.model) if args.model else train_ours(train, args.vocab_size, cache)
    tok = Tokenizer(str(ours_path))
    uni = train_spm(train, args.vocab_size, cache, "unigram")
    bpe = train_spm(train, args.vocab_size, cache, "bpe")
    lossless = train_spm(train, args.vocab_size, cache, "lossless")
    up_path = upstream_model_file(Path(args.upstream_model or ours_path), cache)
    upstream_tok = upstream.Tokenizer(str(up_path)) if upstream is not None else None

    def lines_of(t: str, _memo: dict = {}) -> list[str]:
        if t not in _memo:
            _memo.clear()
            _memo[t] = t.splitlines(keepends=True)
        return _memo[t]

    systems = ours_systems(tok, lines_of)
    peers, absent = peer_systems(uni, bpe, upstream_tok, lines_of)
    systems.update(peers)
    slow = {k for k in systems if "pyahocorasick" in k or "upstream" in k}
    corpora = {}
    for name, (data, held) in texts.items():
        text = data.encode("utf-8")[: 50_000 if args.quick else args.max_bytes].decode("utf-8", "ignore")
        print(f"{name}: {len(text.encode()) / 1e6:.2f} MB", flush=True)
        corpora[name] = {"bytes": len(text.encode()), "rates": rate_rows(text, systems, repeats, slow),
                         "compression": compression(held, tok, uni, lossless, bpe, upstream_tok)}

    sample = next(iter(texts.values()))[0][:1_000_000]
    load = {"bytepiece-lite (ours)": load_and_memory("ours", ours_path, sample)}
    load["bytepiece-lite (ours)"]["pickle_mb"] = len(pickle.dumps(tok)) / 1e6
    if upstream is not None:
        load["upstream bytepiece 0.6.3"] = load_and_memory("upstream", up_path, sample)
        load["upstream bytepiece 0.6.3"]["pickle_mb"] = len(pickle.dumps(upstream_tok)) / 1e6
        if args.upstream_model:
            load["bytepiece-lite, upstream's model"] = load_and_memory("ours", Path(args.upstream_model), sample)
    if spm is not None:
        load["SentencePiece unigram"] = load_and_memory("spm", uni, sample)

    sizes = [1_000, 10_000, 100_000, 1_000_000] + ([] if args.quick else [10_000_000, 50_000_000])
    scale = scaling(tok, next(iter(texts.values()))[0][:1_000_000], sizes, 1 if args.quick else 3)

    result = {
        "command": "python benchmarks/bench.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "machine": f"{platform.machine()}, {THREADS} cores, {platform.platform()}, "
                   f"{_cpu_name()}, Python {platform.python_version()}",
        "versions": {"bytepiece-lite": bytepiece_lite.__version__,
                     **{m.__name__: getattr(m, "__version__", "?") for m in (spm, hf, tiktoken, upstream) if m}},
        "vocab_size": args.vocab_size, "repeats": repeats, "threads": THREADS,
        "models": {"ours": str(ours_path), "upstream": str(up_path)},
        "absent": absent, "corpora": corpora, "load": load, "scaling": scale,
    }
    (out / "results.json").write_text(json.dumps(result, indent=1, ensure_ascii=False))
    (out / "results.md").write_text(markdown(result))
    result["plots"] = plots(result, out)
    print(f"wrote {out}/results.json, results.md" + "".join(f", {p}" for p in result["plots"]))
    return result


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    main()
