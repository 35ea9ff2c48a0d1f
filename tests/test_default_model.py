"""The embedded default model: its size, its ids' width, and what the README example shows."""
from __future__ import annotations

import json

from bytepiece_lite import Tokenizer
from bytepiece_lite.cli import main

EXAMPLE = "Hello world, this is a tokenizer test. The quick brown fox jumps over the lazy dog."


def test_default_model_fits_uint16_and_40k_pieces():
    tok = Tokenizer.default()
    assert len(tok.pieces()) <= 40_000
    assert tok.vocab_size <= 2 ** 16


def test_readme_example_keeps_common_words_whole():
    pieces = Tokenizer.default().tokenize(EXAMPLE)
    assert b"".join(pieces) == EXAMPLE.encode()
    for word in (b"Hello", b" world", b" quick", b" brown", b" dog", b" test"):
        assert word in pieces
    assert len(pieces) <= 20      # 84 bytes: more than 4 bytes a token


def test_readme_install_command_output():
    # README, "Install and run", prints this line: keep the two in step.
    pieces = Tokenizer.default().tokenize("The weather is nice today. 今天天气不错。")
    assert " | ".join(p.decode() for p in pieces) == \
        "The |  weather |  is |  nice |  today | .  | 今天 | 天气 | 不错。"


def test_info_gives_the_model_size_and_measures_files(tmp_path, capsys):
    text = tmp_path / "en.txt"
    text.write_text(EXAMPLE + "\n\n" + EXAMPLE + "\n", encoding="utf-8")
    assert main(["info", "--measure", str(text)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["model"] == "embedded default" and info["model_file_bytes"] > 0
    tok = Tokenizer.default()
    expected = len(EXAMPLE.encode()) / len(tok.encode(EXAMPLE))
    assert info["bytes_per_token"][str(text)] == round(expected, 3)
