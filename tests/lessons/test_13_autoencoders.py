"""Smoke test: lesson L13 (autoencoders) runs with --quick and its claims hold."""

from pathlib import Path


def test_autoencoders_lesson_quick_run(run_lesson):
    run = run_lesson("13_autoencoders")
    r = run.results
    assert "== L13 autoencoders ==" in run.stdout
    # Reconstruction: the conv AE beats the mean-image baseline by 5x and the dense AE, with fewer weights.
    assert r["conv_test_mse"] < 0.2 * r["baseline_mean_image_test_mse"]
    assert r["conv_test_mse"] < r["dense_test_mse"] < r["baseline_mean_image_test_mse"]
    assert r["conv_parameters"] < r["dense_parameters"]
    # Denoising: better than the noisy input and than the plain AE on the same noisy images.
    assert r["denoiser_on_noisy_test_mse"] < r["plain_ae_on_noisy_test_mse"] < r["noisy_input_test_mse"]
    # VAE: KL closed form = Monte Carlo; a structured latent plane; the decoder exported and served.
    assert abs(r["kl_closed_form"] - r["kl_monte_carlo"]) < 0.02 * r["kl_closed_form"]
    assert r["vae_test_kl_per_image"] > 0.5  # the codes carry information (no posterior collapse)
    assert r["vae_latent_5nn_accuracy"] > 0.3  # chance is 0.1
    for name in ["reconstructions", "vae_latent_scatter", "vae_latent_grid"]:
        assert (run.out / f"{name}.png").stat().st_size > 10_000, name
    assert Path(r["saved_model"]).parent == run.models / "13_autoencoders"
    assert r["saved_model_max_difference"] < 1e-6
