"""Smoke test: the flagship quickstart trains the fast MNIST recipe, reports and exports (`--quick`)."""

from pathlib import Path


def test_quickstart_quick_run(run_lesson):
    run = run_lesson("00_quickstart")
    results = run.results
    models = run.models
    # the header's --quick claim: one epoch on 20,000 images
    assert results["train_images"] == 20_000 and results["epochs"] == 1
    assert results["test_accuracy"] > 0.96
    assert results["train_seconds"] > 0
    assert "test accuracy" in run.stdout and "s of training" in run.stdout
    # the figure's claim: few of the first 24 test digits are wrong (accuracy > 0.96 expects < 1)
    assert 0 <= results["first_24_test_errors"] <= 2
    assert f"{results['first_24_test_errors']} of the first 24 test digits misclassified" in run.stdout
    assert (run.out / "test_predictions.png").stat().st_size > 10_000
    exported = Path(results["saved_model"])
    assert exported.parent == models / "mnist_cnn"
    assert (exported / "saved_model.pb").is_file()
