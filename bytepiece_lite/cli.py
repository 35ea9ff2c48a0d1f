"""The ``bytepiece-lite`` command line.

User mistakes (a missing file, a malformed model, a bad option) end in one clear line on
stderr and exit code 2, never a traceback: ``bytepiece-lite: error: <what>; see --help`` for
the options, ``bytepiece-lite <command>: error: <what>`` for everything found later.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Sequence

from .model import ModelError
from .tokenizer import DEFAULT_MODEL_PATH, Tokenizer


def _tokenizer(args: argparse.Namespace) -> Tokenizer:
    extra = getattr(args, "special_token", None)
    if args.model is None and not extra:
        return Tokenizer.default()
    if args.model is None:
        return Tokenizer(Tokenizer.default().pieces(), special_tokens=extra)
    return Tokenizer(args.model, special_tokens=extra)


def _allowed(args: argparse.Namespace):
    """--allowed-special: "all", or the tokens named (the default: none)."""
    names = getattr(args, "allowed_special", None) or []
    return "all" if names == ["all"] else frozenset(names)


DESCRIPTION = ("bytepiece-lite: a fast byte-level Unigram tokenizer. Without --model the "
               "embedded default model is used.")


def _stdin(what: str) -> str:
    """Standard input, when it is not a terminal (nor closed): else say what is missing."""
    stream = sys.stdin
    if stream is None or stream.closed or stream.isatty():
        raise ValueError(f"give {what}, or pipe it on standard input")
    return stream.read()


def _text_arg(args: argparse.Namespace) -> str:
    if args.text is not None:
        return args.text
    return _stdin("a TEXT" + (" or --input FILE..." if args.command == "encode" else ""))


def _check_inputs(paths: Sequence[str]) -> None:
    """Each input must be a readable regular file; say what it is when it is not."""
    import stat

    for path in paths:
        try:
            mode = os.stat(path).st_mode
        except FileNotFoundError:
            raise ValueError(f"input file {path!r} does not exist") from None
        except OSError as exc:
            raise ValueError(f"input file {path!r}: {exc.strerror}") from None
        if stat.S_ISDIR(mode):
            raise ValueError(f"input {path!r} is a directory; give the text files in it")
        if not stat.S_ISREG(mode):
            raise ValueError(f"input {path!r} is not a regular file")


def _sampling(args: argparse.Namespace) -> dict:
    return {"sampler": args.sampler, "seed": args.seed, "allowed_special": _allowed(args)}


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
        _check_inputs(args.input)
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
        words = args.ids if args.ids else _stdin("IDS or --input FILE").split()
        try:
            ids = [int(w) for w in words]
        except ValueError as exc:
            raise ValueError(f"ids must be integers: {exc}") from None
    sys.stdout.write(tok.decode(ids))
    sys.stdout.write("\n")


NPY_MAGIC = b"\x93NUMPY"


def _read_ids(path: str):
    """Ids from a .npy file, or a .bin file with its .bin.json sidecar, as `encode --input`
    writes them (see bytepiece_lite.corpus)."""
    import numpy as np

    expected = ("an ids file is OUT.npy or OUT.bin (with its OUT.bin.json sidecar) as "
                "'bytepiece-lite encode --input ... --output OUT' writes")
    try:
        with open(path, "rb") as f:
            head = f.read(len(NPY_MAGIC))
    except IsADirectoryError:
        raise ValueError(f"{path} is a directory, not an ids file; {expected}") from None
    if path.endswith(".npy") or head == NPY_MAGIC:
        if head != NPY_MAGIC:
            raise ValueError(f"{path} is not a .npy file (no numpy header); {expected}")
        ids = np.load(path, mmap_mode="r")
    elif path.endswith(".bin"):
        sidecar = path + ".json"
        try:
            with open(sidecar, encoding="utf-8") as f:
                dtype = json.load(f)["dtype"]
            dtype = np.dtype(dtype).newbyteorder("<")
        except FileNotFoundError:
            raise ValueError(f"{path} has no sidecar {sidecar} saying its dtype; {expected}") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{sidecar} is not the sidecar of an ids file ({exc!r}); {expected}") from None
        ids = np.fromfile(path, dtype=dtype)
    else:
        raise ValueError(f"{path} is not an ids file; {expected}")
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
    if args.model is None:
        # What the embedded model costs a wheel: its zip, as shipped.
        info["model"] = "embedded default"
        info["model_file_bytes"] = os.path.getsize(DEFAULT_MODEL_PATH)
    else:
        info["model"] = args.model
        info["model_file_bytes"] = os.path.getsize(args.model)
    if args.measure:
        _check_inputs(args.measure)
        info["bytes_per_token"] = {path: _bytes_per_token(tok, path) for path in args.measure}
    print(json.dumps(info, indent=2, ensure_ascii=False))


def _bytes_per_token(tok: Tokenizer, path: str) -> float:
    """UTF-8 bytes per token over the lines of `path`, each encoded on its own without its
    newline (as benchmarks/compression.py measures): higher is better."""
    with open(path, encoding="utf-8") as f:
        lines = [ln.rstrip("\n") for ln in f if ln.strip()]
    if not lines:
        raise ValueError(f"{path} has no text to measure")
    tokens = sum(len(ids) for ids in tok.encode_batch(lines))
    return round(sum(len(ln.encode("utf-8")) for ln in lines) / tokens, 3)


def cmd_train(args: argparse.Namespace) -> None:
    from pathlib import Path

    from .trainer import Trainer

    sizes = args.vocab_size if len(args.vocab_size) > 1 else args.vocab_size[0]
    trainer = Trainer(order=args.order, max_vocab_size=sizes, max_piece_length=args.max_piece_length,
                      min_count=args.min_count, isolate_digits=args.isolate_digits,
                      ensure_unicode=not args.no_ensure_unicode)
    _check_inputs(args.input)
    if args.weights is not None and len(args.weights) != len(args.input):
        raise ValueError(f"--weights gives {len(args.weights)} weights for {len(args.input)} "
                         "input files (one each)")
    paths = [Path(f) for f in args.input]
    trainer.train(paths, weights=args.weights, workers=args.workers, progress=not args.quiet)
    for path in trainer.save(args.output):
        print(path)


def _is_utf8(p: bytes) -> bool:
    try:
        p.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class _Parser(argparse.ArgumentParser):
    """argparse's parser with its errors on one line: ``<prog>: error: <message>; see --help``
    (argparse prints the whole usage first), exit code 2."""

    def error(self, message: str):
        hint = "--help" if " " not in self.prog else f"{self.prog} --help"
        self.exit(2, f"{self.prog}: error: {message}; see {hint}\n")


def _parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = _Parser(prog="bytepiece-lite", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"bytepiece-lite {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser, sampling: bool) -> None:
        p.add_argument("--model", "-m", help="model file (.model/.json/.zip); default: the embedded model")
        if sampling:
            p.add_argument("--alpha", type=float, default=None, help="sample a segmentation (alpha > 0)")
            p.add_argument("--sampler", choices=["viterbi", "exact"], default="viterbi")
            p.add_argument("--seed", type=int, default=None, help="make sampling reproducible")
            p.add_argument("--special-token", action="append", metavar="TOKEN",
                           help="add a special token (after the model's own; repeatable)")
            p.add_argument("--allowed-special", action="append", metavar="TOKEN",
                           help="a special token to match in the text (repeatable), or 'all'; "
                                "by default special-token text is ordinary text")

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
    p.add_argument("--output", "-o", help="OUT.npy or OUT.bin, plus a sidecar OUT.npy.json / OUT.bin.json")
    p.add_argument("--threads", type=int, default=None, help="threads (default: all cores)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress output")
    common(p, True)
    p.set_defaults(func=cmd_encode)

    p = sub.add_parser("decode", help="turn ids back into text")
    p.add_argument("ids", nargs="*", help="ids (default: whitespace-separated on standard input)")
    p.add_argument("--input", "-i", metavar="FILE", help="ids from OUT.npy or OUT.bin (with OUT.bin.json) written by encode --input")
    common(p, False)
    p.set_defaults(func=cmd_decode)

    p = sub.add_parser("info", help="vocabulary statistics, and compression on text files")
    p.add_argument("--measure", nargs="+", metavar="FILE",
                   help="also print bytes per token on these files (one text per line)")
    common(p, False)
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("train", help="train a model on text files (one text per line)")
    p.add_argument("--input", "-i", nargs="+", required=True, metavar="FILE", help="UTF-8 text files")
    p.add_argument("--weights", type=int, nargs="+", metavar="W",
                   help="a positive weight per input file: its pieces count W times (default 1 each)")
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
        print(f"bytepiece-lite {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


def _one_line(exc: BaseException) -> str:
    """The message of `exc` on one line; an OSError as ``<path>: <what the OS said>``."""
    if isinstance(exc, OSError) and not isinstance(exc, ModelError) and exc.strerror:
        names = [n for n in (exc.filename, exc.filename2) if n is not None]
        text = f"{' -> '.join(map(str, names))}: {exc.strerror}" if names else exc.strerror
    else:
        text = str(exc)
    return " ".join(text.split("\n"))


if __name__ == "__main__":
    sys.exit(main())
