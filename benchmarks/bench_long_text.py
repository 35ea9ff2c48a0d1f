"""One long text on all cores: 1 thread against N, the same text in the same run.

    python benchmarks/bench_long_text.py --model M.zip --corpus FILE... [--mb 20]
        [--threads 2] [--rounds 7] [--sizes]

The corpus files (one language per run, say) are joined and repeated up to --mb MB of UTF-8.
Each round times every call once on 1 thread and once on --threads, alternating, so that a
change in the machine's speed hits both; the figure is the median of the rounds' ratios
with their range.  --sizes also times prefixes of the text from 64 KB to 4 MB (the default
num_threads=None against 1 thread), to show where threads start to pay.
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from bytepiece_lite import Tokenizer


def seconds(call) -> float:
    t0 = time.perf_counter()
    call()
    return time.perf_counter() - t0


def text_of(files: list[str], megabytes: float) -> str:
    base = "".join(Path(f).read_text(encoding="utf-8") for f in files)
    per_char = len(base.encode("utf-8")) / len(base)
    return (base * int(megabytes * 1e6 / len(base.encode("utf-8")) + 1))[: int(megabytes * 1e6 / per_char)]


def compare(calls: dict, threads: int, rounds: int, size: int) -> None:
    for name, call in calls.items():
        call(threads)                           # warm-up: the pool, the page cache
        ratios, one, many = [], [], []
        for _ in range(rounds):
            a = seconds(lambda: call(1))
            b = seconds(lambda: call(threads))
            one.append(a)
            many.append(b)
            ratios.append(a / b)
        print(f"  {name:28s} 1 thread {size / min(one) / 1e6:6.1f} MB/s   {threads} threads "
              f"{size / min(many) / 1e6:6.1f} MB/s   x{statistics.median(ratios):.2f} "
              f"({min(ratios):.2f}-{max(ratios):.2f})")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--corpus", nargs="+", required=True)
    ap.add_argument("--mb", type=float, default=20.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--sizes", action="store_true")
    args = ap.parse_args(argv)
    tok = Tokenizer(args.model)
    text = text_of(args.corpus, args.mb)
    data = text.encode("utf-8")
    print(f"{len(data) / 1e6:.1f} MB ({len(text)} characters) from {', '.join(args.corpus)}")
    compare({
        "encode(str)": lambda k: tok.encode(text, num_threads=k),
        "encode_to_numpy(str)": lambda k: tok.encode_to_numpy(text, num_threads=k),
        "encode_to_numpy(bytes)": lambda k: tok.encode_to_numpy(data, num_threads=k),
        "tokenize(str, alpha=0.1)": lambda k: tok.tokenize(text, alpha=0.1, seed=1, num_threads=k),
        "encode(str, alpha=0.1, exact)": lambda k: tok.encode(text, alpha=0.1, sampler="exact",
                                                              seed=1, num_threads=k),
    }, args.threads, args.rounds, len(data))
    if args.sizes:
        print("encode(str) of a prefix, default threads against 1:")
        size = 1 << 16
        while size <= 1 << 22:
            part = data[:size].decode("utf-8", "ignore")
            ratios = []
            for _ in range(args.rounds):
                a = min(seconds(lambda: tok.encode(part, num_threads=1)) for _ in range(3))
                b = min(seconds(lambda: tok.encode(part, num_threads=args.threads)) for _ in range(3))
                ratios.append(a / b)
            print(f"  {size >> 10:5d} KB  {args.threads} threads x{statistics.median(ratios):.2f} "
                  f"({min(ratios):.2f}-{max(ratios):.2f})")
            size *= 2


if __name__ == "__main__":
    main()
