# The core's side of the constants shared with the Python layer.  _contracts.py defines them;
# these mirror it for C (the kernels are specialised on the mode at compile time), and
# _core.pyx refuses to import if the two ever disagree.

cdef enum Mode:
    MODE_DETERMINISTIC = 0
    MODE_VITERBI = 1        # Viterbi Sampling: sigmoid acceptance
    MODE_EXACT = 2          # exact sampling: P(w)**alpha / Z

cdef enum Output:
    OUTPUT_ARRAYS = 0       # (ids, offsets) numpy arrays
    OUTPUT_IDS = 1          # a list of id lists
    OUTPUT_PIECES = 2       # a list of piece (bytes) lists

cdef enum:
    BOS_ID = 1
    EOS_ID = 2
    ID_OFFSET = 3           # ids 0, 1, 2 are <pad>, <bos>, <eos>; piece k has id k + 3
    MAX_PIECE_LEN = 65535   # depths are uint16 in the trie build
