"""The ``bytepiece-lite`` command line.

User mistakes (a missing file, a malformed model, a bad option) end in one clear line on
stderr and exit code 2, never a traceback.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Sequence

from .model import ModelError
from .tokenizer import Tokenizer


def _tokenizer(args: argparse.Namespace) -> Tokenizer:
    if args.model is None:
        return Tokenizer.default()
    return Tokenizer(args.model)


def _text_arg(args: argparse.Namespace) -> str:
    if args.text is not None:
        return args.text
    return sys.stdin.read()


def _sampling(args: argparse.Namespace) -> dict:
    return {"sampler": args.sampler, "seed": args.seed}


def cmd_tokenize(args: argparse.Namespace) -> None:
    tok = _tokenizer(args)
    pieces = tok.tokenize(_text_arg(args), args.alpha, **_sampling(args))
    if args.json:
        print(json.dumps([p.decode("utf-8", errors="backslashreplace") for p in pieces], ensure_ascii=False))
    else:
        # Pieces that are not whole UTF-8 characters show their bytes escaped.
        print(" | ".join(p.decode("utf-8", errors="backslashreplace").replace("\n", "\\n") for p in pieces))


def cmd_encode(args: argparse.Namespace) -> None:
    tok = _tokenizer(args)
    if args.input:
        if args.text is not None:
            raise ValueError("give a TEXT or --input files, not both")
        if args.output is None:
            raise ValueError("--input needs --output OUT.npy or OUT.bin")
        info = tok.encode_files(args.input, args.output, alpha=args.alpha, num_threads=args.threads,
                                add_bos=args.add_bos, add_eos=args.add_eos, progress=not args.quiet,
                                **_sampling(args))
        print(f"{args.output}: {info['tokens']} {info['dtype']} ids from {len(args.input)} file(s)")
        return
    if args.output is not None:
        raise ValueError("--output is for corpus mode (--input FILE...)")
    ids = tok.encode(_text_arg(args), args.alpha, add_bos=args.add_bos, add_eos=args.add_eos,
                     **_sampling(args))
    print(" ".join(map(str, ids)))


def cmd_decode(args: argparse.Namespace) -> None:
    tok = _tokenizer(args)
    if args.input is not None:
        if args.ids:
            raise ValueError("give IDS or --input, not both")
        ids = _read_ids(args.input)
    else:
        words = args.ids if args.ids else sys.stdin.read().split()
        try:
            ids = [int(w) for w in words]
        except ValueError as exc:
            raise ValueError(f"ids must be integers: {exc}") from None
    sys.stdout.write(tok.decode(ids))
    sys.stdout.write("\n")


def _read_ids(path: str):
    """Ids from a .npy file, or a .bin file with its .json sidecar (see bytepiece_lite.corpus)."""
    import numpy as np

    if path.endswith(".npy"):
        ids = np.load(path, mmap_mode="r")
    else:
        with open(path + ".json", encoding="utf-8") as f:
            dtype = json.load(f)["dtype"]
        ids = np.fromfile(path, dtype=np.dtype(dtype).newbyteorder("<"))
    if ids.ndim != 1 or ids.dtype.kind not in "iu":
        raise ValueError(f"{path} does not hold a 1-d array of integer ids")
    return ids


def cmd_info(args: argparse.Namespace) -> None:
    tok = _tokenizer(args)
    pieces = tok.pieces()
    lengths = sorted(len(p) for p in pieces)
    multi = [p for p in pieces if len(p) > 1]
    utf8 = sum(1 for p in multi if _is_utf8(p))
    info = {
        "vocab_size": tok.vocab_size,
        "pieces": len(pieces),
        "total_count": sum(pieces.values()),
        "piece_length": {"max": lengths[-1], "median": lengths[len(lengths) // 2],
                         "mean": round(sum(lengths) / len(lengths), 2)},
        "multi_byte_pieces_valid_utf8": f"{utf8}/{len(multi)}",
    }
    print(json.dumps(info, indent=2, ensure_ascii=False))


def cmd_train(args: argparse.Namespace) -> None:
    from pathlib import Path

    from .trainer import Trainer

    sizes = args.vocab_size if len(args.vocab_size) > 1 else args.vocab_size[0]
    trainer = Trainer(order=args.order, max_vocab_size=sizes, max_piece_length=args.max_piece_length,
                      min_count=args.min_count, isolate_digits=args.isolate_digits,
                      ensure_unicode=not args.no_ensure_unicode)
    trainer.train([Path(f) for f in args.input], workers=args.workers, progress=not args.quiet)
    for path in trainer.save(args.output):
        print(path)


def _is_utf8(p: bytes) -> bool:
    try:
        p.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bytepiece-lite", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser, sampling: bool) -> None:
        p.add_argument("--model", "-m", help="model file (.model/.json/.zip); default: the embedded model")
        if sampling:
            p.add_argument("--alpha", type=float, default=None, help="sample a segmentation (alpha > 0)")
            p.add_argument("--sampler", choices=["viterbi", "exact"], default="viterbi")
            p.add_argument("--seed", type=int, default=None, help="make sampling reproducible")

    p = sub.add_parser("tokenize", help="show the pieces of a text")
    p.add_argument("text", nargs="?", help="text (default: standard input)")
    p.add_argument("--json", action="store_true", help="print a JSON list")
    common(p, True)
    p.set_defaults(func=cmd_tokenize)

    p = sub.add_parser("encode", help="print the ids of a text, or encode files to .npy/.bin")
    p.add_argument("text", nargs="?", help="text (default: standard input)")
    p.add_argument("--add-bos", action="store_true")
    p.add_argument("--add-eos", action="store_true")
    p.add_argument("--input", "-i", nargs="+", metavar="FILE",
                   help="corpus mode: encode these files (each one document) into --output")
    p.add_argument("--output", "-o", help="OUT.npy or OUT.bin (with an OUT.json sidecar)")
    p.add_argument("--threads", type=int, default=None, help="threads (default: all cores)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress output")
    common(p, True)
    p.set_defaults(func=cmd_encode)

    p = sub.add_parser("decode", help="turn ids back into text")
    p.add_argument("ids", nargs="*", help="ids (default: whitespace-separated on standard input)")
    p.add_argument("--input", "-i", metavar="FILE", help="ids from a .npy or .bin file written by encode")
    common(p, False)
    p.set_defaults(func=cmd_decode)

    p = sub.add_parser("info", help="vocabulary statistics")
    common(p, False)
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("train", help="train a model on text files (one text per line)")
    p.add_argument("--input", "-i", nargs="+", required=True, metavar="FILE", help="UTF-8 text files")
    p.add_argument("--vocab-size", type=int, nargs="+", required=True, metavar="N",
                   help="vocabulary size; several give OUTPUT.<N> each")
    p.add_argument("--output", "-o", required=True, help="model path (.model, or .zip to zip it)")
    p.add_argument("--workers", type=int, default=1, help="processes (default 1)")
    p.add_argument("--order", type=int, default=6)
    p.add_argument("--max-piece-length", type=int, default=36)
    p.add_argument("--min-count", type=int, default=2)
    p.add_argument("--isolate-digits", action="store_true")
    p.add_argument("--no-ensure-unicode", action="store_true",
                   help="let pieces start inside a UTF-8 character")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress output")
    p.set_defaults(func=cmd_train)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        args.func(args)
    except BrokenPipeError:
        # The reader went away (`... | head`): not an error; keep Python from complaining
        # again when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (OSError, ModelError, ValueError, TypeError, KeyError) as exc:
        print(f"bytepiece-lite {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
