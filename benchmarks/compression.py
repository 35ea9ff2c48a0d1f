"""Compression (UTF-8 bytes per token) of models on held-out text, per category.

    python benchmarks/compression.py --heldout DIR [--model NAME=PATH ...] [--json OUT]

`DIR` holds one UTF-8 file per category, one text per line (``scripts/build_default_corpus.py``
writes such a folder as ``OUT/heldout``); a file argument instead of a folder is one
category. Each line is encoded on its own, without its newline, by deterministic
segmentation; a category's figure is its total UTF-8 bytes divided by its total tokens, so
higher is better. Without `--model` it compares the embedded default with upstream's
published models where ``../shared/models`` has them. Prints a markdown table (rows:
categories, then all lines together; columns: models).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bytepiece_lite import Tokenizer

HERE = Path(__file__).resolve().parent
UPSTREAM = {
    "bytepiece.plus.40k": HERE.parent.parent / "shared" / "models" / "bytepiece.plus.40k.zip",
    "bytepiece_80k": HERE.parent.parent / "shared" / "models" / "bytepiece_80k.zip",
}


def read_lines(path: Path, limit: int | None = None) -> list[str]:
    with open(path, encoding="utf-8") as fh:
        lines = [ln.rstrip("\n") for ln in fh]
    lines = [ln for ln in lines if ln]
    return lines[:limit] if limit else lines


def categories(heldout: list[Path], limit: int | None) -> dict[str, list[str]]:
    cats: dict[str, list[str]] = {}
    for p in heldout:
        files = sorted(p.glob("*.txt")) if p.is_dir() else [p]
        for f in files:
            cats[f.stem] = read_lines(f, limit)
    return cats


def bytes_per_token(tok: Tokenizer, lines: list[str], threads: int = 2) -> tuple[int, int]:
    nbytes = sum(len(ln.encode("utf-8")) for ln in lines)
    ids = tok.encode_batch(lines, num_threads=threads)
    return nbytes, sum(len(x) for x in ids)


def measure(models: dict[str, Tokenizer], cats: dict[str, list[str]], threads: int = 2) -> dict:
    table: dict[str, dict[str, float]] = {}
    for name, tok in models.items():
        row: dict[str, float] = {}
        tb = tt = 0
        for cat, lines in cats.items():
            b, t = bytes_per_token(tok, lines, threads)
            row[cat] = b / t if t else float("nan")
            tb += b
            tt += t
        row["all"] = tb / tt if tt else float("nan")
        table[name] = row
    return table


def markdown(table: dict, cats: dict[str, list[str]], ratio_to: str | None = None) -> str:
    names = list(table)
    head = "| held-out text | KB | " + " | ".join(names) + " |"
    if ratio_to and ratio_to in table:
        others = [n for n in names if n != ratio_to]
        head += "".join(f" {n} / {ratio_to} |" for n in others)
    out = [head, "|" + "---|" * (head.count("|") - 1)]
    rows = list(cats) + ["all"]
    for cat in rows:
        kb = sum(len(x.encode()) for x in cats[cat]) // 1000 if cat in cats else \
            sum(len(x.encode()) for v in cats.values() for x in v) // 1000
        line = f"| {cat} | {kb} | " + " | ".join(f"{table[n][cat]:.2f}" for n in names) + " |"
        if ratio_to and ratio_to in table:
            line += "".join(f" {table[n][cat] / table[ratio_to][cat]:.3f} |" for n in names if n != ratio_to)
        out.append(line)
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--heldout", type=Path, nargs="+", required=True,
                    help="folder(s) of <category>.txt files, or single files")
    ap.add_argument("--model", action="append", default=[],
                    help="NAME=PATH (repeatable); 'default' names the embedded model")
    ap.add_argument("--limit", type=int, help="at most this many lines per category")
    ap.add_argument("--ratio-to", default="bytepiece.plus.40k",
                    help="add columns of each model's figure over this model's (if present)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args(argv)
    specs = args.model or ["default=default"] + [f"{k}={v}" for k, v in UPSTREAM.items() if v.exists()]
    models = {}
    for spec in specs:
        name, _, path = spec.partition("=")
        path = path or name
        models[name] = Tokenizer.default() if path == "default" else Tokenizer(path)
    cats = categories(args.heldout, args.limit)
    if not cats:
        print("no held-out files found", file=sys.stderr)
        return 2
    table = measure(models, cats, args.threads)
    print(markdown(table, cats, args.ratio_to))
    if args.json:
        args.json.write_text(json.dumps(table, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
