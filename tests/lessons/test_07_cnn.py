"""Lesson L07 runs (`--quick`) and shows every claim it prints: the conv arithmetic exactly."""

import math
from pathlib import Path

import pytest

from tfcourse.serving import read_class_names


@pytest.fixture(scope="module")
def quick_run(run_lesson):
    run = run_lesson("07_cnn", timeout=600)
    return run.results, run.out, run.models


def test_conv_layer_arithmetic_of_the_notes(quick_run):
    r, _, _ = quick_run
    assert r["conv_output_shape"] == [28, 28, 6] and r["conv_output_side_formula"] == 28
    assert r["conv_kernel_weights"] == r["conv_kernel_weights_formula"] == 450
    assert r["conv_biases"] == 6 and r["conv_parameters"] == 456
    # one kernel sums over all 3 input channels (float32 round-off only)
    assert r["one_kernel_sums_channels_max_error_by_hand"] < 1e-5
    assert r["one_kernel_sums_channels_max_error_per_channel_sum"] < 1e-5


def test_padded_output_formula(quick_run):
    r, _, _ = quick_run
    cases = r["padded_formula_cases"]
    assert len(cases) == 7 and r["padded_formula_all_match"] is True
    for row in cases:  # recompute the closed form here, independently of the lesson
        assert row["layer"] == math.floor((row["n"] + 2 * row["p"] - row["f"]) / row["s"]) + 1
    assert r["same_padding_keeps_side"] == 32


def test_edge_detection(quick_run):
    r, out, _ = quick_run
    assert r["edge_6x6_vertical_output"] == [[0.0, 30.0, 30.0, 0.0]] * 4
    assert r["sobel_x_on_horizontal_edge_max_abs"] == 0.0
    assert r["sobel_y_on_horizontal_edge_max_abs"] == 40.0  # negative control: Sobel y sees it
    assert r["digit_sobel_x_equals_vertical_plus_centre_row"] < 1e-5
    assert (out / "edges.png").stat().st_size > 1000


def test_pooling_has_no_parameters_no_overlap_and_downsamples(quick_run):
    r, _, _ = quick_run
    assert r["pool_parameters"] == 0 and r["pool_output_side"] == 14
    assert r["pool_avg_2x2_windows_per_pixel_min"] == r["pool_avg_2x2_windows_per_pixel_max"] == 1
    assert r["pool_avg_3x3_stride2_windows_per_pixel_max"] == 4  # negative control: overlapping
    assert r["maxpool_pixels_passing_gradient"] == r["maxpool_windows"] == 196


def test_fully_connected_share(quick_run):
    r, _, _ = quick_run
    rows = {row["model"]: row for row in r["fc_share_table"]}
    assert r["lenet5_parameters"] == 156 + 2_416 + 48_120 + 10_164 + 850 == 61_706
    assert r["lenet5_fc_share"] == pytest.approx((48_120 + 10_164 + 850) / 61_706, abs=1e-12)
    assert rows["quickstart CNN"]["fc_share"] == pytest.approx(16_010 / 34_826, abs=1e-12)
    assert rows["LeNet-5"]["multiply_adds"] == 28 * 28 * 150 + 10 * 10 * 150 * 16 + 400 * 120 + 120 * 84 + 840
    # the claim holds for some heads and not for others
    in_band = r["fc_share_rows_in_60_80_percent"]
    assert in_band and "LeNet-5" not in in_band and "quickstart CNN" not in in_band
    assert all(0.6 <= rows[name]["fc_share"] <= 0.8 for name in in_band)
    assert rows["best CNN body + global average pooling"]["fc_share"] < 0.05
    shares = [rows[f"best CNN body + dense({h}) head"]["fc_share"] for h in (8, 16, 32, 128, 512)]
    assert shares == sorted(shares)


def test_training_filters_and_export(quick_run):
    r, out, models = quick_run
    assert r["best_cnn_test_accuracy"] > 0.85
    assert r["lenet5_test_accuracy"] > 0.5
    assert r["best_cnn_epochs"] == 2 and r["keras_io_convnet_epochs"] == 15
    assert r["target_met"] == (r["best_cnn_test_accuracy"] >= 0.992)
    assert r["first_layer_filters_shape"] == [3, 3, 32]
    assert (out / "first_layer_filters.png").stat().st_size > 1000
    assert r["class_names"] == [str(d) for d in range(10)]
    assert (Path(r["saved_model"]) / "saved_model.pb").is_file()
    assert list(read_class_names(r["saved_model"])) == r["class_names"]
    assert Path(r["saved_model"]).parent == models / "07_cnn"
