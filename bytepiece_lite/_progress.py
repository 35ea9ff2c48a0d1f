"""Progress output for long jobs (training, corpus encoding) on stderr, and a log line per
finished phase.

On a terminal: one line redrawn in place (tqdm's bar when tqdm is installed), e.g.

    count n-grams: 3.2/7.1 MB (45%), 4.1 MB/s, 1 s left

Elsewhere (a log file, a pipe, CI): the same text as plain lines ending in a newline, one
every LINE_INTERVAL seconds and one at the end, so that a log stays readable:

    count n-grams: 3.2/7.1 MB (45%), 4.1 MB/s, 1 s left
    count n-grams: 7.1/7.1 MB (100%), 4.0 MB/s, 1.8 s

Done/total, percentage and time left need a total: the bytes of the files when the input is
files, the number of texts for a list; an iterable of unknown length shows what was done and
the rate.
"""
from __future__ import annotations

import logging
import os
import sys
import time
from typing import Any, Callable, Iterable, Iterator, TextIO

#: Seconds between two lines when stderr is not a terminal.
LINE_INTERVAL = 10.0
#: Seconds between two redraws on a terminal.
REDRAW_INTERVAL = 0.5


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def format_amount(n: float, unit: str) -> str:
    """1234567 B -> '1.2 MB'; 1234 texts -> '1234 texts'."""
    if unit == "B":
        for scale, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
            if n >= scale:
                return f"{n / scale:.1f} {prefix}B"
        return f"{n:.0f} B"
    return f"{n:.0f} {unit}"


def _amounts(done: float, total: float, unit: str) -> str:
    """'3.2/7.1 MB' (one scale for both numbers), or '1200/5000 texts'."""
    if unit == "B":
        for scale, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k"), (1, "")):
            if total >= scale or scale == 1:
                digits = 0 if scale == 1 else 1
                return f"{done / scale:.{digits}f}/{total / scale:.{digits}f} {prefix}B"
    return f"{done:.0f}/{total:.0f} {unit}"


def format_seconds(s: float) -> str:
    """0.4 -> '<1 s', 42 -> '42 s', 185 -> '3 min 05 s', 3720 -> '1 h 02 min'."""
    if s < 1:
        return "<1 s"
    s = int(round(s))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


class Bar:
    """Counts units of work and shows done/total, rate and time left on `stream` (stderr).

    ``update(n)`` adds n units, ``close()`` ends the display with a final line.  `total` may
    be None (unknown): then the line shows what was done and the rate."""

    def __init__(self, desc: str, total: float | None, unit: str, enabled: bool = True,
                 stream: TextIO | None = None, clock: Callable[[], float] = time.monotonic,
                 terminal: bool | None = None):
        self.desc, self.total, self.unit, self.enabled = desc, total, unit, enabled
        self.stream = sys.stderr if stream is None else stream
        self.terminal = _is_terminal(self.stream) if terminal is None else terminal
        self.clock = clock
        self.n = 0
        self.start = clock()
        self._shown = self.start
        self._width = 0
        self._closed = False

    def text(self, final: bool = False) -> str:
        elapsed = max(self.clock() - self.start, 1e-9)
        rate = self.n / elapsed
        unit_rate = f"{format_amount(rate, self.unit)}/s"
        if self.total:
            parts = [f"{_amounts(self.n, self.total, self.unit)} ({100 * self.n / self.total:.0f}%)", unit_rate]
        else:
            parts = [format_amount(self.n, self.unit), unit_rate]
        if final:
            parts.append(f"{elapsed:.1f} s" if elapsed < 60 else format_seconds(elapsed))
        elif self.total and rate > 0 and self.n < self.total:
            parts.append(f"{format_seconds((self.total - self.n) / rate)} left")
        return f"{self.desc}: " + ", ".join(parts)

    def _write(self, line: str, end: str) -> None:
        try:
            if self.terminal:
                pad = " " * max(0, self._width - len(line))
                self._width = len(line)
                self.stream.write(f"\r{line}{pad}{end}")
            else:
                self.stream.write(line + "\n")
            self.stream.flush()
        except (OSError, ValueError):    # stderr closed or gone: progress is not worth failing for
            self.enabled = False

    def update(self, n: float) -> None:
        self.n += n
        if not self.enabled:
            return
        now = self.clock()
        if not self.terminal and self.total and self.n >= self.total:
            return          # complete: the closing line follows, no need for one more
        if now - self._shown >= (REDRAW_INTERVAL if self.terminal else LINE_INTERVAL):
            self._shown = now
            self._write(self.text(), "")

    def close(self) -> None:
        if self.enabled and not self._closed:
            self._write(self.text(final=True), "\n")
        self._closed = True


def _tqdm_bar(desc: str, total: float | None, unit: str):
    """tqdm's bar when tqdm is installed and stderr is a terminal, else None."""
    if not _is_terminal(sys.stderr):
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=desc, unit=unit, unit_scale=True, ncols=0, file=sys.stderr)


def corpus_size(corpus: object) -> tuple[float | None, str, Callable[[list], float]]:
    """(total, unit, weight of a batch of texts) for a training corpus as Trainer.train takes
    it: bytes of the files for paths, texts for a sized collection of str, else texts done
    with no total."""
    paths = None
    if isinstance(corpus, (str, os.PathLike)):
        paths = [corpus]
    elif isinstance(corpus, (list, tuple)) and corpus and all(isinstance(c, os.PathLike) for c in corpus):
        paths = list(corpus)
    if paths is not None:
        try:
            total: float | None = float(sum(os.path.getsize(p) for p in paths))
        except OSError:
            total = None
        return total, "B", _utf8_size
    try:
        total = float(len(corpus))          # type: ignore[arg-type]
    except TypeError:
        total = None
    return total, "texts", len


def _utf8_size(batch: list) -> float:
    # len(t) is the size in bytes of an ASCII str (isascii() reads a flag: no scan); others
    # are encoded, with surrogatepass so that a bad text still counts (it fails later, clearly).
    return float(sum(len(t) if t.isascii() else len(t.encode("utf-8", "surrogatepass")) for t in batch))


class Progress:
    """``iterate`` wraps an iterable in a progress display, ``corpus`` wraps the batches of a
    pass over a training corpus, ``bar`` counts units by hand, and ``done`` reports a finished
    phase (time, peak memory) on `logger` and, if enabled, stderr."""

    def __init__(self, enabled: bool, logger: logging.Logger):
        self.enabled = enabled
        self.logger = logger
        self.phases: dict[str, float] = {}

    def iterate(self, items: Iterable, desc: str, unit: str, total: float | None = None,
                weight: Callable[[Any], float] | None = None) -> Iterable:
        """`items`, counting each as weight(item) units (1 by default) of `total`."""
        if not self.enabled:
            return items
        return self._counted(items, self.bar(desc, total, unit), weight)

    def corpus(self, batches: Iterable[list], desc: str, corpus: object) -> Iterable[list]:
        """The batches of a pass over the training corpus `corpus` (as given to train), shown
        as bytes of files done/total, or texts done/total."""
        if not self.enabled:
            return batches
        total, unit, weight = corpus_size(corpus)
        return self.iterate(batches, desc, unit, total, weight)

    @staticmethod
    def _counted(items: Iterable, bar: Any, weight: Callable[[Any], float] | None) -> Iterator:
        try:
            for item in items:
                yield item
                bar.update(1 if weight is None else weight(item))
        finally:
            bar.close()

    def bar(self, desc: str, total: float | None, unit: str) -> Any:
        if self.enabled:
            fancy = _tqdm_bar(desc, total, unit)
            if fancy is not None:
                return fancy
        return Bar(desc, total, unit, self.enabled)

    def done(self, phase: str, start: float) -> None:
        seconds = time.perf_counter() - start
        self.phases[phase] = seconds
        line = f"{phase}: {seconds:.2f} s{peak_memory()}"
        self.logger.info(line)
        if self.enabled:
            print(line, file=sys.stderr)


def peak_memory() -> str:
    """", peak RSS <n> MB (largest worker <m> MB)" where the platform reports it."""
    try:
        import resource
    except ImportError:        # not on Windows
        return ""
    scale = 1 / 1024 if sys.platform != "darwin" else 1 / 1024 / 1024    # KiB; bytes on macOS
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * scale
    return f", peak RSS {own:.0f} MB (largest worker {kids:.0f} MB)"
