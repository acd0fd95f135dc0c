"""benchmarks/fast_mnist_keras.py (the GPU host's fast MNIST run through Keras alone): its data file,
its training path and its verdicts, on tiny data (the GPU numbers live in benchmarks/results/)."""

import dataclasses
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from tfcourse.fast_mnist import RECORD

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "fast_mnist_keras.py"


@pytest.fixture(scope="module")
def bench(load_script):
    return load_script(SCRIPT)


def test_load_data_scales_to_unit_range_and_limits_the_train_split(bench, tmp_path):
    rng = np.random.default_rng(0)
    arrays = {f"mnist_{split}_{part}": value for split, n in (("train", 30), ("test", 10))
              for part, value in (("images", rng.integers(0, 256, (n, 28, 28, 1), dtype=np.uint8)),
                                  ("labels", rng.integers(0, 10, n)))}  # fmt: skip
    np.savez_compressed(tmp_path / "arrays.npz", **arrays)
    images, labels, test_images, test_labels = bench.load_data(tmp_path / "arrays.npz", "mnist", limit=20)
    assert images.shape == (20, 28, 28, 1) and images.dtype == np.float32 and test_images.shape == (10, 28, 28, 1)
    np.testing.assert_allclose(images, arrays["mnist_train_images"][:20] / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(test_labels, arrays["mnist_test_labels"])


def test_train_recipe_learns_and_restores_the_dtype_policy(bench):
    import keras

    rng = np.random.default_rng(1)
    labels = rng.integers(0, 10, 512)
    # Separable on purpose: each class lights its own image row, so a working loop must learn it.
    images = rng.uniform(0, 0.1, (512, 28, 28, 1)).astype("float32")
    images[np.arange(512), labels * 2 + 4] += 0.9
    recipe = dataclasses.replace(RECORD, filters=(4, 8), dense_units=16, epochs=3, batch_size=64,
                                 mixed_precision="mixed_bfloat16")  # fmt: skip
    before = keras.config.dtype_policy().name
    model, seconds = bench.train_recipe(recipe, images, labels, seed=0)
    assert keras.config.dtype_policy().name == before, "the recipe's policy must not leak"
    assert model.layers[0].dtype_policy.name == "mixed_bfloat16"
    assert seconds > 0
    assert bench.accuracy(model, images, labels) > 0.9  # chance is 0.1


def test_rows_say_met_only_when_both_targets_are_met_and_mark_stages_not_run(bench):
    baseline = {"reached": True, "epochs": 3, "train_seconds": 6.0, "test_accuracies": [0.98, 0.985, 0.991]}
    entry = lambda accuracy, seconds: {"runs": [{}], "mean_test_accuracy": accuracy,  # noqa: E731
                                       "min_test_accuracy": accuracy, "median_train_seconds": seconds}
    rows, ratio = bench.rows_for("GPU", baseline, {"record": entry(0.991, 0.5), "fashion": entry(0.92, 10.0)})
    verdicts = {row[0].split(" (")[0].split(" >=")[0]: row[-1] for row in rows}
    assert verdicts["MNIST record recipe"] == "**met**"
    assert verdicts["Fashion-MNIST"] == "**not met**"  # 0.92 < 0.93 although fast enough
    assert "not run" in verdicts["MNIST, BN + shifts"]
    assert ratio == pytest.approx(12.0)
    assert rows[-1][-1] == "**not met** (goal >= 15x)"  # 12x
    rows, ratio = bench.rows_for("GPU", baseline, {"record": entry(0.991, 0.4)})
    assert ratio == pytest.approx(15.0) and rows[-1][-1] == "**met** (goal >= 15x)"
    rows, _ = bench.rows_for("GPU", {**baseline, "reached": False}, {"record": entry(0.991, 0.4)})
    assert rows[-1][-1] == "**not met** (goal >= 15x)"  # a baseline short of 99% gives no time to 99%
    rows, _ = bench.rows_for("GPU", baseline, {"record": entry(0.991, 1.5)})
    assert rows[1][-1] == "**not met**"  # accurate enough, too slow
    # a row left out with --only says so; one never reached says the run stopped (the negative control)
    rows, _ = bench.rows_for("GPU", baseline, {"record": entry(0.991, 0.5)}, left_out=["accurate"])
    verdicts = {row[0].split(" (")[0].split(" >=")[0]: row[-1] for row in rows}
    assert verdicts["MNIST, BN + shifts"] == "**not run** (left out of this run: `--only`)"
    assert verdicts["Fashion-MNIST"] == "**not run** (benchmark stopped before this stage)"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (dict(mixed_precision="mixed_float16"), "`recipe.mixed_precision` must be None, 'float32' or 'mixed_bfloat16'"),
        (dict(batch_norm=True, mixed_precision=None), "`recipe.batch_norm` must be False here"),
    ],
)
def test_one_program_loop_refuses_what_it_does_not_compute(bench, change, message):
    # checked before JAX is imported, so on any backend; the loop itself runs on the GPU host (README)
    images, labels = np.zeros((8, 28, 28, 1), "float32"), np.zeros(8, "int64")
    with pytest.raises(ValueError, match=message):
        bench.train_recipe_one_program(dataclasses.replace(RECORD, **change), images, labels, seed=0)


def test_machine_info_records_xla_flags_only_when_set(bench, monkeypatch):
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    assert "xla_flags" not in bench.machine_info("abc", "CPU")
    monkeypatch.setenv("XLA_FLAGS", "--xla_gpu_enable_command_buffer=")
    assert bench.machine_info("abc", "CPU")["xla_flags"] == "--xla_gpu_enable_command_buffer="


def test_write_keeps_the_machines_of_the_runs_it_continues(bench, tmp_path, monkeypatch):
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    baseline = {"reached": True, "epochs": 3, "train_seconds": 6.0, "test_accuracies": [0.98, 0.985, 0.991]}
    args = SimpleNamespace(only=None, quick=False, git_commit="def5678")
    earlier = [{"git_commit": "abc1234", "date_utc": "2026-11-27 13:47"}]
    _, path = bench.write(args, "GPU", baseline, {}, tmp_path, previous_machines=earlier)
    document = json.loads(path.read_text())
    assert document["previous_machines"] == earlier and document["machine"]["git_commit"] == "def5678"
    _, path = bench.write(args, "GPU", baseline, {}, tmp_path)  # control: a fresh run records no predecessor
    assert "previous_machines" not in json.loads(path.read_text())
