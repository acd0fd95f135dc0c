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
    # script: extra arguments (beyond --quick)
    "distribute": [],
    "input_pipeline": [],
    "layers": [],
    "optimizers": ["--optimizers", "Adam"],
    "lessons": ["--only", "04_initialization"],
    "notebooks": ["--only", "00_quickstart"],
}


def _snapshot(folder):
    return {p: p.stat().st_mtime_ns for p in folder.rglob("*.json")}


@pytest.mark.parametrize("script", sorted(QUICK_RUNS))
def test_benchmark_quick_mode_runs_and_leaves_results_alone(script):
    if script == "notebooks":
        pytest.importorskip("nbclient", reason="the dev extra installs nbclient")
    before = _snapshot(RESULTS)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": "", "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / f"{script}.py"), "--quick", *QUICK_RUNS[script]],
        cwd=ROOT, capture_output=True, text=True, timeout=600, env=env,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert _snapshot(RESULTS) == before, "--quick must not write to benchmarks/results/"
    written = re.findall(r"(?:wrote |-> )(\S+\.json)", run.stdout)
    assert written, run.stdout[-2000:]
    document = json.loads(Path(written[-1]).read_text())
    assert not Path(written[-1]).resolve().is_relative_to(RESULTS)
    assert _commit_of(document), "every benchmark JSON records the commit it ran on"
    assert document.get("readme_table", {}).get("rows"), "the table README would show"
