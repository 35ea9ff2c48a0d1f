"""Peak RSS of one call above its input, in bytes per input byte (Linux: /proc/self/status).

    python benchmarks/memory_peak.py CALL INPUT [MB]

CALL: arrays (encode_to_numpy), ids (encode) or pieces (tokenize), of str or bytes:
arrays_str, arrays_bytes, ids_str, ids_bytes, pieces_str.  INPUT: a text file repeated up to
MB megabytes (default 200), or `one-byte` for MB megabytes of b"a" (one token a byte with
the default model: the worst case, where the output itself is 4 bytes a byte).
"""
import gc
import sys

import bytepiece_lite as bpl


def status(key: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"{key} not in /proc/self/status")


def main() -> None:
    call, source = sys.argv[1], sys.argv[2]
    mb = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    tok = bpl.Tokenizer.default()
    if source == "one-byte":
        text = "a" * (mb * 1_000_000)
    else:
        with open(source, encoding="utf-8") as f:
            base = f.read()
        text = base * (mb * 1_000_000 // len(base.encode()) + 1)
    inp = text if call.endswith("_str") else text.encode()
    del text
    gc.collect()
    fn = {"arrays": tok.encode_to_numpy, "ids": tok.encode, "pieces": tok.tokenize}[
        call.rsplit("_", 1)[0]]
    fn(inp[:1000])
    before = status("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")                    # resets VmHWM to the current RSS
    out = fn(inp)
    peak = status("VmHWM")
    n = len(inp.encode()) if isinstance(inp, str) else len(inp)
    print(f"{call} {source}: {n / 1e6:.0f} MB, {len(out)} tokens, peak above the input "
          f"{(peak - before) / n:.2f} bytes a byte (the ids alone: {4 * len(out) / n:.2f})")


if __name__ == "__main__":
    main()
