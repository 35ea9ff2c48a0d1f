"""Build the one compiled module, bytepiece_lite._core; everything else is plain Python.

The extension is optional: where it cannot be built (no C compiler, no Python headers, no
Cython and no generated C file) the build warns and goes on, the package installs without
it and serves every call from its pure-Python backend (slower; bytepiece_lite.backend() says
which is active).  Environment variables:

- BPL_REQUIRE_EXTENSION=1: a failed extension build is an error, never a wheel without the
  core (scripts/build_wheels.sh and cibuildwheel set it).
- BPL_LIMITED_API=1: build against CPython's Limited API for an abi3 wheel (cp311-abi3).
  Evaluation only: the core uses non-limited C-API today, so this fails to compile (see
  README, "Platforms and wheels").
"""
import os
import sys
import warnings
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
REQUIRE = os.environ.get("BPL_REQUIRE_EXTENSION") == "1"
LIMITED = os.environ.get("BPL_LIMITED_API") == "1"
LIMITED_HEX = "0x030B0000"  # typed memoryviews need the buffer API: limited since 3.11

HOW_TO_GET_IT = (
    "bytepiece-lite installs WITHOUT its compiled core and runs on the pure-Python backend "
    "(correct, much slower). For the fast path install a wheel (pip install bytepiece-lite on a "
    "platform with wheels) or install a C compiler and the Python headers (e.g. "
    "apt-get install build-essential python3-dev), then reinstall."
)

if sys.platform == "win32":
    compile_args = ["/O2", "/fp:precise"]
else:
    # -ffp-contract=off: no fused multiply-add, so float results are bit-identical to the
    # pure-Python backend on every platform (the sampling oracle relies on it).
    compile_args = ["-O3", "-ffp-contract=off", "-fno-strict-aliasing"]

DIRECTIVES = {
    "language_level": 3,
    "boundscheck": False,
    "wraparound": False,
    "cdivision": True,
    "initializedcheck": False,
    "embedsignature": True,
}


def _extensions():
    """The core's Extension, cythonized when Cython is present; [] when it cannot be made."""
    macros = [("Py_LIMITED_API", LIMITED_HEX)] if LIMITED else []
    ext = Extension(
        "bytepiece_lite._core",
        ["bytepiece_lite/_core.pyx"],
        extra_compile_args=compile_args,
        define_macros=macros,
        py_limited_api=LIMITED,
    )
    try:
        from Cython.Build import cythonize
    except ImportError:
        # No Cython (e.g. --no-build-isolation in an environment without it): a generated
        # C file from an earlier cythonize still builds; otherwise pure Python only.
        c_file = HERE / "bytepiece_lite" / "_core.c"
        if c_file.exists():
            ext.sources = ["bytepiece_lite/_core.c"]
            return [ext]
        _fail("Cython is not installed and bytepiece_lite/_core.c is absent")
        return []
    return cythonize([ext], compiler_directives=DIRECTIVES)


def _fail(reason):
    if REQUIRE:
        raise SystemExit(f"bytepiece_lite._core cannot be built ({reason}) and "
                         "BPL_REQUIRE_EXTENSION=1")
    warnings.warn(f"bytepiece_lite._core cannot be built: {reason}. {HOW_TO_GET_IT}",
                  stacklevel=2)
    print(f"\n*** WARNING: {reason}\n*** {HOW_TO_GET_IT}\n", file=sys.stderr)


class OptionalBuildExt(build_ext):
    """build_ext whose failure (no compiler, a compile or link error) is a warning."""

    def run(self):
        try:
            super().run()
        except Exception as exc:  # DistutilsPlatformError (no compiler found), OSError, ...
            _fail(f"{type(exc).__name__}: {exc}")

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as exc:  # CompileError, LinkError, DistutilsExecError, ...
            _fail(f"building {ext.name} failed ({type(exc).__name__}: {exc})")


setup_kwargs = {}
if LIMITED:
    setup_kwargs["options"] = {"bdist_wheel": {"py_limited_api": "cp311"}}

setup(ext_modules=_extensions(), cmdclass={"build_ext": OptionalBuildExt}, **setup_kwargs)
