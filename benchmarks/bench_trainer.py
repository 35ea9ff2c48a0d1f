"""Trainer benchmark: wall time per phase and peak memory, and how both grow with the corpus.

    python benchmarks/bench_trainer.py --corpus FILE... [--vocab-size 32000] [--workers 2]
        [--scales 1,7,28] [--upstream-python PATH] [--json OUT.json]

Each run trains in a fresh process.  A scale of S MB takes the first S MB of the corpus
files' lines (repeating them when the corpus is smaller: the repeats are said in the
output, since repeated text adds no new n-grams).  Peak memory is reported both for the main
process and summed over the process tree as PSS (sampled every 20 ms; PSS splits the pages
that forked workers share copy-on-write with the main process among them, where a sum of RSS
would count them once per process).
``--upstream-python`` runs upstream bytepiece 0.6.3's trainer from another environment
(where it is installed) on the same text, for the ratio.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

_OURS = r"""
import json, resource, sys, time
from pathlib import Path
from bytepiece_lite.trainer import Trainer
corpus, size, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
t = Trainer(max_vocab_size=size, min_count=2)
t0 = time.perf_counter()
t.train(Path(corpus), workers=workers, progress=False)
wall = time.perf_counter() - t0
print(json.dumps({"wall": wall, "phases": t.phase_seconds,
                  "pieces": len(t.models[size].pieces),
                  "main_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

_UPSTREAM = r"""
import json, resource, sys, time
from bytepiece import Trainer
corpus, size, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
class Lines:
    def __iter__(self):
        with open(corpus, encoding="utf-8", newline="") as f:
            yield from f
t = Trainer(order=6, max_vocab_size=size, min_count=2)
t0 = time.perf_counter()
t.train(Lines(), workers=workers)
wall = time.perf_counter() - t0
print(json.dumps({"wall": wall, "pieces": len(t.pieces[0]),
                  "main_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _tree_pss_mb(pid: int) -> float:
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                total += next(int(line.split()[1]) for line in f if line.startswith("Pss:"))
            with open(f"/proc/{p}/task/{p}/children") as f:
                stack += [int(x) for x in f.read().split()]
        except (OSError, StopIteration):
            pass
    return total / 1024


def run(python: str, script: str, args: list[str]) -> dict:
    """Run `script` in a fresh interpreter; its JSON line plus the process tree's peak PSS."""
    # cwd elsewhere: from a source checkout, "-c" would import the uncompiled sources
    proc = subprocess.Popen([python, "-c", script, *args], stdout=subprocess.PIPE, text=True,
                            stderr=subprocess.DEVNULL, cwd=tempfile.gettempdir())
    peak = 0.0
    while proc.poll() is None:
        if os.path.exists("/proc"):
            peak = max(peak, _tree_pss_mb(proc.pid))
        time.sleep(0.02)
    out = proc.stdout.read()
    if proc.returncode != 0:
        raise RuntimeError(f"{python} failed (exit {proc.returncode})")
    result = json.loads(out.strip().splitlines()[-1])
    result["tree_pss_peak_mb"] = round(peak, 1)
    return result


def make_corpus(files: list[str], megabytes: float, folder: str) -> tuple[str, int]:
    """The first `megabytes` of the files' lines, repeated if needed; returns (path, repeats)."""
    target = int(megabytes * 1e6)
    lines: list[bytes] = []
    for name in files:
        with open(name, "rb") as f:
            lines.extend(f.readlines())
    path = os.path.join(folder, f"corpus_{megabytes:g}MB.txt")
    written, repeats = 0, 0
    with open(path, "wb") as out:
        while written < target:
            repeats += 1
            for line in lines:
                out.write(line)
                written += len(line)
                if written >= target:
                    break
    return path, repeats - 1


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", nargs="+", required=True)
    ap.add_argument("--vocab-size", type=int, default=32000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--scales", default="1,7,28", help="corpus sizes in MB, comma-separated")
    ap.add_argument("--upstream-python", help="python of an environment with bytepiece 0.6.3")
    ap.add_argument("--upstream-scales", default="7", help="scales to run upstream on (slow)")
    ap.add_argument("--json", help="write the results here too")
    args = ap.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for mb in [float(s) for s in args.scales.split(",")]:
            path, repeats = make_corpus(args.corpus, mb, tmp)
            row = {"system": "bytepiece-lite", "corpus_mb": mb, "repeats": repeats,
                   **run(sys.executable, _OURS, [path, str(args.vocab_size), str(args.workers)])}
            results.append(row)
            print(json.dumps(row), flush=True)
            if args.upstream_python and str(int(mb) if mb.is_integer() else mb) in args.upstream_scales.split(","):
                row = {"system": "bytepiece 0.6.3", "corpus_mb": mb, "repeats": repeats,
                       **run(args.upstream_python, _UPSTREAM, [path, str(args.vocab_size), str(args.workers)])}
                results.append(row)
                print(json.dumps(row), flush=True)
    print("\n| system | corpus MB | wall s | main peak MB | tree peak PSS MB | phases (s) |")
    print("|---|---|---|---|---|---|")
    for r in results:
        phases = ", ".join(f"{k} {v:.2f}" for k, v in r.get("phases", {}).items())
        print(f"| {r['system']} | {r['corpus_mb']:g}{' (repeated)' if r['repeats'] else ''} | "
              f"{r['wall']:.2f} | {r['main_peak_mb']:.0f} | {r['tree_pss_peak_mb']:.0f} | {phases} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"vocab_size": args.vocab_size, "workers": args.workers, "results": results}, f, indent=2)


if __name__ == "__main__":
    main()
