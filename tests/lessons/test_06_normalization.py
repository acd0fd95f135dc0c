"""Smoke test: lesson L06 runs and shows the normalization claims (`--quick`)."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_normalization_lesson_quick_run(tmp_path):
    out, models = tmp_path / "out", tmp_path / "models"
    result = subprocess.run(
        [sys.executable, str(ROOT / "lessons" / "06_normalization.py"), "--quick",
         "--output-dir", str(out), "--saved-models-dir", str(models)],
        capture_output=True, text=True, timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    r = json.loads((out / "results.json").read_text())

    # input normalization
    assert abs(r["input_standardized_mean"]) < 1e-6 and abs(r["input_standardized_std"] - 1) < 1e-6
    assert r["input_minmax_min"] == 0 and r["input_minmax_max"] == 1
    assert r["log_normalization_max_over_median_after"] < 0.01 * r["log_normalization_max_over_median_before"]
    assert r["softmax_raw_inputs_final_train_loss"] > 10 * r["softmax_standardized_inputs_final_train_loss"]
    assert r["softmax_standardized_inputs_val_accuracy"] > 0.8
    # BN and weight norm train faster than the plain CNN at the same small learning rate
    assert r["cnn_bn_final_train_loss"] < r["cnn_no_norm_final_train_loss"]
    assert r["cnn_bn_val_accuracy"] > r["cnn_no_norm_val_accuracy"]
    assert r["cnn_weightnorm_final_train_loss"] < r["cnn_no_norm_final_train_loss"]
    assert abs(r["weightnorm_first_batch_preactivation_mean"]) < 1e-3
    assert abs(r["weightnorm_first_batch_preactivation_std"] - 1) < 1e-2
    # LRN: a strong channel damps its neighbour
    assert r["lrn_demo_weak_channel_next_to_strong_after"] < 0.2
    # BN's training-mode output depends on the rest of the batch, GN's does not
    assert r["bn_output_change_when_batch_companion_changes"] > 0.1
    assert r["gn_output_change_when_batch_companion_changes"] == 0.0
    # GN vs BN accuracy table at batch sizes 2, 8, 32 (all trained, all better than chance)
    for name in ("bn", "gn"):
        for batch in (2, 8, 32):
            assert r[f"{name}_batch{batch}_val_accuracy"] > 0.5
    assert 0 < r["alexnet_block_lrn_val_accuracy"] <= 1

    assert (out / "bn_curves.png").stat().st_size > 1000
    assert (Path(r["saved_model"]) / "saved_model.pb").is_file()
    assert Path(r["saved_model"]).parent == models
