"""`run_lesson`: run a lesson script with `--quick` in a fresh process, return its results;
`notebook_runner`: benchmarks/notebooks.py (run a lesson as a notebook through a Jupyter kernel)."""

import importlib.util
import json
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def run_lesson(tmp_path_factory):
    """`run_lesson("03_optimization")` -> namespace(results, stdout, out, models).

    The lesson writes its figures and results.json under <a fresh tmp folder>/out and its
    SavedModels under .../models; a non-zero exit fails the test with the lesson's output tail.
    Session-scoped, so a module fixture can share one run among a file's tests.
    """

    def run(stem, timeout=300):
        workdir = tmp_path_factory.mktemp(stem)
        out, models = workdir / "out", workdir / "models"
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(ROOT), "CUDA_VISIBLE_DEVICES": ""}
        result = subprocess.run(
            [sys.executable, str(ROOT / "lessons" / f"{stem}.py"), "--quick",
             "--output-dir", str(out), "--saved-models-dir", str(models)],
            capture_output=True, text=True, timeout=timeout, env=env,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        results = json.loads((out / "results.json").read_text())
        return types.SimpleNamespace(results=results, stdout=result.stdout, out=out, models=models)

    return run


@pytest.fixture(scope="session")
def notebook_runner():
    """benchmarks/notebooks.py as a module (skips without the dev extra's Jupyter packages)."""
    for package in ("jupytext", "nbclient", "ipykernel"):
        pytest.importorskip(package, reason="the dev extra installs it")
    spec = importlib.util.spec_from_file_location("bench_notebooks", ROOT / "benchmarks" / "notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
