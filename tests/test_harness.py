"""The test harness's own pieces: the shards that scripts/sanitize.sh runs at once
(BPL_SHARD=K/N in conftest.py) must split the suite, each test in exactly one shard."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent


def _collect(shard: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "BPL_SHARD"}
    if shard is not None:
        env["BPL_SHARD"] = shard
    return subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                           "-p", "no:cacheprovider", str(HERE / "test_model.py")],
                          capture_output=True, text=True, env=env, cwd=HERE.parent, timeout=120)


def _tests(shard: str | None) -> list[str]:
    return [line for line in _collect(shard).stdout.splitlines() if "::" in line]


def test_shards_split_the_suite():
    everything = _tests(None)
    shards = [_tests(f"{k}/3") for k in (1, 2, 3)]
    assert len(everything) > 30
    assert sorted(t for s in shards for t in s) == sorted(everything)
    assert all(abs(len(s) - len(everything) / 3) <= 1 for s in shards)


def test_a_bad_shard_is_refused():
    out = _collect("3/2")
    assert out.returncode != 0 and "BPL_SHARD='3/2'" in out.stdout + out.stderr
