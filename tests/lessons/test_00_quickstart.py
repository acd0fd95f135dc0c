"""The flagship quickstart (`--quick`), run once the way a student opens it: converted to a notebook
and executed through a Jupyter kernel by `benchmarks/notebooks.py`'s own runner (`make notebooks-run`),
so that one run checks the lesson's claims, its inline figure and the runner's JSON.
(L04 also runs as a notebook, in test_04_initialization.py; every other lesson's test runs the script.)
"""

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def notebook_run(tmp_path_factory, notebook_runner):
    tmp = tmp_path_factory.mktemp("quickstart")
    executed = notebook_runner.run_notebooks([ROOT / "lessons" / "00_quickstart.py"], tmp / "work", quick=True,
                                             results_dir=tmp / "results")["00_quickstart"]  # fmt: skip
    assert not list(notebook_runner.outputs_of(executed, "error"))
    work = tmp / "work" / "00_quickstart"
    results = json.loads((work / "outputs" / "00_quickstart" / "results.json").read_text())
    return executed, work, results, tmp / "results" / "notebooks.json"


def test_quickstart_quick_run(notebook_run, notebook_runner):
    executed, work, results, _ = notebook_run
    stdout = notebook_runner.stdout_of(executed)
    assert "== Quickstart: the fast MNIST recipe ==" in stdout
    # the header's --quick claim (TFCOURSE_QUICK=1 selected quick mode): one epoch on 20,000 images
    assert results["train_images"] == 20_000 and results["epochs"] == 1
    assert results["test_accuracy"] > 0.96
    assert results["train_seconds"] > 0
    assert "test accuracy" in stdout and "s of training" in stdout
    # the figure's claim: few of the first 24 test digits are wrong (accuracy > 0.96 expects < 1)
    assert 0 <= results["first_24_test_errors"] <= 2
    assert f"{results['first_24_test_errors']} of the first 24 test digits misclassified" in stdout
    assert (work / "outputs" / "00_quickstart" / "test_predictions.png").stat().st_size > 10_000
    # the SavedModel, under the kernel's working directory (TFCOURSE_SAVED_MODELS_DIR)
    exported = Path(results["saved_model"])
    assert exported.parent == work / "saved_models" / "mnist_cnn"
    assert (exported / "saved_model.pb").is_file()


def test_quickstart_runs_as_a_notebook(notebook_run, notebook_runner):
    """The runner's record: the executed notebook, and the JSON README's notebooks table comes from."""
    executed, _, _, document_path = notebook_run
    assert (notebook_runner.NOTEBOOKS / "executed" / "00_quickstart.ipynb").is_file()
    document = json.loads(document_path.read_text())
    assert document["quick"] is True and document["machine"]["git_commit"]
    assert document["lessons"]["00_quickstart"]["inline_figures"] == notebook_runner.image_count(executed) == 1
    assert document["readme_table"]["rows"][0][0] == "`00_quickstart`"
