"""Train a vocabulary with upstream bytepiece's byte n-gram algorithm (docs/semantics.md,
"Training").

The output is identical to upstream bytepiece 0.6.3's ``Trainer`` for the same corpus and
parameters.  The algorithm reads as upstream's does; its inner loops run vectorized (n-gram
counting: numpy over n-grams packed into uint64) or compiled (the n-gram model's Viterbi and
the re-segmentation of pieces, in ``_core``).

Parallelism: the two passes over the corpus (counting n-grams, then counting the pieces the
n-gram model cuts) run as independent tasks on batches of texts (``_train_tasks``) whose
results are summed, so the output never depends on the number of workers or on the engine
that runs them:
``workers=N`` uses N local processes, ``executor=`` any ``concurrent.futures.Executor`` (a Dask
``Client(...).get_executor()``, for one).
"""
from __future__ import annotations

import logging
import os
import time
from concurrent.futures import Executor
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np

from . import _backend, _special
from . import _train_tasks as _tasks
from ._ngrams import merge_counts, prune_ngrams
from . import model as _model
from ._progress import Progress
from .tokenizer import Tokenizer

try:
    from ._core import Bnlm, split_counts
except ImportError:  # no compiled core: the same kernels in plain Python
    from ._pytrain import Bnlm, split_counts

__all__ = ["Trainer"]

log = logging.getLogger(__name__)

_MAX_ORDER = 8                 # n-grams are packed into uint64 keys


# ------------------------------------------------------------------ step 5: prune pieces

def _resegment(pieces: list[bytes], counts: np.ndarray, texts: list[bytes], weights: np.ndarray) -> np.ndarray:
    """Cut each of `texts` with the Unigram model (pieces, counts); the weight of each text
    added to every piece it is cut into, per piece."""
    _, vocab = _backend.make("native", pieces, _model.Model(pieces, counts, "trainer").log_probs())
    return split_counts(vocab, texts, weights)


def _drop_wasted(pieces: list[bytes], counts: np.ndarray) -> tuple[list[bytes], np.ndarray]:
    """Re-count every piece from the segmentations of all pieces until no piece vanishes."""
    while True:
        fresh = _resegment(pieces, counts, pieces, counts)
        alive = fresh > 0
        if alive.all():
            return pieces, fresh
        pieces = [p for p, a in zip(pieces, alive.tolist()) if a]
        counts = fresh[alive]


def _fold_in(keep: list[bytes], counts: np.ndarray, drop: list[bytes], drop_counts: np.ndarray) -> np.ndarray:
    """Counts of `keep` after adding each dropped piece's count to the pieces it splits into."""
    if not drop:
        return counts
    return counts + _resegment(keep, counts, drop, drop_counts)


# ------------------------------------------------------------------ the corpus

def _corpus(corpus: object) -> Callable[[], Iterator[str]]:
    """A function that starts a new pass over the texts of `corpus`."""
    if isinstance(corpus, (str, os.PathLike)):
        return _corpus([corpus]) if isinstance(corpus, os.PathLike) else _file_texts([corpus])
    if isinstance(corpus, (list, tuple)) and corpus and all(isinstance(c, os.PathLike) for c in corpus):
        return _file_texts(list(corpus))
    if not isinstance(corpus, Iterable):
        raise TypeError(f"corpus must be an iterable of str or file paths, not {type(corpus).__name__}")
    if iter(corpus) is corpus:
        raise TypeError(
            f"corpus is a one-shot iterator ({type(corpus).__name__}); training reads the corpus "
            "twice, so pass a list, an object whose __iter__ starts a new pass, or file paths")

    def texts() -> Iterator[str]:
        for i, text in enumerate(corpus):
            if not isinstance(text, str):
                raise TypeError(f"corpus item {i} is {type(text).__name__}, not str")
            yield text
    return texts


def _parts(corpus: object, weights: Sequence[int] | None) -> list[tuple[Callable[[], Iterator[str]], int]]:
    """(pass starter, weight) per part of a corpus, weighted or not (see Trainer.train)."""
    if weights is None:
        return [(_corpus(corpus), 1)]
    if not isinstance(weights, (list, tuple)):
        raise TypeError(f"weights must be a list of ints, not {type(weights).__name__}")
    if not isinstance(corpus, (list, tuple)) or len(corpus) != len(weights):
        raise ValueError("with weights, corpus must be a list of as many parts as there are weights "
                         f"({len(weights)})")
    for w in weights:
        _check_int("weight", w, 1)
    return [(_corpus(part), int(w)) for part, w in zip(corpus, weights)]


def _file_texts(paths: list) -> Callable[[], Iterator[str]]:
    """Texts of UTF-8 files, one per line, newline kept (bytes as they are: no \\r\\n folding)."""
    paths = [os.fspath(p) for p in paths]
    for p in paths:
        if not os.path.isfile(p):
            raise FileNotFoundError(f"corpus file {p!r} does not exist")

    def texts() -> Iterator[str]:
        for p in paths:
            with open(p, encoding="utf-8", newline="") as f:
                try:
                    yield from f
                except UnicodeDecodeError as exc:
                    raise ValueError(f"corpus file {p!r} is not valid UTF-8: {exc}") from None
    return texts


class Trainer:
    """Learn a vocabulary from a corpus; upstream bytepiece 0.6.3's algorithm and output.

    >>> t = Trainer(order=4, max_vocab_size=300, min_count=2)
    >>> t.train(["今天天气不错\\n", "天气很好\\n"] * 50, progress=False)
    >>> tok = t.tokenizer()
    >>> tok.tokenize("天气很好\\n") == ["天气很好\\n".encode()]    # a frequent line is one piece
    True
    """

    def __init__(self, order: int = 6, max_vocab_size: int | Sequence[int] = 10000,
                 max_piece_length: int = 36, min_count: int = 2, isolate_digits: bool = False,
                 ensure_unicode: bool = True, special_tokens: Sequence[str | bytes] = ()):
        sizes = [max_vocab_size] if not isinstance(max_vocab_size, (list, tuple)) else list(max_vocab_size)
        for name, value, low in [("order", order, 1), ("max_piece_length", max_piece_length, 1),
                                 ("min_count", min_count, 1)]:
            _check_int(name, value, low)
        if order > _MAX_ORDER:
            raise ValueError(f"order must be at most {_MAX_ORDER} (n-grams are packed into 64 bits), not {order}")
        if not sizes:
            raise ValueError("max_vocab_size is an empty list")
        for s in sizes:
            _check_int("max_vocab_size", s, 259)   # 256 bytes + 3 special ids
        if len(set(sizes)) != len(sizes):
            raise ValueError(f"max_vocab_size has repeated sizes: {sizes}")
        for name, value in [("isolate_digits", isolate_digits), ("ensure_unicode", ensure_unicode)]:
            if not isinstance(value, bool):
                raise TypeError(f"{name} must be a bool, not {type(value).__name__}")
        self.order = order
        self.max_vocab_size = sorted(sizes, reverse=True)   # upstream prunes largest first
        self._multiple = isinstance(max_vocab_size, (list, tuple))
        self.max_piece_length = max_piece_length
        self.min_count = min_count
        self.isolate_digits = isolate_digits
        self.ensure_unicode = ensure_unicode
        # checked now for their form, against the pieces when the model is made
        self.special_tokens = _special.check_tokens(special_tokens, frozenset())
        self.models: dict[int, _model.Model] = {}
        self.phase_seconds: dict[str, float] = {}

    def __repr__(self) -> str:
        return (f"Trainer(order={self.order}, max_vocab_size={self.max_vocab_size}, "
                f"max_piece_length={self.max_piece_length}, min_count={self.min_count}, "
                f"isolate_digits={self.isolate_digits}, ensure_unicode={self.ensure_unicode})")

    # ------------------------------------------------------------------ training
    def train(self, corpus: object, *, weights: Sequence[int] | None = None, workers: int = 1,
              executor: Executor | None = None, progress: bool = True) -> None:
        """Train on `corpus`: a re-iterable of ``str`` (a list, or an object whose ``__iter__``
        starts a new pass), a path, or a list of ``pathlib.Path`` (UTF-8 files read line by
        line, newline kept).  A list of ``str`` is a list of texts, never of paths.

        ``weights=[w0, w1, ...]`` (positive ints) makes `corpus` a list of parts, each a corpus
        of any form above, and counts every piece the n-gram model cuts in part ``i`` ``wi``
        times: the share of the vocabulary a part gets grows with its weight.  The n-gram model
        itself is learnt from the parts as they are, unweighted (repeating a part instead would
        also weight the n-gram counts, so that its once-seen strings pass ``min_count``).
        Without weights the result is upstream's.

        ``workers=N`` runs the two passes over the corpus on N local processes; ``executor``
        runs them on any ``concurrent.futures.Executor`` instead.  The result is the same.
        The processes are forked while this process runs no other Python thread; with other
        threads running they start from a forkserver (forking then can deadlock), which imports the
        main script again: a script then needs its ``if __name__ == "__main__":`` guard.

        >>> t = Trainer(order=4, max_vocab_size=300, min_count=2)
        >>> t.train([["ab ab ab\\n"] * 50, ["cd cd\\n"] * 5], weights=[1, 20], progress=False)
        >>> m = t.models[300]
        >>> {p: c for p, c in zip(m.pieces, m.counts.tolist()) if len(p) > 1}
        {b'cd cd\\n': 100, b'ab ab ab\\n': 50}
        """
        parts = _parts(corpus, weights)
        _check_int("workers", workers, 1)
        if executor is not None and not isinstance(executor, Executor):
            raise TypeError(f"executor must be a concurrent.futures.Executor, not {type(executor).__name__}")
        window = max(workers, 2) + 1
        bar = Progress(progress, log)

        start = time.perf_counter()
        counts = None
        with _tasks.pool(workers, executor) as ex:
            everything = (t for passes, _ in parts for t in passes())
            batches = bar.corpus(_tasks.batches(everything), "count n-grams", corpus)
            for part in _tasks.run(_tasks.ngram_task, batches, (self.order, self.isolate_digits), ex, window):
                counts = part if counts is None else merge_counts(counts, part)
        if counts is None or counts[0] == 0:
            raise ValueError("the corpus is empty: there is nothing to learn from")
        bar.done("count n-grams", start)

        start = time.perf_counter()
        keys, logps = prune_ngrams(counts[0], counts[1], self.min_count)
        del counts
        bnlm = Bnlm(self.order, self.ensure_unicode, keys, logps)
        bar.done("prune n-grams", start)

        start = time.perf_counter()
        pieces: dict[bytes, int] = {}
        # Our own pool gets the model once per process; another executor with every task.
        with _tasks.pool(workers, executor, bnlm) as ex:
            own_pool = ex is not None and ex is not executor
            args = (None if own_pool else bnlm, self.isolate_digits)
            for passes, weight in parts:
                batches = bar.corpus(_tasks.batches(passes()), "count pieces", corpus if weights is None else None)
                for counted in _tasks.run(_tasks.piece_task, batches, args, ex, window):
                    for p, c in counted.items():
                        pieces[p] = pieces.get(p, 0) + c * weight
        bar.done("count pieces", start)

        start = time.perf_counter()
        self.models = self._prune_pieces(pieces)
        bar.done("prune pieces", start)
        self.phase_seconds = dict(bar.phases)

    def _prune_pieces(self, counted: dict[bytes, int]) -> dict[int, _model.Model]:
        for b in range(256):
            counted.setdefault(bytes((b,)), 1)
        keep = [p for p, c in counted.items()
                if len(p) == 1 or (len(p) <= self.max_piece_length and c >= self.min_count)]
        kept = set(keep)
        drop = [p for p in counted if p not in kept]
        counts = _fold_in(keep, _counts_of(keep, counted), drop, _counts_of(drop, counted))
        keep, counts = _drop_wasted(keep, counts)
        models = {}
        for size in self.max_vocab_size:
            if len(keep) > size - 3:
                c = counts.tolist()
                order = sorted(range(len(keep)),
                               key=lambda i: (len(keep[i]) > 1, -c[i], -len(keep[i]), keep[i]))
                head, tail = order[:size - 3], order[size - 3:]
                drop = [keep[i] for i in tail]
                drop_counts = counts[tail]
                keep, counts = [keep[i] for i in head], counts[head]
                counts = _fold_in(keep, counts, drop, drop_counts)
                keep, counts = _drop_wasted(keep, counts)
            trained = _model.from_counts(dict(zip(keep, counts.tolist())), "trained model")
            models[size] = _model.Model(trained.pieces, trained.counts, "trained model",
                                        self.special_tokens)
        return models

    # ------------------------------------------------------------------ results
    def _trained(self) -> dict[int, _model.Model]:
        if not self.models:
            raise RuntimeError("the trainer has not been trained yet: call train() first")
        return self.models

    def save(self, path: str | os.PathLike[str]) -> list[str]:
        """Write the model(s) in upstream's format, atomically; returns the paths written.

        With one vocabulary size the model goes to `path`; with several (a list given as
        ``max_vocab_size``) to ``path.<size>`` each, as upstream names them.  A path ending in
        ``.zip`` gets a zip file as upstream publishes models.
        """
        models = self._trained()
        path = os.fspath(path)
        if not self._multiple:
            targets = {path: models[self.max_vocab_size[0]]}
        else:
            targets = {f"{path}.{size}": m for size, m in models.items()}
        for target, m in targets.items():
            _model.save(m, target)
        return list(targets)

    def tokenizer(self) -> Tokenizer:
        """The tokenizer of the trained model (of the largest size when there are several)."""
        return self.tokenizers()[self.max_vocab_size[0]]

    def tokenizers(self) -> dict[int, Tokenizer]:
        """A tokenizer per requested vocabulary size."""
        return {size: Tokenizer.from_pieces(dict(zip(m.pieces, m.counts.tolist())),
                                            special_tokens=m.special)
                for size, m in self._trained().items()}


def _counts_of(pieces: list[bytes], counted: dict[bytes, int]) -> np.ndarray:
    return np.fromiter((counted[p] for p in pieces), dtype=np.int64, count=len(pieces))


def _check_int(name: str, value: object, low: int) -> None:
    if type(value) is bool or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if value < low:
        raise ValueError(f"{name} must be at least {low}, not {value}")
