"""The package's version, in one place: setuptools reads it statically at build time (see
pyproject.toml), and bytepiece_lite.__version__ imports it."""

__version__ = "0.1.0"
