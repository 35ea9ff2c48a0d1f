"""transformers tokenizers on the same text: our BytePieceTokenizer (bytepiece_lite.hf) against
the tokenizers-backed PreTrainedTokenizerFast loaded from our own tokenizer.json export (which
gives the same ids; checked here before timing).

    python benchmarks/bench_hf.py --model M.zip --corpus FILE... [--lines 10000]
        [--long-bytes 1000000] [--repeats 7] [--threads N]

Per file: `tok(lines)` on its first --lines lines (a batch: lists of input_ids and
attention_mask), `tok(lines, padding=True, return_tensors="np")`, and `tok(text)` on one text
of the file's first --long-bytes bytes.  MB/s (UTF-8 bytes in) of --repeats runs, each after an
untimed one, interleaved between the systems, as median and best.
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--corpus", nargs="+", required=True)
    ap.add_argument("--lines", type=int, default=10000)
    ap.add_argument("--long-bytes", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--threads", type=int, default=None, help="our thread pool (default: all cores)")
    args = ap.parse_args(argv)

    from transformers import AutoTokenizer

    from bytepiece_lite import Tokenizer
    from bytepiece_lite.hf import BytePieceTokenizer

    core = Tokenizer(args.model)
    ours = BytePieceTokenizer.from_tokenizer(core, num_threads=args.threads)
    with tempfile.TemporaryDirectory() as d:
        core.save_pretrained(d)
        theirs = AutoTokenizer.from_pretrained(d)
    systems = {"BytePieceTokenizer": ours, f"{type(theirs).__name__} (tokenizers)": theirs}
    cases = {
        "tok(lines)": lambda tok, lines, text: tok(lines),
        "tok(lines, padding, np)": lambda tok, lines, text: tok(lines, padding=True, return_tensors="np"),
        "tok(long text)": lambda tok, lines, text: tok(text),
    }
    print(f"model {os.path.basename(args.model)}, {args.repeats} repeats, ours on "
          f"{args.threads or 'all'} threads ({os.cpu_count()} cores)")
    print("| file | case | system | MB/s median / best | vs tokenizers (median) |")
    print("|---|---|---|---|---|")
    for path in args.corpus:
        with open(path, encoding="utf-8") as f:
            lines = [line for _, line in zip(range(args.lines), f)]
        with open(path, "rb") as f:
            text = f.read(args.long_bytes).decode("utf-8", errors="ignore")
        sizes = {"tok(lines)": sum(len(x.encode()) for x in lines), "tok(long text)": len(text.encode())}
        sizes["tok(lines, padding, np)"] = sizes["tok(lines)"]
        a, b = (tok(lines)["input_ids"] for tok in systems.values())
        assert a == b, f"{path}: the two tokenizers disagree"
        assert ours(text)["input_ids"] == theirs(text)["input_ids"]
        times: dict[tuple[str, str], list[float]] = {}
        for _ in range(args.repeats):
            for case, fn in cases.items():
                for name, tok in systems.items():
                    fn(tok, lines, text)
                    t0 = time.perf_counter()
                    fn(tok, lines, text)
                    times.setdefault((case, name), []).append(time.perf_counter() - t0)
        ref = list(systems)[1]
        for case in cases:
            med = {name: sizes[case] / statistics.median(times[(case, name)]) / 1e6 for name in systems}
            for name in systems:
                best = sizes[case] / min(times[(case, name)]) / 1e6
                print(f"| {os.path.basename(path)} | {case} | {name} | {med[name]:.1f} / {best:.1f} | "
                      f"{med[name] / med[ref]:.2f}x |")

if __name__ == "__main__":
    main()
