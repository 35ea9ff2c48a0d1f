"""Build the one compiled module, bytepiece_lite._core; everything else is plain Python."""
import sys

from Cython.Build import cythonize
from setuptools import Extension, setup

if sys.platform == "win32":
    compile_args = ["/O2", "/fp:precise"]
else:
    # -ffp-contract=off: no fused multiply-add, so float results are bit-identical to the
    # pure-Python backend on every platform (the sampling oracle relies on it).
    compile_args = ["-O3", "-ffp-contract=off", "-fno-strict-aliasing"]

extensions = [
    Extension(
        "bytepiece_lite._core",
        ["bytepiece_lite/_core.pyx"],
        extra_compile_args=compile_args,
    )
]

setup(
    ext_modules=cythonize(
        extensions,
        compiler_directives={
            "language_level": 3,
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
            "embedsignature": True,
        },
    )
)
