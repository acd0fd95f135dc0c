"""Benchmarks cannot rot: README's tables come from JSON of a commit in this repository's
history, and every benchmark script's `--quick` smoke run works (and writes nowhere near
benchmarks/results/)."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
SECTION = re.compile(r"<!-- BEGIN (?P<name>[\w-]+) -->")


def _in_git_checkout():
    probe = subprocess.run(["git", "rev-parse", "--git-dir"], cwd=ROOT, capture_output=True, text=True)
    return probe.returncode == 0


def _commit_of(document):
    """The commit in `machine.git_commit`, without "+dirty" or a trailing note."""
    recorded = str(document.get("machine", {}).get("git_commit", "")).strip()
    return recorded.split()[0].removesuffix("+dirty") if recorded else ""


def _readme_json_documents():
    text = (ROOT / "README.md").read_text()
    for name in SECTION.findall(text):
        if name == "lesson_list":
            continue
        folder, path = RESULTS / name, RESULTS / f"{name}.json"
        paths = sorted(folder.glob("*.json")) if folder.is_dir() else [path]
        for json_path in paths:
            yield name, json_path


def test_readme_tables_come_from_json_of_a_commit_in_history():
    if not _in_git_checkout():
        pytest.skip("not a git checkout (e.g. an sdist): there is no history to check commits against")
    documents = list(_readme_json_documents())
    assert documents, "README has generated result sections"
    for name, path in documents:
        assert path.is_file(), f"README section {name!r} has no {path.relative_to(ROOT)}"
        commit = _commit_of(json.loads(path.read_text()))
        assert re.fullmatch(r"[0-9a-f]{7,40}", commit), f"{path.name}: no git_commit recorded ({commit!r})"
        known = subprocess.run(["git", "cat-file", "-e", f"{commit}^{{commit}}"], cwd=ROOT, capture_output=True)
        assert known.returncode == 0, f"{path.name}: git_commit {commit} is not a commit of this repository"


def test_commit_parsing_and_a_made_up_commit_is_rejected():
    assert _commit_of({"machine": {"git_commit": "abc1234+dirty"}}) == "abc1234"
    assert _commit_of({"machine": {"git_commit": "86628d3 (measured before commits were recorded)"}}) == "86628d3"
    assert _commit_of({}) == ""
    if not _in_git_checkout():
        pytest.skip("not a git checkout")
    # Negative control: the same check refuses a commit that is not in the history.
    unknown = subprocess.run(["git", "cat-file", "-e", "0123456789abcdef0123456789abcdef01234567^{commit}"],
                             cwd=ROOT, capture_output=True)
    assert unknown.returncode != 0


QUICK_RUNS = {
    # script: extra arguments (beyond --quick); benchmarks/notebooks.py's runner is run by
    # tests/lessons/test_00_quickstart.py (the quickstart notebook) and benchmarks/lessons.py's by
    # tests/lessons/test_01_softmax_regression.py (its quick run), not a second time here
    "distribute": [],
    "input_pipeline": [],
    "layers": [],
    "optimizers": ["--optimizers", "Adam"],
    # the lesson runs themselves are covered by "lessons"; here: picking, copying, the index
    "figures": ["--only", "04_initialization", "--from-outputs", "{outputs}"],
}


def _snapshot(folder):
    return {p: p.stat().st_mtime_ns for p in folder.rglob("*.json")}


@pytest.mark.parametrize("script", sorted(QUICK_RUNS))
def test_benchmark_quick_mode_runs_and_leaves_results_alone(script, tmp_path):
    lesson_out = tmp_path / "outputs" / "04_initialization"
    lesson_out.mkdir(parents=True)
    for name in ("activation_histograms", "variance_per_layer", "not_a_key_figure"):
        (lesson_out / f"{name}.png").write_bytes(b"\x89PNG " + name.encode())
    before = _snapshot(RESULTS)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": "", "PYTHONPATH": str(ROOT)}
    extra = [arg.format(outputs=tmp_path / "outputs") for arg in QUICK_RUNS[script]]
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / f"{script}.py"), "--quick", *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=600, env=env,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert _snapshot(RESULTS) == before, "--quick must not write to benchmarks/results/"
    if script == "figures":
        index = Path(re.findall(r"wrote (\S+README\.md)", run.stdout)[-1])
        assert not index.resolve().is_relative_to(ROOT), "--quick must not write to docs/figures/"
        copied = index.parent / "04_initialization"
        assert sorted(p.name for p in copied.glob("*.png")) == ["1_variance_per_layer.png", "2_activation_histograms.png"]
        assert (copied / "1_variance_per_layer.png").read_bytes() == b"\x89PNG variance_per_layer"
        assert "04_initialization/1_variance_per_layer.png" in index.read_text()
        return
    written = re.findall(r"(?:wrote |-> )(\S+\.json)", run.stdout)
    assert written, run.stdout[-2000:]
    document = json.loads(Path(written[-1]).read_text())
    assert not Path(written[-1]).resolve().is_relative_to(RESULTS)
    assert _commit_of(document), "every benchmark JSON records the commit it ran on"
    assert document.get("readme_table", {}).get("rows"), "the table README would show"


def test_results_record_the_commit_the_benchmark_started_on(load_script, monkeypatch):
    common = load_script(ROOT / "benchmarks" / "_common.py")
    assert common.COMMIT_AT_START == common.git_commit()  # nothing has changed since the import
    # a result written later must not ask git again: by then the benchmark's own outputs dirty the tree
    monkeypatch.setattr(common, "git_commit", lambda: pytest.fail("git_commit() called after the start"))
    assert common.machine_info()["git_commit"] == common.COMMIT_AT_START
