"""Distribution tests (SLOW, marked `slow`): the sdist and the wheel built from it, their
contents, and an install from the sdist with the C compiler hidden.

They build in temporary directories, from a copy of the checkout's tracked files, once per
session (`python -m build`: the sdist, then the wheel from the sdist), and install into fresh
virtual environments outside the source tree; packages come from the index pip is configured
with (or its cache).  About 2-3 minutes on 2 cores, so they run only when asked:
`BPL_INSTALL_TESTS=1 pytest tests/test_install.py`, and always in CI (CI is set).  They need
the source checkout (they skip where only tests/ was copied, as when testing a wheel).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCE_ONLY = (".pyx", ".pxd", ".pxi", ".c", ".h")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (ROOT / "setup.py").exists() or not (ROOT / "bytepiece_lite").is_dir(),
                       reason="needs the source checkout (setup.py beside tests/)"),
    pytest.mark.skipif(not (os.environ.get("CI") or os.environ.get("BPL_INSTALL_TESTS") == "1"),
                       reason="slow (builds and installs the package, minutes): set "
                              "BPL_INSTALL_TESTS=1 to run; CI runs them"),
]


def _run(cmd, *, cwd, env=None, timeout=600):
    """Run `cmd`; on failure show its output in the assertion."""
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)
    assert proc.returncode == 0, (
        f"{cmd} exited {proc.returncode}\n--- stdout\n{proc.stdout[-6000:]}\n"
        f"--- stderr\n{proc.stderr[-6000:]}")
    return proc


def _tracked_files() -> list[str]:
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                             check=True).stdout.decode()
        files = [f for f in out.split("\0") if f and (ROOT / f).is_file()]
        if files:
            return files
    except (OSError, subprocess.CalledProcessError):
        pass
    skip_dirs = {".git", "build", "dist", "wheelhouse", "__pycache__", ".pytest_cache",
                 ".hypothesis"}
    return [str(p.relative_to(ROOT)) for p in ROOT.rglob("*")
            if p.is_file() and not skip_dirs & set(p.relative_to(ROOT).parts)
            and not p.name.endswith((".so", ".pyd", ".c", ".egg-info"))]


def _venv(path: Path) -> Path:
    _run([sys.executable, "-m", "venv", path], cwd=path.parent)
    return path / ("Scripts" if os.name == "nt" else "bin")


@pytest.fixture(scope="session")
def dists(tmp_path_factory):
    """(sdist, wheel, tracked files): built once per session from a clean copy, or taken from
    $BPL_DIST_DIR (an sdist and a wheel that scripts/build_wheels.sh just built from this
    checkout: .ci/run sets it, so that CI does not build them twice)."""
    tracked = _tracked_files()
    reuse = os.environ.get("BPL_DIST_DIR")
    if reuse:
        sdists, wheels = sorted(Path(reuse).glob("*.tar.gz")), sorted(Path(reuse).glob("*.whl"))
        assert len(sdists) == 1 and len(wheels) == 1, (reuse, sdists, wheels)
        return sdists[0], wheels[0], tracked
    base = tmp_path_factory.mktemp("dist")
    src = base / "src"
    for f in tracked:
        (src / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / f, src / f)
    tools = _venv(base / "tools")
    _run([tools / "python", "-m", "pip", "install", "-q", "build"], cwd=base)
    env = dict(os.environ, BPL_REQUIRE_EXTENSION="1")
    _run([tools / "python", "-m", "build", "-o", base / "out", src], cwd=base, env=env)
    (sdist,) = (base / "out").glob("*.tar.gz")
    (wheel,) = (base / "out").glob("*.whl")
    return sdist, wheel, tracked


def test_wheel_holds_the_package_and_no_sources(dists):
    sdist, wheel, tracked = dists
    names = set(zipfile.ZipFile(wheel).namelist())
    want = {f for f in tracked if f.startswith("bytepiece_lite/") and not f.endswith(SOURCE_ONLY)}
    assert sorted(want - names) == [], "package files missing from the wheel"
    cores = [n for n in names if n.startswith("bytepiece_lite/_core.") and n.endswith((".so", ".pyd"))]
    assert len(cores) == 1, cores
    assert [n for n in names if n.endswith(SOURCE_ONLY) or "__pycache__" in n] == []
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert {n.split("/")[0] for n in names} == {"bytepiece_lite", wheel.name.split("-")[0]
                                                 + "-" + wheel.name.split("-")[1] + ".dist-info"}
    meta = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("/METADATA"))).decode()
    version = {}
    exec((ROOT / "bytepiece_lite" / "_version.py").read_text(), version)
    assert f"\nVersion: {version['__version__']}\n" in meta
    assert "\nLicense-Expression: Apache-2.0\n" in meta
    assert "Provides-Extra: hf" in meta and "Provides-Extra: test" in meta


def test_sdist_holds_everything_needed_to_build(dists):
    sdist, _, tracked = dists
    with tarfile.open(sdist) as tf:
        names = {n.split("/", 1)[1] for n in tf.getnames() if "/" in n}
    need = {f for f in tracked if f.startswith("bytepiece_lite/")}
    need |= {f for f in tracked
             if f.startswith(("tests/", "benchmarks/")) and f.endswith((".py", ".patch"))}
    need |= {"LICENSE", "README.md", "pyproject.toml", "setup.py", "MANIFEST.in"}
    assert sorted(need - names) == []
    assert [n for n in names if n.endswith((".so", ".pyd", ".c"))] == []


SMOKE = r'''
import os, sys, tempfile, warnings
warnings.simplefilter("always")
with warnings.catch_warnings(record=True) as caught:
    import bytepiece_lite
    from bytepiece_lite import Tokenizer, Trainer
    assert bytepiece_lite.backend() != "native", bytepiece_lite.backend()
    print("backend:", bytepiece_lite.backend())
    try:
        import bytepiece_lite._core
    except ImportError:
        pass
    else:
        raise AssertionError("the compiled core is present although the compiler was hidden")
    tok = Tokenizer.default()
    pieces = tok.tokenize("今天天气不错")
    assert b"".join(pieces) == "今天天气不错".encode(), pieces
    ids = tok.encode("今天天气不错 and some English text.", add_eos=True)
    assert tok.decode(ids) == "今天天气不错 and some English text.", tok.decode(ids)
    a = tok.encode("今天天气不错" * 20, alpha=0.1, seed=7)
    assert a == tok.encode("今天天气不错" * 20, alpha=0.1, seed=7)
    assert tok.decode(a) == "今天天气不错" * 20
    e = tok.encode("今天天气不错" * 20, alpha=0.1, sampler="exact", seed=7)
    assert tok.decode(e) == "今天天气不错" * 20
    assert tok.encode_batch(["abc", "今天"]) == [tok.encode("abc"), tok.encode("今天")]
    corpus = ["the quick brown fox jumps over the lazy dog\n", "今天天气不错，我们去公园\n"] * 50
    trainer = Trainer(order=4, max_vocab_size=300, min_count=2)
    trainer.train(corpus)
    d = tempfile.mkdtemp()
    path = os.path.join(d, "tiny.model")
    trainer.save(path)
    small = Tokenizer(path)
    assert small.decode(small.encode("the lazy fox")) == "the lazy fox"
    assert small.encode("the lazy fox") == trainer.tokenizer().encode("the lazy fox")
runtime = [w for w in caught if issubclass(w.category, RuntimeWarning)]
assert len(runtime) == 1, [str(w.message) for w in caught]
print("WARNING:", runtime[0].message)
print("smoke OK")
'''


def _fallback_landed() -> bool:
    init = (ROOT / "bytepiece_lite" / "__init__.py").read_text(encoding="utf-8")
    return "backend" in init


def test_install_without_a_compiler_runs_the_pure_python_backend(dists, tmp_path):
    """pip install of the sdist with CC/CXX=false: cythonizing still runs, the compile fails,
    setup.py warns and installs without the core; every main path then runs on the
    pure-Python backend with one RuntimeWarning, and backend() does not say "native"."""
    if not _fallback_landed():
        pytest.skip("waits for the pure-Python fallback of every module without the compiled "
                    "_core, bytepiece_lite.backend() and the one-time RuntimeWarning (main)")
    sdist, _, _ = dists
    bindir = _venv(tmp_path / "venv")
    env = dict(os.environ, CC="false", CXX="false", LDSHARED="false")
    env.pop("BPL_REQUIRE_EXTENSION", None)
    proc = _run([bindir / "python", "-m", "pip", "install", "-v", sdist], cwd=tmp_path, env=env)
    log = proc.stdout + proc.stderr
    assert "Cythonizing" in log or "cythoniz" in log.lower(), "cythonize did not run"
    assert "installs WITHOUT its compiled core" in log, "setup.py's warning is not in pip's log"
    run = tmp_path / "run"                     # not the checkout: the installed package only
    run.mkdir()
    out = _run([bindir / "python", "-c", SMOKE], cwd=run).stdout
    assert "smoke OK" in out
    warning = out.split("WARNING:", 1)[1].splitlines()[0]
    assert any(w in warning.lower() for w in ("compiler", "wheel", "reinstall")), (
        f"the warning does not say how to get the fast path: {warning}")
    cli = _run([bindir / "bytepiece-lite", "tokenize", "今天天气不错", "--alpha", "0.1"], cwd=run)
    assert cli.stdout.strip(), cli
