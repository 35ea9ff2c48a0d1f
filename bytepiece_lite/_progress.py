"""Progress output for long jobs (training, corpus encoding): tqdm's bars when tqdm is
installed, plain lines on stderr otherwise, and a log line per finished phase."""
from __future__ import annotations

import logging
import sys
import time
from typing import Iterable, Iterator


class Progress:
    """``iterate`` wraps an iterable in a progress display, ``bar`` counts units by hand, and
    ``done`` reports a finished phase (time, peak memory) on `logger` and, if enabled, stderr."""

    def __init__(self, enabled: bool, logger: logging.Logger):
        self.enabled = enabled
        self.logger = logger
        self.phases: dict[str, float] = {}

    def iterate(self, items: Iterable, desc: str, unit: str) -> Iterable:
        if not self.enabled:
            return items
        try:
            from tqdm import tqdm
        except ImportError:
            return self._plain(items, desc, unit)
        return tqdm(items, desc=desc, unit=unit, ncols=0, file=sys.stderr)

    def bar(self, desc: str, total: int, unit: str) -> "Bar":
        if self.enabled:
            try:
                from tqdm import tqdm
            except ImportError:
                pass
            else:
                return tqdm(total=total, desc=desc, unit=unit, unit_scale=True, ncols=0, file=sys.stderr)
        return Bar(desc, total, unit, self.enabled)

    @staticmethod
    def _plain(items: Iterable, desc: str, unit: str) -> Iterator:
        n = 0
        for n, item in enumerate(items, 1):
            print(f"\r{desc}: {n} {unit}", end="", file=sys.stderr, flush=True)
            yield item
        if n:
            print(file=sys.stderr)

    def done(self, phase: str, start: float) -> None:
        seconds = time.perf_counter() - start
        self.phases[phase] = seconds
        line = f"{phase}: {seconds:.2f} s{peak_memory()}"
        self.logger.info(line)
        if self.enabled:
            print(line, file=sys.stderr)


class Bar:
    """A plain-text stand-in for tqdm's manual bar (``update``, ``close``)."""

    def __init__(self, desc: str, total: int, unit: str, enabled: bool):
        self.desc, self.total, self.unit, self.enabled = desc, total, unit, enabled
        self.n = 0
        self._shown = 0.0

    def update(self, n: int) -> None:
        self.n += n
        now = time.monotonic()
        if self.enabled and now - self._shown >= 0.5:
            self._shown = now
            print(f"\r{self.desc}: {self.n / 1e6:.1f}/{self.total / 1e6:.1f} M{self.unit}",
                  end="", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.enabled:
            print(f"\r{self.desc}: {self.n / 1e6:.1f}/{self.total / 1e6:.1f} M{self.unit}",
                  file=sys.stderr, flush=True)


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
