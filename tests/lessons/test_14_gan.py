"""Smoke test: lesson L14 trains a DCGAN that beats its untrained self and shows BN's batch noise (`--quick`)."""

from pathlib import Path

import numpy as np
import tensorflow as tf


def test_gan_lesson_quick_run(run_lesson):
    run = run_lesson("14_gan", timeout=600)
    r, out, models = run.results, run.out, run.models

    # the notes' settings: N(0, 0.02) weights, Adam(2e-4, beta_1=0.5) for both networks
    assert abs(r["generator_initial_kernel_std"] - 0.02) < 0.001
    assert np.isclose(r["generator_adam_learning_rate"], 2e-4)
    assert r["generator_adam_beta_1"] == 0.5 and r["discriminator_adam_beta_1"] == 0.5
    assert r["optimizer_steps_generator"] == r["optimizer_steps_discriminator"] > 0

    # the judge works on real digits
    assert r["classifier_test_accuracy"] > 0.9
    assert r["real_test_confidence"] > 0.9 and r["real_test_class_balance"] > 0.95
    # the trained generator beats the untrained one: Frechet distance below half, better balance
    assert r["trained_generator_frechet_distance"] < 0.5 * r["untrained_generator_frechet_distance"]
    assert r["trained_generator_class_balance"] > r["untrained_generator_class_balance"] + 0.2
    # negative control: real digits score far better than any generator here (the score can fail)
    assert r["real_test_frechet_distance"] < 0.5 * r["trained_generator_frechet_distance"]

    # BN noise [002 §20]: same z, other companions
    assert r["bn_generator_change_training_mode"] > 1e-3
    assert r["bn_generator_change_inference_mode"] == 0.0
    assert r["trained_generator_change_training_mode"] == 0.0

    # grids: one per epoch and the fixed-noise strip
    for epoch in range(1, r["epochs"] + 1):
        assert (out / f"samples_epoch_{epoch:02d}.png").stat().st_size > 1000
    assert (out / "fixed_noise_grid.png").stat().st_size > 1000

    # the exported generator: versioned folder, reloads, maps noise to 28x28 images
    saved = Path(r["saved_model"])
    assert saved == models / "14_gan" / "1" and (saved / "saved_model.pb").is_file()
    assert r["saved_model_max_abs_diff"] < 1e-5
    loaded = tf.saved_model.load(str(saved))  # keep a reference: `serve` uses its variables
    images = loaded.serve(tf.zeros((2, 64))).numpy()
    assert images.shape == (2, 28, 28, 1) and 0 <= images.min() and images.max() <= 1
