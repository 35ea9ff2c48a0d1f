"""Locating ../shared (corpora, upstream models, goldens) for the tests that need it."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

# Beside the checkout, unless BPL_SHARED_DIR names it (scripts/sanitize.sh runs the suite from a
# temporary copy of the tree, which has no ../shared beside it).
SHARED = Path(os.environ.get("BPL_SHARED_DIR") or Path(__file__).resolve().parents[1].parent / "shared")


def shared_path(*parts: str) -> Path:
    """Path inside ../shared; skips the test when it is absent, fails under BPL_REQUIRE_SHARED=1."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        reason = f"{path} is absent (the project's ../shared folder holds it)"
        if os.environ.get("BPL_REQUIRE_SHARED") == "1":
            pytest.fail(reason + " and BPL_REQUIRE_SHARED=1")
        pytest.skip(reason)
    return path
