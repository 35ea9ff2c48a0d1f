"""The command line's errors, help and version, and the progress display of long jobs."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import bytepiece_lite
from bytepiece_lite import _progress
from bytepiece_lite.cli import main

ENV = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(bytepiece_lite.__file__)))


def run(args, cwd, stdin=subprocess.DEVNULL, env=None, preexec_fn=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "bytepiece_lite", *args], cwd=cwd, stdin=stdin,
                          capture_output=True, text=True, env=env or ENV, preexec_fn=preexec_fn,
                          timeout=timeout)


def one_error_line(proc, message):
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert message in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def text_file(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("今天天气不错\nhello world\n", encoding="utf-8")
    return str(path)


# ------------------------------------------------------------------ argparse errors

@pytest.mark.parametrize("args, expected", [
    (["tokenize", "x", "--alpha", "much"],
     "bytepiece-lite tokenize: error: argument --alpha: invalid float value: 'much'; "
     "see bytepiece-lite tokenize --help"),
    (["frobnicate"], "bytepiece-lite: error: argument command: invalid choice: 'frobnicate'"),
    ([], "bytepiece-lite: error: the following arguments are required: command; see --help"),
    (["train", "--input", "a.txt"], "the following arguments are required: --vocab-size, --output"),
])
def test_option_errors_are_one_line_with_a_pointer_to_help(tmp_path, args, expected):
    line = one_error_line(run(args, tmp_path), expected)
    assert line.endswith("--help")
    assert "usage:" not in line


def test_help_is_plain_text(tmp_path):
    proc = run(["--help"], tmp_path)
    assert proc.returncode == 0
    assert "``" not in proc.stdout and "`" not in proc.stdout
    assert "bytepiece-lite: a fast byte-level Unigram tokenizer" in proc.stdout
    for command in ("tokenize", "encode", "decode", "info", "train"):
        sub = run([command, "--help"], tmp_path)
        assert sub.returncode == 0 and "`" not in sub.stdout, command


def test_version(tmp_path):
    proc = run(["--version"], tmp_path)
    assert proc.returncode == 0
    assert proc.stdout == f"bytepiece-lite {bytepiece_lite.__version__}\n"


# ------------------------------------------------------------------ inputs and outputs

def test_an_input_directory_is_said_to_be_a_directory(tmp_path):
    one_error_line(run(["encode", "--input", str(tmp_path), "--output", "ids.npy"], tmp_path),
                   f"bytepiece-lite encode: error: input {str(tmp_path)!r} is a directory")
    one_error_line(run(["train", "--input", str(tmp_path), "--vocab-size", "300", "--output", "m.model"],
                       tmp_path), f"input {str(tmp_path)!r} is a directory")


def test_decode_of_a_text_file_says_it_is_not_an_ids_file(tmp_path, text_file):
    line = one_error_line(run(["decode", "--input", text_file], tmp_path), f"{text_file} is not an ids file")
    assert "OUT.npy or OUT.bin" in line and "sidecar" in line
    fake = tmp_path / "fake.npy"
    fake.write_text("1 2 3")
    one_error_line(run(["decode", "--input", str(fake)], tmp_path), "is not a .npy file (no numpy header)")
    lone = tmp_path / "lone.bin"
    lone.write_bytes(b"\x05\x00")
    one_error_line(run(["decode", "--input", str(lone)], tmp_path), f"has no sidecar {lone}.json")
    one_error_line(run(["decode", "--input", str(tmp_path / "none.npy")], tmp_path), "No such file")


def test_decode_reads_npy_whatever_its_name(tmp_path, capsys):
    tok = bytepiece_lite.Tokenizer.default()
    path = tmp_path / "ids.data"
    with open(path, "wb") as f:
        np.save(f, np.array(tok.encode("天气不错"), dtype=np.uint16))
    assert main(["decode", "--input", str(path)]) == 0
    assert capsys.readouterr().out == "天气不错\n"


def test_encode_without_text_reads_a_pipe_and_refuses_a_terminal_or_nothing(tmp_path):
    tok = bytepiece_lite.Tokenizer.default()
    proc = subprocess.run([sys.executable, "-m", "bytepiece_lite", "encode"], input="天气\n",
                          capture_output=True, text=True, env=ENV, cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout.split() == [str(i) for i in tok.encode("天气\n")]
    # no standard input at all (closed), as under CI or a daemon
    proc = subprocess.run([sys.executable, "-m", "bytepiece_lite", "encode"], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, env=ENV, cwd=tmp_path,
                          preexec_fn=lambda: os.close(0))
    one_error_line(proc, "bytepiece-lite encode: error: give a TEXT or --input FILE..., or pipe it on standard input")


def test_a_terminal_on_standard_input_is_not_read(monkeypatch, capsys):
    class Terminal(io.StringIO):
        def isatty(self):
            return True
    for command, message in [("encode", "give a TEXT or --input FILE"), ("tokenize", "give a TEXT, or pipe"),
                             ("decode", "give IDS or --input FILE")]:
        monkeypatch.setattr(sys, "stdin", Terminal("never read"))
        assert main([command]) == 2
        assert message in capsys.readouterr().err


def test_a_write_error_names_the_output_not_the_temporary_file(tmp_path, text_file):
    import resource

    def small_files():          # writes past 4 KB fail with EFBIG (CPython ignores SIGXFSZ)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    big = tmp_path / "big.txt"
    big.write_text("今天天气不错, hello world\n" * 2000, encoding="utf-8")
    out = tmp_path / "ids.npy"
    line = one_error_line(run(["encode", "--input", str(big), "--output", str(out), "-q"], tmp_path,
                              preexec_fn=small_files), f"bytepiece-lite encode: error: {out}: File too large")
    assert ".tmp" not in line
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_a_rename_error_names_the_output(tmp_path, text_file):
    out = tmp_path / "ids.npy"
    out.mkdir()                 # os.replace(tmp, out) fails: out is a directory
    line = one_error_line(run(["encode", "--input", text_file, "--output", str(out), "-q"], tmp_path),
                          f"{out}: Is a directory")
    assert ".tmp" not in line
    assert os.listdir(out) == [] and not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_atomic_output_errors_name_the_path(tmp_path):
    from bytepiece_lite import model as model_io

    target = str(tmp_path / "x.bin")
    with pytest.raises(FileNotFoundError) as info:
        with model_io.atomic_output(str(tmp_path / "no" / "x.bin")):
            pass
    assert info.value.filename == str(tmp_path / "no" / "x.bin") and info.value.filename2 is None
    with pytest.raises(OSError) as info:
        with model_io.atomic_output(target) as f:
            f.write(b"abc")
            f.seek(-10)
    assert info.value.filename == target and ".tmp" not in str(info.value)
    assert os.listdir(tmp_path) == []


def test_model_errors_on_the_command_line(tmp_path):
    one_error_line(run(["tokenize", "x", "--model", str(tmp_path)], tmp_path),
                   f"bytepiece-lite tokenize: error: {tmp_path}: cannot read the model file: Is a directory")
    fifo = tmp_path / "m.model"
    os.mkfifo(fifo)
    one_error_line(run(["info", "--model", str(fifo)], tmp_path, timeout=60), "not a regular file (a FIFO)")


# ------------------------------------------------------------------ progress

class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def test_progress_lines_when_not_a_terminal():
    out, clock = io.StringIO(), Clock()
    bar = _progress.Bar("encode", 8_000_000, "B", stream=out, clock=clock, terminal=False)
    for _ in range(4):
        clock.t += 3.0
        bar.update(1_000_000)        # 1 MB per 3 s: a line at 12 s (every LINE_INTERVAL = 10 s)
    bar.close()
    assert out.getvalue() == ("encode: 4.0/8.0 MB (50%), 333.3 kB/s, 12 s left\n"
                              "encode: 4.0/8.0 MB (50%), 333.3 kB/s, 12.0 s\n")


def test_progress_redraws_one_line_on_a_terminal():
    out, clock = io.StringIO(), Clock()
    bar = _progress.Bar("count n-grams", 100, "texts", stream=out, clock=clock, terminal=True)
    clock.t = 1.0
    bar.update(10)
    clock.t = 2.0
    bar.update(90)
    bar.close()
    first = "count n-grams: 10/100 texts (10%), 10 texts/s, 9 s left"
    second = "count n-grams: 100/100 texts (100%), 50 texts/s"
    assert out.getvalue() == (f"\r{first}"
                              f"\r{second}{' ' * (len(first) - len(second))}"   # blanks the rest
                              "\rcount n-grams: 100/100 texts (100%), 50 texts/s, 2.0 s\n")


def test_progress_without_a_total_shows_done_and_rate():
    out, clock = io.StringIO(), Clock()
    bar = _progress.Bar("count pieces", None, "texts", stream=out, clock=clock, terminal=False)
    clock.t = 11.0
    bar.update(2200)
    bar.close()
    assert out.getvalue() == "count pieces: 2200 texts, 200 texts/s\ncount pieces: 2200 texts, 200 texts/s, 11.0 s\n"


@pytest.mark.parametrize("seconds, text", [(0.4, "<1 s"), (42, "42 s"), (185, "3 min 05 s"), (3720, "1 h 02 min")])
def test_time_left_format(seconds, text):
    assert _progress.format_seconds(seconds) == text


def test_corpus_sizes(tmp_path):
    from pathlib import Path

    a = tmp_path / "a.txt"
    a.write_text("今天\nab\n", encoding="utf-8")
    total, unit, weight = _progress.corpus_size([Path(a)])
    assert (total, unit) == (10.0, "B") and weight(["今天\n", "ab\n"]) == 10.0
    assert _progress.corpus_size(str(a))[:2] == (10.0, "B")
    total, unit, weight = _progress.corpus_size(["x", "y", "z"])
    assert (total, unit) == (3.0, "texts") and weight(["x", "y"]) == 2

    class Texts:
        def __iter__(self):
            return iter(["x"])
    assert _progress.corpus_size(Texts())[:2] == (None, "texts")


def test_training_progress_goes_to_stderr_as_lines(tmp_path, monkeypatch, capsys):
    from pathlib import Path

    from bytepiece_lite import Trainer

    monkeypatch.setattr(_progress, "LINE_INTERVAL", 0.0)        # a line per batch
    monkeypatch.setattr("bytepiece_lite._train_tasks.BATCH_CHARS", 100)
    corpus = tmp_path / "c.txt"
    corpus.write_text("今天天气不错\n天气很好\n" * 40, encoding="utf-8")
    Trainer(order=3, max_vocab_size=300).train([Path(corpus)], progress=True)
    err = capsys.readouterr().err
    assert "\r" not in err
    size = corpus.stat().st_size
    lines = [line for line in err.splitlines() if line.startswith("count n-grams: ") and "/" in line]
    assert lines[-1].startswith(f"count n-grams: {size / 1e3:.1f}/{size / 1e3:.1f} kB (100%), ")
    assert len(lines) >= 4 and all("%), " in line and line.endswith(" left") for line in lines[:-1])
    assert lines[0].startswith("count n-grams: 0.") and "(100%)" not in lines[0]
    assert any(line.startswith("count pieces: ") and "(100%)" in line for line in err.splitlines())


def test_corpus_encoding_progress(tmp_path, text_file, capsys):
    out = tmp_path / "ids.npy"
    assert main(["encode", "--input", text_file, "--output", str(out)]) == 0
    err = capsys.readouterr().err
    size = os.path.getsize(text_file)
    assert f"encode: {size}/{size} B (100%), " in err
    assert json.loads((tmp_path / "ids.npy.json").read_text())["tokens"] == len(np.load(out))
