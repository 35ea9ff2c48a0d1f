"""How the two samplers distribute segmentations of a short text, against the exact target.

    python benchmarks/sampling_distribution.py [--text 今天天气不错] [--model M] [--draws 20000]
        [--alphas 0.05,0.1,0.3]

Enumerates every segmentation w of the text into the model's pieces, computes the target
P(w)^alpha / Z, draws `--draws` samples with each sampler (seeded batch calls), and prints a
markdown table of the most probable segmentations with their target and empirical
frequencies, and the total variation distance of each sampler from the target.
"""
from __future__ import annotations

import argparse
import math
from collections import Counter

from bytepiece_lite import Tokenizer


def segmentations(text: bytes, tok: Tokenizer) -> list[tuple[bytes, ...]]:
    pieces = tok.pieces()
    out: list[tuple[bytes, ...]] = []

    def walk(start: int, prefix: tuple[bytes, ...]) -> None:
        if start == len(text):
            out.append(prefix)
            return
        for end in range(start + 1, len(text) + 1):
            if text[start:end] in pieces:
                walk(end, prefix + (text[start:end],))

    walk(0, ())
    return out


def target(segs: list[tuple[bytes, ...]], tok: Tokenizer, alpha: float) -> dict:
    counts = tok.pieces()
    log_total = math.log(sum(counts.values()))
    score = {w: alpha * sum(math.log(counts[p]) - log_total for p in w) for w in segs}
    top = max(score.values())
    z = sum(math.exp(s - top) for s in score.values())
    return {w: math.exp(s - top) / z for w, s in score.items()}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--text", default="今天天气不错")
    ap.add_argument("--model", help="model file (default: the embedded model)")
    ap.add_argument("--draws", type=int, default=20000)
    ap.add_argument("--alphas", default="0.05,0.1,0.3")
    ap.add_argument("--top", type=int, default=4, help="rows per alpha")
    args = ap.parse_args(argv)
    tok = Tokenizer(args.model) if args.model else Tokenizer.default()
    text = args.text.encode("utf-8")
    segs = segmentations(text, tok)
    print(f"text {args.text!r}: {len(segs)} segmentations; {args.draws} draws per sampler\n")
    print("| alpha | segmentation | target P(w)^a/Z | exact sampler | viterbi sampler |")
    print("|---|---|---|---|---|")
    summary = []
    for alpha in [float(a) for a in args.alphas.split(",")]:
        goal = target(segs, tok, alpha)
        freq = {}
        for sampler in ("exact", "viterbi"):
            samples = tok.tokenize_batch([text] * args.draws, alpha, sampler=sampler, seed=12345)
            c = Counter(tuple(s) for s in samples)
            freq[sampler] = {w: n / args.draws for w, n in c.items()}
        for w in sorted(goal, key=goal.get, reverse=True)[:args.top]:
            shown = " / ".join(p.decode("utf-8", errors="backslashreplace") for p in w)
            print(f"| {alpha:g} | {shown} | {goal[w]:.3f} | {freq['exact'].get(w, 0):.3f} | "
                  f"{freq['viterbi'].get(w, 0):.3f} |")
        tv = {s: 0.5 * sum(abs(freq[s].get(w, 0) - goal[w]) for w in goal) for s in freq}
        summary.append((alpha, tv["exact"], tv["viterbi"]))
    print("\n| alpha | TV(exact sampler, target) | TV(viterbi sampler, target) |")
    print("|---|---|---|")
    for alpha, a, b in summary:
        print(f"| {alpha:g} | {a:.3f} | {b:.3f} |")


if __name__ == "__main__":
    main()
