"""Model files: every malformed or hostile file raises ModelError naming file and problem."""
from __future__ import annotations

import base64
import errno
import io
import json
import os
import pickle
import struct
import subprocess
import sys
import zipfile

import pytest

import bytepiece_lite

from bytepiece_lite import ModelError, Tokenizer
from bytepiece_lite import _files as files_io
from bytepiece_lite import model as model_io

from strategies import vocab_counts


def entries(extra=None):
    counts = vocab_counts(extra or {b"ab": 5, "天".encode(): 3})
    pieces = sorted(counts, key=lambda p: (len(p), p))
    return {base64.b64encode(p).decode(): [i + 3, p.decode(errors="ignore"), counts[p]]
            for i, p in enumerate(pieces)}


def write(tmp_path, obj, name="m.model"):
    path = tmp_path / name
    path.write_text(obj if isinstance(obj, str) else json.dumps(obj, indent=4, ensure_ascii=False),
                    encoding="utf-8")
    return path


def write_raw(tmp_path, data: bytes):
    path = tmp_path / "m.model"
    path.write_bytes(data)
    return path


def mutate(fn):
    e = entries()
    fn(e)
    return e


BAD_FILES = {
    "truncated": (lambda tmp: write(tmp, json.dumps(entries())[:-40]), "invalid JSON"),
    "empty file": (lambda tmp: write(tmp, ""), "invalid JSON"),
    "not an object": (lambda tmp: write(tmp, [1, 2, 3]), "top level must be a JSON object"),
    "empty object": (lambda tmp: write(tmp, {}), "no pieces"),
    "bad base64": (lambda tmp: write(tmp, mutate(lambda e: e.update({"!!": [999, "", 1]}))), "not valid base64"),
    "value not a list": (lambda tmp: write(tmp, mutate(lambda e: e.update({"YWI=": 5}))), r"must be \[id, text, count\]"),
    "short list": (lambda tmp: write(tmp, mutate(lambda e: e.update({"YWI=": [261, "ab"]}))), r"must be \[id, text, count\]"),
    "zero count": (lambda tmp: write(tmp, mutate(lambda e: e["YWI="].__setitem__(2, 0))), "count 0"),
    "negative count": (lambda tmp: write(tmp, mutate(lambda e: e["YWI="].__setitem__(2, -4))), "count -4"),
    "float count": (lambda tmp: write(tmp, mutate(lambda e: e["YWI="].__setitem__(2, 2.5))), "not an integer"),
    "string count": (lambda tmp: write(tmp, mutate(lambda e: e["YWI="].__setitem__(2, "7"))), "not an integer"),
    "bool count": (lambda tmp: write(tmp, mutate(lambda e: e["YWI="].__setitem__(2, True))), "not an integer"),
    "huge count": (lambda tmp: write(tmp, mutate(lambda e: e["YWI="].__setitem__(2, 10**30))), "out of range"),
    "counts overflow": (lambda tmp: write(tmp, mutate(lambda e: [v.__setitem__(2, 2**62) for v in e.values()])), "more than 2\\*\\*63"),
    "duplicate id": (lambda tmp: write(tmp, mutate(lambda e: e["YWI="].__setitem__(0, 3))), "used twice"),
    "gap in ids": (lambda tmp: write(tmp, mutate(lambda e: e["YWI="].__setitem__(0, 1000))), "without gaps"),
    "ids from 0": (lambda tmp: write(tmp, mutate(lambda e: e["YWI="].__setitem__(0, 0))), "without gaps"),
    "duplicate piece (non-canonical base64)": (
        lambda tmp: write(tmp, mutate(lambda e: e.update({"AB==": [3 + len(e), "", 1]}))), "duplicate piece"),
    "duplicate key": (lambda tmp: write(tmp, json.dumps(entries())[:-1] + ', "YWI=": [262, "ab", 5]}'), "duplicate (key|piece)"),
    "missing byte": (lambda tmp: write(tmp, {k: [v[0] - 1, v[1], v[2]] for k, v in entries().items() if k != "AA=="}), "lacks the single bytes 0x00"),
    "empty piece": (lambda tmp: write(tmp, mutate(lambda e: e.update({"": [3 + len(e), "", 1]}))), "empty"),
    "not utf-8": (lambda tmp: write_raw(tmp, b'{"\xff": [3, "", 1]}'), "UTF-8"),
    "trailing garbage": (lambda tmp: write(tmp, json.dumps(entries()) + "]"), "invalid JSON"),
}


@pytest.mark.parametrize("case", list(BAD_FILES), ids=list(BAD_FILES))
def test_bad_model_file_raises_model_error(tmp_path, case):
    make, message = BAD_FILES[case]
    path = make(tmp_path)
    with pytest.raises(ModelError, match=message) as info:
        Tokenizer(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value, ValueError)


def zip_with(tmp_path, members, name="m.zip"):
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as zf:
        for member, data in members.items():
            zf.writestr(member, data)
    return path


def test_zip_members(tmp_path):
    good = json.dumps(entries(), indent=4)
    assert Tokenizer(zip_with(tmp_path, {"x.model": good})).vocab_size == 259 + 2
    with pytest.raises(ModelError, match="exactly one file, this one holds 0"):
        Tokenizer(zip_with(tmp_path, {}, "empty.zip"))
    with pytest.raises(ModelError, match="exactly one file, this one holds 2"):
        Tokenizer(zip_with(tmp_path, {"a": good, "b": good}, "two.zip"))
    truncated = tmp_path / "cut.zip"
    truncated.write_bytes(zip_with(tmp_path, {"x.model": good}).read_bytes()[:200])
    with pytest.raises(ModelError, match="cut.zip"):
        Tokenizer(truncated)


def test_zip_bomb_is_refused_before_unpacking(tmp_path, monkeypatch):
    monkeypatch.setattr(model_io, "MAX_UNZIPPED", 1000)
    path = zip_with(tmp_path, {"x.model": json.dumps(entries())})
    with pytest.raises(ModelError, match="unpacks to"):
        Tokenizer(path)


def test_unusual_but_valid_json_takes_the_slow_path(tmp_path):
    # Escaped key characters and compact separators are outside the fast scanner's subset.
    e = entries()
    text = json.dumps(e, separators=(",", ":")).replace('"YWI="', '"YWI\\u003d"')
    tok = Tokenizer(write(tmp_path, text))
    assert tok.tokenize(b"ab") == [b"ab"]


def test_save_load_round_trip_is_byte_identical(tmp_path):
    src = write(tmp_path, entries(), "src.model")
    tok = Tokenizer(src)
    tok.save(tmp_path / "out.model")
    assert (tmp_path / "out.model").read_bytes() == src.read_bytes()
    tok.save(tmp_path / "out.zip")
    again = Tokenizer(tmp_path / "out.zip")
    assert again.pieces() == tok.pieces()
    assert sorted(os.listdir(tmp_path)) == ["out.model", "out.zip", "src.model"]


def test_save_is_atomic(tmp_path, monkeypatch):
    tok = Tokenizer(vocab_counts({b"ab": 5}))
    target = tmp_path / "m.model"
    target.write_text("old")

    def broken(model):
        raise RuntimeError("disk full")

    monkeypatch.setattr(model_io, "to_json", broken)
    with pytest.raises(RuntimeError):
        tok.save(target)
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["m.model"]


def test_upstream_file_round_trips_byte_for_byte(tmp_path):
    from _shared import shared_path
    src = shared_path("golden", "train_small.A.model")
    Tokenizer(src).save(tmp_path / "a.model")
    assert (tmp_path / "a.model").read_bytes() == src.read_bytes()


def test_from_pieces_validation():
    with pytest.raises(TypeError, match="not bytes"):
        Tokenizer(vocab_counts({"ab": 3}))
    with pytest.raises(TypeError, match="not an int"):
        Tokenizer(vocab_counts({b"ab": 1.5}))
    with pytest.raises(ModelError, match="counts must be in"):
        Tokenizer(vocab_counts({b"ab": 0}))
    with pytest.raises(ModelError, match="lacks the single bytes 0x61"):
        Tokenizer({p: c for p, c in vocab_counts({}).items() if p != b"a"})
    tok = Tokenizer.from_pieces(vocab_counts({b"ab": 5}))
    assert tok.piece_to_id(b"ab") == 259


# ------------------------------------------------------------------ hardening (issue "Hardening")

def _json_bytes():
    return json.dumps(entries(), indent=4, ensure_ascii=False).encode()


def _zipped(method=zipfile.ZIP_DEFLATED, name="m.model"):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=method) as zf:
        zf.writestr(zipfile.ZipInfo(name) if name == "" else name, _json_bytes())
    return bytearray(buf.getvalue())


def _data_offset(z):
    n, e = struct.unpack_from("<HH", z, 26)
    return 30 + n + e


def _corrupt_deflate():
    z = _zipped()
    z[_data_offset(z)] = 0xFF           # deflate block type 3: zlib.error "invalid block type"
    return bytes(z)


def _corrupt_bzip2():
    z = _zipped(zipfile.ZIP_BZIP2)
    o = _data_offset(z) + 4             # after "BZh9": bz2 raises OSError "Invalid data stream"
    z[o:o + 6] = b"\0" * 6
    return bytes(z)


def _cd_offset_past_end():
    z = _zipped()
    struct.pack_into("<I", z, z.rindex(b"PK\x05\x06") + 16, 0x7FFFFFF0)   # OSError [Errno 22]
    return bytes(z)


def _utf8_flag_bad_name():
    z = _zipped()
    cd = z.rindex(b"PK\x01\x02")
    struct.pack_into("<H", z, cd + 8, struct.unpack_from("<H", z, cd + 8)[0] | 0x800)
    z[cd + 46] = 0xFF                   # the name, flagged UTF-8, is not: UnicodeDecodeError
    return bytes(z)


def _empty_name():
    return bytes(_zipped(name=""))      # ZipInfo.is_dir() indexes filename[-1]: IndexError


BAD_ZIPS = {
    "corrupt deflate stream": (_corrupt_deflate, "error: Error -3"),
    "corrupt bzip2 member": (_corrupt_bzip2, "Invalid data stream"),
    "central directory past the end": (_cd_offset_past_end, "not a readable zip file"),
    "name flagged UTF-8 is not": (_utf8_flag_bad_name, "UnicodeDecodeError"),
    "empty member name": (_empty_name, "IndexError"),
    "truncated": (lambda: bytes(_zipped())[:100], "not a readable zip file"),
}


@pytest.mark.parametrize("case", list(BAD_ZIPS), ids=list(BAD_ZIPS))
def test_every_zip_failure_is_a_model_error_naming_the_file(tmp_path, case):
    make, message = BAD_ZIPS[case]
    path = tmp_path / "bad.zip"
    path.write_bytes(make())
    with pytest.raises(ModelError, match=message) as info:
        Tokenizer(path)
    assert str(info.value).startswith(f"{path}: ")
    assert not isinstance(info.value, OSError)     # the file was read: its content is wrong
    assert info.value.__cause__ is not None        # the original error is kept, chained


def test_the_zip_reader_passes_memory_error_and_interrupts_through(monkeypatch):
    data = bytes(_zipped())
    for exc in (MemoryError, KeyboardInterrupt):
        def boom(*args, **kwargs):
            raise exc()
        monkeypatch.setattr(zipfile.ZipFile, "open", boom)
        with pytest.raises(exc):
            model_io._read_zip_member(data, "x.zip")
    monkeypatch.undo()
    assert model_io._read_zip_member(data, "x.zip") == _json_bytes()


@pytest.mark.parametrize("text, message", [
    ("[" * 100_000, "nests too deeply"),                                  # RecursionError in json
    ('{"QQ==": [3, "x", ' + "1" * 5000 + "]}", "Exceeds the limit"),     # int digits limit
])
def test_json_the_json_module_chokes_on_is_a_model_error(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ModelError, match=message) as info:
        Tokenizer(path)
    assert str(info.value).startswith(f"{path}: ")
    assert "set_int_max_str_digits" not in str(info.value)   # no advice to raise the limit


def test_invalid_utf8_in_a_text_field_loads_through_both_readers(tmp_path):
    # The rule (one for both readers): bytes inside JSON strings are not checked for UTF-8;
    # the text field is never used.  Outside strings JSON is ASCII, and keys must be base64.
    e = entries()
    text = json.dumps(e, indent=4).encode().replace(b'"ab"', b'"a\xff\xfeb"')
    assert b"\xff\xfe" in text
    path = write_raw(tmp_path, text)
    fast = Tokenizer(path)
    assert fast.piece_to_id(b"ab") == 259
    fast_reader, fast_error = model_io._fast_reader()
    assert model_io._parse_with_json(text, "x") == tuple(fast_reader(text))
    # and a file that only the json module reads (an escaped key character) gives the same model
    compact = text.replace(b'"YWI="', b'"YWI\\u003d"')
    assert compact != text
    with pytest.raises(fast_error):
        fast_reader(compact)
    path.write_bytes(compact)
    assert Tokenizer(path).pieces() == fast.pieces()


def test_invalid_utf8_outside_strings_is_refused_saying_so(tmp_path):
    path = write_raw(tmp_path, b'{\xff"AA==": [3, "", 1]}')
    with pytest.raises(ModelError, match=r"invalid JSON.*not UTF-8 text: byte 1"):
        Tokenizer(path)
    path = write_raw(tmp_path, b'{"\xff": [3, "", 1]}')
    with pytest.raises(ModelError, match="not valid base64 .it is not UTF-8 text"):
        Tokenizer(path)


def test_a_piece_longer_than_the_limit_is_a_model_error(tmp_path):
    assert model_io.MAX_PIECE_BYTES == 65535
    ok = vocab_counts({b"a" * 65535: 2})
    assert Tokenizer(ok).piece_to_id(b"a" * 65535) == 259
    with pytest.raises(ModelError, match="65536 bytes long, more than the 65535 allowed"):
        Tokenizer(vocab_counts({b"a" * 65536: 2}))
    path = write(tmp_path, entries({b"b" * 70000: 2}))
    with pytest.raises(ModelError, match="70000 bytes long") as info:
        Tokenizer(path)
    assert str(info.value).startswith(f"{path}: ")


# The OSError rule: an OS-level failure is a ModelError and the OSError subclass open() raises.

def _raises_model_os_error(path, os_class, err):
    with pytest.raises(os_class) as info:
        Tokenizer(path)
    e = info.value
    assert isinstance(e, ModelError) and isinstance(e, ValueError)
    assert e.errno == err and e.filename == str(path)
    assert str(e).startswith(f"{path}: cannot read the model file: ")
    assert isinstance(e.__cause__, OSError) and not isinstance(e.__cause__, ModelError)
    again = pickle.loads(pickle.dumps(e))       # travels from a worker process intact
    assert type(again) is type(e) and str(again) == str(e) and again.errno == err
    return e


def test_missing_file_is_a_model_error_and_a_file_not_found_error(tmp_path):
    _raises_model_os_error(tmp_path / "nope.model", FileNotFoundError, errno.ENOENT)
    _raises_model_os_error(tmp_path / "nope" / "x.model", FileNotFoundError, errno.ENOENT)


def test_a_directory_is_a_model_error_and_an_is_a_directory_error(tmp_path):
    _raises_model_os_error(tmp_path, IsADirectoryError, errno.EISDIR)


def test_a_file_under_a_file_is_a_not_a_directory_error(tmp_path):
    f = write(tmp_path, entries())
    _raises_model_os_error(f / "x.model", NotADirectoryError, errno.ENOTDIR)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_unreadable_file_is_a_permission_error(tmp_path):  # pragma: no cover - CI runs as root
    f = write(tmp_path, entries())
    f.chmod(0)
    _raises_model_os_error(f, PermissionError, errno.EACCES)


def test_an_io_error_while_reading_is_a_model_os_error(tmp_path, monkeypatch):
    f = write(tmp_path, entries())
    real_open = open

    class Failing:
        def __init__(self, *a, **k):
            self.f = real_open(*a, **k)
        def __enter__(self):
            return self
        def __exit__(self, *exc):
            self.f.close()
        def read(self, n=-1):
            raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(files_io, "open", Failing, raising=False)
    e = _raises_model_os_error(f, OSError, errno.EIO)
    assert type(e).__name__ == "ModelOSError"


class _OS:
    """model.py's view of the os module, with some functions replaced."""

    def __init__(self, **replaced):
        self.__dict__.update(replaced)

    def __getattr__(self, name):
        return getattr(os, name)


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "m.model"
    os.mkfifo(fifo)
    code = ("import sys\nfrom bytepiece_lite import Tokenizer, ModelError\n"
            "try:\n    Tokenizer(sys.argv[1])\nexcept ModelError as e:\n    print(e)\n")
    # In a child with a deadline: today's bug is a hang in open().
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(bytepiece_lite.__file__)))
    out = subprocess.run([sys.executable, "-c", code, str(fifo)], capture_output=True, text=True,
                         timeout=60, cwd=tmp_path, env=env)
    assert out.stdout.strip() == f"{fifo}: not a regular file (a FIFO); a model must be a .model/.json/.zip file"


def test_a_fifo_swapped_in_after_the_stat_is_refused_by_fstat(tmp_path, monkeypatch):
    fifo = tmp_path / "m.model"
    os.mkfifo(fifo)
    # the race: the path was a regular file when os.stat looked, a FIFO when it was opened
    monkeypatch.setattr(files_io, "os", _OS(stat=lambda p: os.stat(__file__)))
    with pytest.raises(ModelError, match="a FIFO"):
        Tokenizer(fifo)


def test_devices_are_refused_without_reading(tmp_path):
    for dev, kind in [("/dev/zero", "a character device"), ("/dev/null", "a character device")]:
        if os.path.exists(dev):
            with pytest.raises(ModelError, match=f"not a regular file \\({kind}\\)"):
                Tokenizer(dev)


def test_a_file_larger_than_the_limit_is_refused_without_reading_it(tmp_path, monkeypatch):
    monkeypatch.setattr(files_io, "MAX_MODEL_BYTES", 1000)
    path = write(tmp_path, entries())
    assert path.stat().st_size > 1000
    reads = []
    monkeypatch.setattr(files_io, "os", _OS(open=lambda *a: reads.append(a) or os.open(*a)))
    with pytest.raises(ModelError, match=f"has {path.stat().st_size} bytes, more than the 1000 allowed"):
        Tokenizer(path)
    assert reads == []                  # refused from os.stat alone


def test_reads_are_bounded_when_the_size_is_not_reported(tmp_path):
    # /proc files are regular with st_size 0: the read loop stops at the limit.
    path = tmp_path / "big"
    path.write_bytes(b" " * 5000)
    assert len(model_io.read_file_bounded(str(path), 5000)) == 5000
    with pytest.raises(ModelError, match="more than the 4999 bytes allowed"):
        model_io.read_file_bounded(str(path), 4999)
    if os.path.exists("/proc/self/status"):
        assert b"Name:" in model_io.read_file_bounded("/proc/self/status", 1 << 20)
        with pytest.raises(ModelError, match="more than the 10 bytes allowed"):
            model_io.read_file_bounded("/proc/self/status", 10)
