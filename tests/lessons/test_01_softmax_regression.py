"""Smoke test: lesson L01 runs and shows its softmax-regression claims (`--quick`).

The run goes through `benchmarks/lessons.py --quick` (the runner of README's lessons table), so
the one run checks the lesson and the runner's record of it.
"""

import json
import math
import os
import re
import subprocess
import sys
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STEM = "01_softmax_regression"


def _run_through_the_benchmark(tmp_path):
    work = tmp_path / "work"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": "", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "lessons.py"), "--quick", "--only", STEM, "--workdir", str(work)],
        cwd=ROOT, capture_output=True, text=True, timeout=600, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    record = Path(re.findall(r"wrote (\S+\.json)", done.stdout)[-1])
    # --quick numbers never reach README: the record goes to a temporary folder
    assert not record.resolve().is_relative_to(ROOT / "benchmarks" / "results")
    out = work / STEM / "out0"
    results = json.loads((out / "results.json").read_text())
    return types.SimpleNamespace(results=results, out=out, models=work / STEM / "models0",
                                 record=json.loads(record.read_text()))  # fmt: skip


def test_softmax_regression_lesson_quick_run(tmp_path):
    run = _run_through_the_benchmark(tmp_path)
    r = run.results
    # the runner's record: this run's numbers, its headline rows, the commit it ran on
    assert run.record["quick"] is True and run.record["seeds"] == [0]
    assert run.record["results"]["test_accuracy"] == r["test_accuracy"]
    assert run.record["readme_table"]["rows"][0][0] == f"`{STEM}`"
    assert run.record["machine"]["git_commit"]

    # an untrained 10-class softmax has loss -ln(1/10)
    assert r["ln_10"] == math.log(10)
    assert abs(r["untrained_loss"] - math.log(10)) < 0.02
    # erratum: the notes' `x += lr * dx` climbs the loss, gradient descent subtracts
    assert r["erratum_loss_after_x_plus_lr_dx"] > r["erratum_loss_before_step"] > r["erratum_loss_after_x_minus_lr_dx"]
    # the low-level tf.Variable / GradientTape loop and Keras + train() are the same computation
    assert r["max_weight_difference_lowlevel_vs_keras"] < 1e-4
    assert r["max_epoch_accuracy_difference_lowlevel_vs_keras"] < 1e-3
    assert abs(r["lowlevel_test_accuracy"] - r["keras_test_accuracy"]) < 2e-3
    # accuracy by argmax, per batch and per epoch: near chance on the first batch, rising per epoch
    assert r["lowlevel_first_batch_accuracy"] < 0.3
    assert r["lowlevel_epoch2_train_accuracy"] > r["lowlevel_epoch1_train_accuracy"]
    assert r["test_accuracy"] > 0.88 and r["epochs"] == 2
    # the saturated sigmoid neuron: sigma'(4), and both gradients from GradientTape = the closed form
    assert abs(r["neuron_sigma_prime_at_start"] - 0.0177) < 5e-5
    assert abs(r["neuron_cross_entropy_initial_dC_dw"] - 0.982) < 5e-4
    for name in ("squared_error", "cross_entropy"):
        assert abs(r[f"neuron_{name}_initial_dC_dw"] - r[f"neuron_closed_form_{name}_dC_dw"]) < 1e-9
    ratio = r["neuron_squared_error_initial_dC_dw"] / r["neuron_cross_entropy_initial_dC_dw"]
    assert abs(ratio - r["neuron_sigma_prime_at_start"]) < 1e-9
    assert r["neuron_cross_entropy_output_after_300_steps"] < 0.05
    assert r["neuron_squared_error_output_after_300_steps"] > 0.15
    # softmax regression from a saturated start: squared error stalls at chance, cross-entropy does not
    assert r["saturated_cross_entropy_steps_to_half_accuracy"] <= 20
    assert r["saturated_squared_error_steps_to_half_accuracy"] > 40
    assert r["saturated_squared_error_mean_batch_accuracy_first_50_steps"] < 0.15

    for figure in ("softmax_regression_training.png", "squared_error_vs_cross_entropy.png"):
        assert (run.out / figure).stat().st_size > 1000
    assert (Path(r["saved_model"]) / "saved_model.pb").is_file()
    assert Path(r["saved_model"]).parent == run.models / "01_softmax_regression"
