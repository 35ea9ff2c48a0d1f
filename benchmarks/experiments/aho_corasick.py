"""The Aho-Corasick automaton of aho_corasick.patch against the engine's live trie walks.

    git apply benchmarks/experiments/aho_corasick.patch && python setup.py build_ext --inplace
    python benchmarks/experiments/aho_corasick.py --model M --corpus FILE... [--rounds 7]

The patch adds, to the test hooks only, an Aho-Corasick automaton built over the engine's
double array (fail links, the fail's fail, one list of the pieces ending at each state) and
its three Viterbi loops.  This script first checks that both give the same pieces for every
corpus and mode, then times the kernels alone (no str handling, no list building) in fresh
interpreters, alternating, best of 7 calls per file, and prints the median over the rounds
of the automaton's time relative to the live walks' (below 1: the automaton is faster), with
the ratio of the two minima in brackets.  Run it pinned to one core (taskset -c 1).
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

CHILD = r"""
import sys, time
from bytepiece_lite import Tokenizer, _core
model, size, engine, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
vocab = Tokenizer(model)._seg.vocab
ac = _core.AhoCorasick(vocab)
KEY = 0x9E3779B97F4A7C15
alpha = 0.1 if mode else 0.0
for path in sys.argv[5:]:
    b = open(path, encoding="utf-8").read()[:size].encode()
    if engine == "check":
        assert ac.segment(b, mode, alpha, KEY, True) == _core.live_segment(vocab, b, mode, alpha, KEY, True), path
        continue
    run = (lambda: ac.segment(b, mode, alpha, KEY)) if engine == "ac" else (lambda: _core.live_segment(vocab, b, mode, alpha, KEY))
    best = float("inf")
    for _ in range(7):
        t0 = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - t0)
    print(best)
"""
MODES = {"deterministic": 0, "viterbi": 1, "exact": 2}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--corpus", nargs="+", required=True)
    ap.add_argument("--bytes", type=int, default=700_000, help="characters taken from each file")
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args(argv)

    def child(engine: str, mode: int) -> list[float]:
        out = subprocess.run([sys.executable, "-c", CHILD, args.model, str(args.bytes), engine,
                              str(mode), *args.corpus], capture_output=True, text=True, check=True)
        return [float(x) for x in out.stdout.split()]

    for name, mode in MODES.items():
        child("check", mode)
        times: dict[str, list[list[float]]] = {"live": [], "ac": []}
        for r in range(args.rounds):
            for engine in (("live", "ac") if r % 2 == 0 else ("ac", "live")):
                times[engine].append(child(engine, mode))
        for i, path in enumerate(args.corpus):
            live = statistics.median(t[i] for t in times["live"])
            ac = statistics.median(t[i] for t in times["ac"])
            lo = min(t[i] for t in times["ac"]) / min(t[i] for t in times["live"])
            print(f"{name:13s} {path}: live {args.bytes / live / 1e6:.1f} MB/s, "
                  f"AC/live {ac / live:.3f} [{lo:.3f}]")


if __name__ == "__main__":
    main()
