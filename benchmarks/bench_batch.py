"""Batch encoding on 1 and N threads: a batch of lines through encode_batch_flat / encode_batch,
and SentencePiece's own batch encode when it is installed.

    python benchmarks/bench_batch.py --corpus FILE... [--model M] [--spm-model S.model]
        [--lines 10000] [--threads 2] [--repeats 15]

Per file: the first --lines lines; MB/s of --repeats runs (each after an untimed one, as the
previous system's run left the caches full of its own data), interleaved so that a noisy
machine affects every configuration alike, as median and best (the run that a busy neighbour
of a virtual machine disturbed least); and the speedup of N threads over one.
"""
from __future__ import annotations

import argparse
import statistics
import time

from bytepiece_lite import Tokenizer


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", nargs="+", required=True)
    ap.add_argument("--model", help="our model (default: the embedded one)")
    ap.add_argument("--spm-model", help="a SentencePiece model to compare with")
    ap.add_argument("--lines", type=int, default=10000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=15)
    args = ap.parse_args(argv)
    tok = Tokenizer(args.model) if args.model else Tokenizer.default()
    systems = {
        "encode_batch_flat": lambda lines, k: tok.encode_batch_flat(lines, num_threads=k),
        "encode_batch": lambda lines, k: tok.encode_batch(lines, num_threads=k),
    }
    if args.spm_model:
        import sentencepiece as spm

        sp = spm.SentencePieceProcessor(model_file=args.spm_model)
        systems["SentencePiece encode(list)"] = lambda lines, k: sp.encode(lines, num_threads=k)
    print("| file | system | 1 thread MB/s | %d threads MB/s | speedup |" % args.threads)
    print("|---|---|---|---|---|")
    print("| | | median / best | median / best | median / best |")
    for path in args.corpus:
        with open(path, encoding="utf-8") as f:
            lines = [line for _, line in zip(range(args.lines), f)]
        size = sum(len(line.encode("utf-8")) for line in lines)
        times: dict[tuple[str, int], list[float]] = {}
        for _ in range(args.repeats):
            for name, fn in systems.items():
                for k in (1, args.threads):
                    # untimed first (see above)
                    fn(lines, k)
                    t0 = time.perf_counter()
                    fn(lines, k)
                    times.setdefault((name, k), []).append(time.perf_counter() - t0)
        for name in systems:
            one = [size / stat(times[(name, 1)]) / 1e6 for stat in (statistics.median, min)]
            many = [size / stat(times[(name, args.threads)]) / 1e6 for stat in (statistics.median, min)]
            print(f"| {path.rsplit('/', 1)[-1]} | {name} | {one[0]:.1f} / {one[1]:.1f} | "
                  f"{many[0]:.1f} / {many[1]:.1f} | {many[0] / one[0]:.2f}x / {many[1] / one[1]:.2f}x |")


if __name__ == "__main__":
    main()
