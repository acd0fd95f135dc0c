"""Lesson L08 runs (`--quick`) and shows every claim it prints: the block arithmetic exactly."""

from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def quick_run(run_lesson):
    run = run_lesson("08_modern_cnn", timeout=900)
    return run.results, run.out, run.models, run.stdout


def test_inception_block_channels(quick_run):
    r, _, _, _ = quick_run
    assert r["inception_output_shape"] == [12, 12, 88]
    assert r["inception_output_channels_formula"] == 24 * 3 + 16 == 88


def test_bottleneck_multiplies_and_the_notes_typo(quick_run):
    r, _, _, stdout = quick_run
    assert r["multiplies_direct"] == r["multiplies_direct_formula"] == 120_422_400
    assert r["multiplies_bottleneck_1x1"] == 1 * 1 * 28 * 28 * 192 * 16 == 2_408_448
    assert r["multiplies_bottleneck_5x5"] == 5 * 5 * 28 * 28 * 16 * 32 == 10_035_200
    assert r["multiplies_bottleneck"] == r["multiplies_bottleneck_formula"] == 12_443_648
    assert r["multiplies_bottleneck_notes_typo"] == 12_433_648 != r["multiplies_bottleneck"]
    assert r["bottleneck_saving_factor"] == pytest.approx(120_422_400 / 12_443_648, rel=1e-12)
    assert "12,433,648: a typo, off by 10,000" in stdout


def test_residual_gradient_and_projection(quick_run):
    r, out, _, _ = quick_run
    assert r["residual_jacobian_minus_identity_max_error"] < 1e-12  # float64
    assert r["deep_net_conv_layers"] == 41  # stem + 20 blocks of 2
    assert r["residual_over_plain_first_layer_gradient"] > 10
    assert r["residual_first_layer_gradient_norm"] > 1e-3
    assert "incompatible shapes" in r["identity_shortcut_shape_change_error"]
    assert r["projection_shortcut_output_shape"] == [7, 7, 32]
    assert (out / "residual_gradient_norms.png").stat().st_size > 1000


def test_classic_networks_from_scratch(quick_run):
    r, _, _, _ = quick_run
    assert r["LeNet-5_parameters"] == 61_706
    # AlexNet with the two-GPU groups: conv 34,944 + 307,456 + 885,120 + 663,936 + 442,624,
    # dense 9216*4096+4096, 4096*4096+4096, 4096*1000+1000
    assert r["AlexNet_parameters"] == (34_944 + 307_456 + 885_120 + 663_936 + 442_624
                                       + 37_752_832 + 16_781_312 + 4_097_000) == 60_965_224
    assert r["VGG-16_parameters"] == r["keras_applications_VGG-16_parameters"] == 138_357_544
    assert r["ResNet-50_parameters"] == r["keras_applications_ResNet-50_parameters"] == 25_636_712
    assert r["LeNet-5_multiply_adds"] == 416_520
    # VGG-16's convolutions, stage by stage (side, C_in, C_out), plus its 3 dense layers
    vgg_convs = [(224, 3, 64), (224, 64, 64), (112, 64, 128), (112, 128, 128)] + [(56, 128, 256)] + [
        (56, 256, 256)] * 2 + [(28, 256, 512)] + [(28, 512, 512)] * 2 + [(14, 512, 512)] * 3
    vgg = sum(side * side * 9 * c_in * c_out for side, c_in, c_out in vgg_convs) + 25088 * 4096 + 4096 * 4096 + 4096 * 1000
    assert r["VGG-16_multiply_adds"] == vgg
    rows = {row["model"]: row for row in r["classic_networks"]}
    assert rows["VGG-16"]["fc_share"] > 0.85 and rows["ResNet-50"]["fc_share"] < 0.1


def test_fine_tuning_table_and_small_resnet(quick_run):
    r, _, models, _ = quick_run
    assert [row["start"] for row in r["finetune_table"]] == [
        "from scratch", "MNIST features, frozen", "MNIST features, fine-tuned"]
    assert r["pretrained_mnist_test_accuracy"] > 0.8  # 40 steps on 5,000 digits
    for key in ("scratch", "frozen", "finetuned"):
        assert r[f"fashion_1000_labels_{key}_test_accuracy"] > 0.5
    assert r["small_resnet_test_accuracy"] > 0.5  # 2 epochs of 40 steps; chance is 0.1
    assert r["small_resnet_target_met"] == (r["small_resnet_test_accuracy"] >= 0.994)
    assert (Path(r["saved_model"]) / "saved_model.pb").is_file()
    assert Path(r["saved_model"]).parent == models / "08_modern_cnn"
