"""The benchmark runs end to end in --quick mode and writes well-formed results (not speed)."""
from __future__ import annotations

import json
import random
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))

import ab_builds  # noqa: E402
import bench  # noqa: E402
import bench_long_text  # noqa: E402
import cost_breakdown  # noqa: E402
import sampling_distribution  # noqa: E402


def _corpus(tmp_path: Path) -> list[str]:
    rng = random.Random(0)
    words = ["alpha", "beta", "gamma", "delta", "今天", "天气", "不错", "数据", "1234", "x"]
    paths = []
    for name in ("en.txt", "zh.txt"):
        lines = [" ".join(rng.choice(words) for _ in range(rng.randint(1, 12))) + "\n" for _ in range(1500)]
        p = tmp_path / name
        p.write_text("".join(lines), encoding="utf-8")
        paths.append(str(p))
    return paths


def test_quick_benchmark_writes_its_reports(tmp_path):
    out = tmp_path / "out"
    result = bench.main(["--corpus", *_corpus(tmp_path), "--quick", "--vocab-size", "400",
                         "--out", str(out), "--cache", str(tmp_path / "cache")])
    data = json.loads((out / "results.json").read_text())
    assert set(data) >= {"command", "machine", "versions", "corpora", "load", "scaling", "absent"}
    assert set(data["corpora"]) == {"en.txt", "zh.txt"}
    for block in data["corpora"].values():
        rates = block["rates"]
        for key in ("bytepiece-lite tokenize det", "bytepiece-lite tokenize viterbi a=0.1",
                    "bytepiece-lite tokenize exact a=0.1", "floor: automaton walk visiting every match",
                    "bytepiece-lite [pyahocorasick backend] det"):
            assert rates[key] > 0
        assert block["compression"]["bytepiece-lite"] > 1.0
    # every peer is either measured or listed as absent
    measured = " ".join(next(iter(data["corpora"].values()))["rates"])
    for peer, marker in [("SentencePiece", "SentencePiece"), ("upstream bytepiece 0.6.3", "upstream"),
                         ("HF tokenizers", "HF tokenizers"), ("tiktoken", "tiktoken")]:
        assert (marker in measured) != (peer in data["absent"])
    assert {r["shape"] for r in data["scaling"]} == {"many lines", "one line"}
    assert data["load"]["bytepiece-lite (ours)"]["load_s"] > 0
    md = (out / "results.md").read_text()
    assert "| SP-Unigram |" in md and "| bytepiece-lite |" in md and "## Scaling" in md
    for png in result["plots"]:
        assert (out / png).read_bytes()[:4] == b"\x89PNG"


def test_sampling_distribution_script_prints_its_tables(capsys):
    sampling_distribution.main(["--draws", "500", "--alphas", "0.1"])
    out = capsys.readouterr().out
    assert "| alpha | segmentation | target P(w)^a/Z | exact sampler | viterbi sampler |" in out
    assert "TV(exact sampler, target)" in out


def test_ab_builds_times_a_statement_under_two_builds(tmp_path):
    import bytepiece_lite
    build = str(Path(bytepiece_lite.__file__).resolve().parents[1])
    model = str(Path(bytepiece_lite.__file__).resolve().parent / "data" / "default.model.zip")
    corpus = _corpus(tmp_path)
    ratios = ab_builds.main([build, build, "tok.encode(b, alpha=0.1, seed=1)", "--model", model,
                             "--corpus", *corpus, "--bytes", "20000", "--rounds", "2"])
    assert list(ratios) == corpus and all(r > 0 for r in ratios.values())


def test_long_text_benchmark_times_every_call_on_1_and_2_threads(tmp_path, capsys):
    import re

    import bytepiece_lite
    model = str(Path(bytepiece_lite.__file__).resolve().parent / "data" / "default.model.zip")
    bench_long_text.main(["--model", model, "--corpus", *_corpus(tmp_path), "--mb", "0.2",
                          "--rounds", "1", "--sizes"])
    out = capsys.readouterr().out
    rows = re.findall(r"^  (\S.*?\)?)\s+1 thread\s+([\d.]+) MB/s\s+2 threads\s+([\d.]+) MB/s\s+x([\d.]+)",
                      out, re.M)
    assert [r[0] for r in rows] == ["encode(str)", "encode_to_numpy(str)", "encode_to_numpy(bytes)",
                                    "tokenize(str, alpha=0.1)", "encode(str, alpha=0.1, exact)"]
    assert all(float(x) > 0 for r in rows for x in r[1:])
    assert re.search(r"^\s+64 KB  2 threads x[\d.]+", out, re.M)


@pytest.mark.parametrize("name", ["aho_corasick", "exact_linear"])
def test_the_experiments_still_apply_to_the_core(name):
    # An experiment is a patch of the test hooks with its script (README, "The engine"): it
    # must keep applying to the current source, or its figures could no longer be reproduced.
    root = BENCH.parent
    if not (root / "bytepiece_lite" / "probes.pxi").exists() or shutil.which("git") is None:
        pytest.skip("needs the source tree and git (not a copy of tests/ beside a wheel)")
    patch = BENCH / "experiments" / f"{name}.patch"
    done = subprocess.run(["git", "apply", "--check", str(patch)], cwd=root,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    before = list(sys.path)
    script = runpy.run_path(str(BENCH / "experiments" / f"{name}.py"))
    assert callable(script["main"])
    assert sys.path == before       # loading it must not change what later tests import


def test_single_text_rows_run_on_one_thread_unless_named(monkeypatch):
    # A text of 1 MB or more takes every core by default: the rows set against one-thread
    # peers must ask for one thread, and a row on more must say so in its name.
    from bytepiece_lite import Tokenizer
    tok = Tokenizer.default()
    asked = {}

    def spy(method):
        real = getattr(tok, method)

        def call(*args, **kwargs):
            asked[current] = kwargs.get("num_threads")
            return real(*args, **kwargs)
        return call

    for method in ("tokenize", "encode", "encode_batch_flat"):
        monkeypatch.setattr(tok, method, spy(method))
    for current, run in bench.ours_systems(tok, lambda t: t.splitlines(True)).items():
        run("some text\n今天天气不错\n")
    for name, threads in asked.items():
        assert threads == (bench.THREADS if "threads" in name else 1), name
    assert sum("threads" not in name for name in asked) >= 5


def test_cost_breakdown_takes_each_part_as_the_difference_its_calls_make():
    # seconds over 1e9 bytes read as ns per byte; two rounds, the second 10% slower
    base = {"walk": 1.0, "walk and visits": 1.5, "SentencePiece det": 20.0,
            "SentencePiece sampling": 200.0}
    for i, m in enumerate(cost_breakdown.MODES):
        base[f"{m} numpy(bytes)"] = 4.0 + 4 * i
        base[f"{m} tokenize(bytes)"] = 5.0 + 4 * i
        base[f"{m} tokenize(str)"] = 5.5 + 4 * i
    times = {k: [v, 1.1 * v] for k, v in base.items()}
    table = cost_breakdown.breakdown(times, 10**9)
    assert table["walk"] == {"deterministic": (1.05, 1.0, 1.1)}
    assert table["match visits"]["deterministic"] == pytest.approx((0.525, 0.5, 0.55))
    assert table["Viterbi update"]["exact"] == pytest.approx((11.025, 10.5, 11.55))
    assert table["output list"]["Viterbi Sampling"] == pytest.approx((1.05, 1.0, 1.1))
    assert table["str handling"]["deterministic"] == pytest.approx((0.525, 0.5, 0.55))
    assert table["total: tokenize(str)"]["exact"] == pytest.approx((14.175, 13.5, 14.85))
    # the bar: half SentencePiece's time; for the samplers an eighth of its sampling time,
    # unless twice our deterministic time is less
    assert table["bar: at most"]["deterministic"][0] == pytest.approx(10.5)
    assert table["bar: at most"]["exact"][0] == pytest.approx(min(210.0 / 8, 2 * 5.775))
    md = cost_breakdown.markdown("x.txt", 10**9, table)
    assert "| walk | 1.05 (1.00-1.10) | (same) | (same) |" in md


def test_cost_breakdown_runs_on_a_corpus(tmp_path, capsys):
    import bytepiece_lite
    model = str(Path(bytepiece_lite.__file__).resolve().parent / "data" / "default.model.zip")
    result = cost_breakdown.main(["--model", model, "--corpus", *_corpus(tmp_path),
                                  "--max-bytes", "20000", "--rounds", "1", "--vocab-size", "400",
                                  "--cache", str(tmp_path / "cache")])
    assert set(result) == {"en.txt", "zh.txt"}
    for table in result.values():
        assert set(table) >= set(cost_breakdown.PARTS)
        assert ("SentencePiece" in table) == (bench.spm is not None)
        assert all(table[p]["deterministic"][0] > 0 for p in ("walk", "total: tokenize(str)"))
        assert set(table["Viterbi update"]) == set(cost_breakdown.MODES)
    assert "| Viterbi update |" in capsys.readouterr().out
