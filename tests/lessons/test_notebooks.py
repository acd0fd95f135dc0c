"""Lessons run unchanged as notebooks: jupytext conversion, a real Jupyter kernel (nbclient),
quick mode from TFCOURSE_QUICK, figures shown inline as image/png outputs."""

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytest.importorskip("jupytext", reason="the dev extra installs jupytext")
pytest.importorskip("nbclient", reason="the dev extra installs nbclient")
pytest.importorskip("ipykernel", reason="the dev extra installs ipykernel")


def _notebooks_module():
    spec = importlib.util.spec_from_file_location("bench_notebooks", ROOT / "benchmarks" / "notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(stem, tmp_path):
    notebooks = _notebooks_module()
    notebook = notebooks.to_notebook(ROOT / "lessons" / f"{stem}.py")
    assert sum(cell.cell_type == "code" for cell in notebook.cells) > 3, "one cell per # %% section"
    executed = notebooks.execute(notebook, tmp_path, quick=True, timeout=600)
    errors = [o for o in notebooks.outputs_of(executed, "error")]
    assert not errors, errors
    return notebooks, executed


def test_quickstart_runs_as_a_notebook(tmp_path):
    """Through `benchmarks/notebooks.py`'s own runner (`make notebooks-run`), so its JSON is checked too."""
    notebooks = _notebooks_module()
    executed = notebooks.run_notebooks([ROOT / "lessons" / "00_quickstart.py"], tmp_path / "work", quick=True,
                                       results_dir=tmp_path / "results")["00_quickstart"]
    assert not list(notebooks.outputs_of(executed, "error"))
    stdout = notebooks.stdout_of(executed)
    assert "== Quickstart: the fast MNIST recipe ==" in stdout
    work = tmp_path / "work" / "00_quickstart"
    results = json.loads((work / "outputs" / "00_quickstart" / "results.json").read_text())
    assert results["epochs"] == 1, "TFCOURSE_QUICK=1 selected quick mode"
    assert results["test_accuracy"] > 0.8
    # SavedModel under the kernel's working directory, from TFCOURSE_SAVED_MODELS_DIR.
    assert (Path(results["saved_model"]) / "saved_model.pb").is_file()
    assert Path(results["saved_model"]).is_relative_to(work / "saved_models")
    # The runner's record: the executed notebook, and the JSON README's table would come from.
    assert (notebooks.NOTEBOOKS / "executed" / "00_quickstart.ipynb").is_file()
    document = json.loads((tmp_path / "results" / "notebooks.json").read_text())
    assert document["quick"] is True and document["machine"]["git_commit"]
    assert document["lessons"]["00_quickstart"]["inline_figures"] == notebooks.image_count(executed) == 1
    assert document["readme_table"]["rows"][0][0] == "`00_quickstart`"


def test_figure_lesson_shows_its_figures_inline(tmp_path):
    notebooks, executed = _run("04_initialization", tmp_path)
    out = tmp_path / "outputs" / "04_initialization"
    saved = sorted(p.name for p in out.glob("*.png"))
    assert saved, "the figures are also saved as files"
    # One inline image/png per saved figure: shown once, not twice (inline backend) nor zero (Agg).
    assert notebooks.image_count(executed) == len(saved)
    png = next(o for o in notebooks.outputs_of(executed) if "image/png" in o.get("data", {}))
    assert len(png["data"]["image/png"]) > 10_000  # base64 of a real plot, not an empty canvas
    assert "== L04 Initialization ==" in notebooks.stdout_of(executed)
