"""Smoke test: lesson L11 runs with --quick and its numbers tell the lesson's story."""

from pathlib import Path


def test_scale_and_export_lesson_quick_run(run_lesson):
    run = run_lesson("11_scale_and_export")
    r = run.results
    out, models = run.out, run.models

    # One device vs two logical devices: same numbers up to float32 summation order.
    assert r["history_diff_1_vs_2_devices"] < 1e-4
    assert r["weights_diff_1_vs_2_devices"] < 1e-3
    # fit vs the custom loop on the same 2 devices: the same arithmetic.
    assert r["history_diff_fit_vs_custom"] < 1e-5
    assert r["weights_diff_fit_vs_custom"] < 1e-5
    # Killed in epoch 2 (shuffled default pipeline), resumed at epoch index 1, same end point.
    assert r["resumed_initial_epoch"] == 1
    assert r["weights_diff_resumed_vs_uninterrupted"] == 0.0
    # Exported, reloaded without tfcourse, same outputs; PNG digits classified.
    assert r["reload_max_diff"] < 1e-5
    assert r["test_accuracy"] > 0.8
    assert r["png_digits"] == 6 and r["png_correct"] >= 4

    exported = Path(r["saved_model"])
    assert exported == models / "mnist_cnn_l11" / "1"
    assert (exported / "saved_model.pb").is_file() and (exported / "model.keras").is_file()
    assert len(list(out.glob("digit_*.png"))) == 6
    assert (out / "scale_and_export.png").stat().st_size > 10_000
    assert not (out / "backup" / "state.json").exists()  # the finished run removed its backup
