"""What a byte costs, part by part, against what the speed bar allows.

    python benchmarks/cost_breakdown.py --model M --corpus FILE... [--max-bytes 2000000]
        [--rounds 7] [--vocab-size 32000] [--cache DIR]

Per corpus file, on its first --max-bytes (bench.py's text), one thread, in ns per UTF-8 byte.
Each part is the difference between two calls that differ by that part only:

    walk             walk_floor(visit=False): every live walk steps by every byte
    match visits     walk_floor() - walk: each node reached read (is it a piece)
    Viterbi update   encode_to_numpy(bytes) - walk_floor(): candidates scored, winners and
                     survivors kept, the route and its backtrack (and the engine's own walk
                     differences: it prefetches, and its youngest walk needs no lookup)
    output list      tokenize(bytes) - encode_to_numpy(bytes): the list of pieces
    str handling     tokenize(str) - tokenize(bytes): NFC quick check and UTF-8
    total            tokenize(str), the call the bar measures

for the deterministic decoder and both samplers (alpha 0.1; the walk and its visits are the
same for all three).  Every call runs in every round, in turn (twice in a row, the second
timed), so that a noisy machine's drifts fall on all of them alike; a part's figure is the median over the rounds of its
per-round difference, with the range of the rounds.  SentencePiece (if installed) is the
unigram model bench.py trains at --vocab-size from the same 9:1 split of the corpus (the same
cache), on the same str: its deterministic encode and its sampling (nbest_size=-1).  The
last rows give what the bar allows: half SentencePiece's time (deterministic), an eighth of
its sampling time, and twice our deterministic time (samplers).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench  # noqa: E402  (its corpus split, SentencePiece training and cache)
from bytepiece_lite import Tokenizer, _core  # noqa: E402

MODES = {"deterministic": {}, "Viterbi Sampling": {"alpha": bench.ALPHA, "seed": 1},
         "exact": {"alpha": bench.ALPHA, "sampler": "exact", "seed": 1}}
# part: (call, call subtracted); None = nothing subtracted; {m} = each mode
PARTS = {
    "walk": ("walk", None),
    "match visits": ("walk and visits", "walk"),
    "Viterbi update": ("{m} numpy(bytes)", "walk and visits"),
    "output list": ("{m} tokenize(bytes)", "{m} numpy(bytes)"),
    "str handling": ("{m} tokenize(str)", "{m} tokenize(bytes)"),
    "total: tokenize(str)": ("{m} tokenize(str)", None),
}
SHARED = ("walk", "match visits")       # the same for every mode: one column


def calls(tok: Tokenizer, text: str, sp) -> dict[str, object]:
    """The timed calls on `text`, by name."""
    data = text.encode("utf-8")
    # the tokenizer's own automaton: a copy of it would take its place in the caches
    vocab = tok._seg.vocab
    if not isinstance(vocab, _core.Vocab):
        raise SystemExit("the cost breakdown needs the compiled core")
    out = {"walk": lambda: _core.walk_floor(vocab, data, visit=False),
           "walk and visits": lambda: _core.walk_floor(vocab, data)}
    for m, kw in MODES.items():
        out[f"{m} numpy(bytes)"] = lambda kw=kw: tok.encode_to_numpy(data, num_threads=1, **kw)
        out[f"{m} tokenize(bytes)"] = lambda kw=kw: tok.tokenize(data, num_threads=1, **kw)
        out[f"{m} tokenize(str)"] = lambda kw=kw: tok.tokenize(text, num_threads=1, **kw)
    if sp is not None:
        out["SentencePiece det"] = lambda: sp.encode(text)
        out["SentencePiece sampling"] = lambda: sp.encode(text, enable_sampling=True,
                                                          alpha=bench.ALPHA, nbest_size=-1)
    return out


def time_rounds(named: dict[str, object], rounds: int) -> dict[str, list[float]]:
    """Seconds of every call in every round: each runs twice in a row and the second is
    timed, so that no call pays for the caches its predecessor (another model) filled."""
    times: dict[str, list[float]] = {name: [] for name in named}
    for _ in range(rounds):
        for name, call in named.items():
            call()
            t0 = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - t0)
    return times


def breakdown(times: dict[str, list[float]], nbytes: int) -> dict[str, dict[str, tuple]]:
    """{part: {mode: (median, low, high)}} in ns per byte, the bar's rows included."""
    def per_round(name: str, minus: str | None) -> list[float]:
        sub = times[minus] if minus else [0.0] * len(times[name])
        return [(a - b) / nbytes * 1e9 for a, b in zip(times[name], sub)]

    def summary(values: list[float]) -> tuple[float, float, float]:
        return statistics.median(values), min(values), max(values)

    table: dict[str, dict[str, tuple]] = {}
    for part, (name, minus) in PARTS.items():
        modes = ["deterministic"] if part in SHARED else list(MODES)
        table[part] = {m: summary(per_round(name.format(m=m), minus and minus.format(m=m)))
                       for m in modes}
    if "SentencePiece det" in times:
        sp_det = summary(per_round("SentencePiece det", None))
        sp_sample = summary(per_round("SentencePiece sampling", None))
        det = table["total: tokenize(str)"]["deterministic"][0]
        table["SentencePiece"] = {"deterministic": sp_det, "Viterbi Sampling": sp_sample,
                                  "exact": sp_sample}
        table["bar: at most"] = {"deterministic": (sp_det[0] / 2,) * 3,
                                 **{m: (min(sp_sample[0] / 8, 2 * det),) * 3
                                    for m in ("Viterbi Sampling", "exact")}}
    return table


def markdown(name: str, nbytes: int, table: dict[str, dict[str, tuple]]) -> str:
    lines = [f"{name}, {nbytes / 1e6:.2f} MB, ns per byte: median (range of the rounds)", "",
             "| part | " + " | ".join(MODES) + " |", "|---|" + "---|" * len(MODES)]
    for part, cols in table.items():
        cells = []
        for m in MODES:
            if m not in cols:
                cells.append("(same)" if part in SHARED else "")
                continue
            mid, lo, hi = cols[m]
            cells.append(f"{mid:.2f}" if lo == hi else f"{mid:.2f} ({lo:.2f}-{hi:.2f})")
        lines.append(f"| {part} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict[str, dict]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="our model")
    ap.add_argument("--corpus", nargs="+", required=True, help="UTF-8 text files")
    ap.add_argument("--max-bytes", type=int, default=2_000_000, help="text measured per file")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--vocab-size", type=int, default=32000, help="SentencePiece's")
    ap.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "bytepiece-lite-bench"))
    args = ap.parse_args(argv)
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    train, texts = bench.split_corpus(args.corpus, cache, None)
    sp = None
    if bench.spm is not None:
        sp = bench.spm.SentencePieceProcessor(
            model_file=str(bench.train_spm(train, args.vocab_size, cache, "unigram")))
    tok = Tokenizer(args.model)
    result = {}
    for name, (data, _) in texts.items():
        text = data.encode("utf-8")[: args.max_bytes].decode("utf-8", "ignore")
        nbytes = len(text.encode("utf-8"))
        table = breakdown(time_rounds(calls(tok, text, sp), args.rounds), nbytes)
        print(markdown(name, nbytes, table), flush=True)
        result[name] = table
    return result


if __name__ == "__main__":
    main()
