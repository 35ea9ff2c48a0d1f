"""What the layers of the package agree on: sampling modes, output kinds, reserved ids, limits,
and the interface every segmentation backend provides.

The compiled core mirrors the numbers in ``contracts.pxd`` and refuses to import if they
differ; the pyahocorasick backend and the Python layer use these names directly.
"""
from __future__ import annotations

import enum
from concurrent.futures import Executor
from typing import Any, Callable, Optional, Protocol, Union

import numpy as np

__all__ = ["Backend", "Mode", "Output", "PAD_ID", "BOS_ID", "EOS_ID", "ID_OFFSET",
           "MAX_PIECE_LEN", "RESERVED_TOKENS", "SAMPLERS"]


class Mode(enum.IntEnum):
    """How a segmentation is chosen (docs/semantics.md, "Segmentation" and "Sampling")."""

    DETERMINISTIC = 0       # the most probable segmentation
    VITERBI = 1             # Viterbi Sampling: sigmoid acceptance inside the Viterbi loop
    EXACT = 2               # exact sampling: probability P(w)**alpha / Z


class Output(enum.IntEnum):
    """What a batch returns."""

    ARRAYS = 0              # (ids, offsets) numpy arrays: text k is ids[offsets[k]:offsets[k+1]]
    IDS = 1                 # a list of id lists
    PIECES = 2              # a list of piece (bytes) lists


#: The sampler names of the public API and their modes.
SAMPLERS = {"viterbi": Mode.VITERBI, "exact": Mode.EXACT}

PAD_ID, BOS_ID, EOS_ID = 0, 1, 2
#: The reserved tokens' text, by id.
RESERVED_TOKENS = (b"<pad>", b"<bos>", b"<eos>")
#: Piece k of a model has id k + ID_OFFSET.
ID_OFFSET = 3
#: The longest piece the core supports, in bytes.
MAX_PIECE_LEN = 65535


class Backend(Protocol):
    """A vocabulary compiled for segmentation: ``_core.Vocab`` (native) and
    ``_pyac.PyVocab`` (pyahocorasick) both are one, with identical results.

    Piece indices are positions in the piece list it was built from; ids are indices plus
    ``ID_OFFSET``.  ``key`` is a stream key (``_rng.stream_key``), ``offset`` the position
    of ``data`` in the text whose draws it continues.
    """

    num_pieces: int
    max_len: int

    def find(self, piece: bytes) -> int: ...

    def tokenize(self, data: bytes, mode: int = 0, alpha: float = 0.0, key: int = 0, *,
                 offset: int = 0) -> list[bytes]: ...

    def encode(self, data: bytes, mode: int = 0, alpha: float = 0.0, key: int = 0, *,
               offset: int = 0) -> list[int]: ...

    def encode_batch(self, texts: list[Union[str, bytes]], *, mode: int, alpha: float, seed: int,
                     num_threads: int = 1, executor: Optional[Executor] = None,
                     output: int = Output.ARRAYS, bos: bool = False, eos: bool = False,
                     starts: Optional[np.ndarray] = None, streams: Optional[np.ndarray] = None,
                     prepare: Optional[Callable[[object], Union[str, bytes]]] = None,
                     min_bytes_per_thread: int = 0) -> Any: ...

    def encode_parts(self, text: Union[str, bytes], cuts: np.ndarray, *, mode: int,
                     alpha: float, seed: int, stream: int = 0, offset: int = 0,
                     num_threads: int = 1, executor: Optional[Executor] = None,
                     output: int = Output.IDS, bos: bool = False, eos: bool = False,
                     prepare: Optional[Callable[[str], Union[str, bytes]]] = None) -> Any: ...


