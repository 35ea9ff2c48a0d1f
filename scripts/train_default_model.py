#!/usr/bin/env python3
"""Train the embedded default model on the corpus that ``build_default_corpus.py`` writes.

    python scripts/train_default_model.py CORPUS_DIR bytepiece_lite/data/default.model.zip

Every ``CORPUS_DIR/train/<category>.txt`` is one weighted part of the training corpus
(``Trainer.train(..., weights=...)``): a weight scales the counts of the pieces the n-gram
model cuts in that part, so it sets how much of the vocabulary the part gets, while the n-gram
model is learnt from the text as it is.  The weights below were chosen by compression on the
held-out lines (``benchmarks/compression.py``): English prose needs most of a 40,000-piece
vocabulary to come near a model trained on gigabytes of web text, while Chinese, Japanese,
the European languages and code keep well ahead of upstream's published models at weight 1.
A category not listed has weight 1.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bytepiece_lite import model as _model
from bytepiece_lite.trainer import Trainer

VOCAB_SIZE = 40_000          # ids fit uint16
# A high min_count keeps the once-seen strings of the heavy parts out of the n-gram model and
# the pieces (on the held-out lines English rose from 0.94 to 0.99 of bytepiece.plus.40k
# between min_count 2 and 32 at these weights, Chinese from 0.94 to 1.16; 48 gained nothing).
MIN_COUNT = 32
WEIGHTS = {
    "en_prose": 16, "en_wiki": 16, "en_news": 16, "en_fiction": 16,
    "en_bible": 8, "en_drama": 8, "en_dict": 4, "en_tech": 2,
    "zh": 5, "zh_news": 5, "zh_fiction": 5, "zh_reviews": 5, "zh_classical": 5,
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("corpus", type=Path, help="the output folder of build_default_corpus.py")
    ap.add_argument("output", help="model path (.zip: zipped, as the package ships it)")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    files = sorted((args.corpus / "train").glob("*.txt"))
    if not files:
        ap.error(f"{args.corpus / 'train'} holds no .txt files: run build_default_corpus.py first")
    weights = [WEIGHTS.get(f.stem, 1) for f in files]
    for f, w in zip(files, weights):
        print(f"{f.stem:20s} weight {w}", file=sys.stderr)
    trainer = Trainer(max_vocab_size=VOCAB_SIZE, min_count=MIN_COUNT)
    trainer.train(files, weights=weights, workers=args.workers)
    _model.save(trainer.models[VOCAB_SIZE], args.output)
    print(args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
