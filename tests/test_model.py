"""Model files: every malformed or hostile file raises ModelError naming file and problem."""
from __future__ import annotations

import base64
import json
import os
import zipfile

import pytest

from bytepiece_lite import ModelError, Tokenizer
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


def test_missing_file_is_an_os_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        Tokenizer(tmp_path / "nope.model")


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
