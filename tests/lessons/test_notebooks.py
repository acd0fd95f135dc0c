"""Lessons run unchanged as notebooks: jupytext conversion, a real Jupyter kernel (nbclient),
quick mode from TFCOURSE_QUICK (lesson L00 here; L04 with its inline figures in test_04_initialization.py)."""

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_quickstart_runs_as_a_notebook(tmp_path, notebook_runner):
    """Through `benchmarks/notebooks.py`'s own runner (`make notebooks-run`), so its JSON is checked too.

    A figure-drawing lesson's inline figures: tests/lessons/test_04_initialization.py runs L04 as a notebook.
    """
    notebooks = notebook_runner
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
