"""bytepiece-lite: a fast byte-level Unigram tokenizer with Viterbi Sampling.

>>> from bytepiece_lite import Tokenizer
>>> tok = Tokenizer({bytes([b]): 1 for b in range(256)} | {b"ab": 5})
>>> tok.tokenize("abc")
[b'ab', b'c']
"""
from ._backend import active as backend
from .model import ModelError
from .tokenizer import Tokenizer

__all__ = ["ModelError", "Tokenizer", "Trainer", "backend", "__version__"]
from ._version import __version__


def __getattr__(name: str):
    # The trainer is imported on first use: tokenizing never pays for it.
    if name == "Trainer":
        from .trainer import Trainer

        return Trainer
    raise AttributeError(f"module 'bytepiece_lite' has no attribute {name!r}")
