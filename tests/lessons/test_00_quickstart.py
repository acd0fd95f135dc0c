"""Smoke test: the flagship quickstart lesson trains, reports and exports (`--quick`)."""

from pathlib import Path


def test_quickstart_quick_run(run_lesson):
    run = run_lesson("00_quickstart")
    results = run.results
    models = run.models
    assert results["test_accuracy"] > 0.8
    assert "test_accuracy" in run.stdout
    exported = Path(results["saved_model"])
    assert exported.parent == models / "mnist_cnn"
    assert (exported / "saved_model.pb").is_file()
