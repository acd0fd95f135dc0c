"""Run every lesson in full and record its runtime and headline numbers for README.

    python benchmarks/lessons.py [--quick] [--only 03_optimization ...] [--seeds 0 1 2] [--figures]

Each lesson runs in its own process (as a student would run it), writing its figures and
SavedModels to a temporary folder (`--workdir DIR` keeps them in DIR/<stem>/out<seed> and
models<seed>); its `results.json` gives the numbers. With several
`--seeds` the lesson runs once per seed and every numeric result is the median over the seeds
(the per-seed results are kept too). Each lesson writes its own
`benchmarks/results/lessons/<stem>.json`, so lessons can be re-measured one at a time;
`render_readme.py` joins them into README's `lessons` table.
"""

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import RESULTS_DIR, results_dir_for, write_results

ROOT = Path(__file__).resolve().parents[1]


def _fmt(value):
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _target(value, threshold):
    """An accuracy with its check against the lesson's target, e.g. "0.9931 (>= 0.992: met)"."""
    return f"{value:.4f} (>= {threshold}: {'met' if value >= threshold else 'MISSED'})"


# Per lesson: (label, function of results.json -> value), the claims its header makes.
HEADLINES = {
    "00_quickstart": [
        ("fast recipe, test accuracy after one epoch", lambda r: r["test_accuracy"]),
        ("training seconds (first step to last)", lambda r: round(r["train_seconds"], 2)),
    ],
    "01_softmax_regression": [
        ("test accuracy (target >= 0.92)", lambda r: round(r["test_accuracy"], 4)),
        ("epochs", lambda r: r["epochs"]),
        ("max weight difference, low-level loop vs Keras", lambda r: f"{r['max_weight_difference_lowlevel_vs_keras']:.2g}"),
        ("untrained loss vs ln(10) = 2.3026", lambda r: round(r["untrained_loss"], 4)),
    ],
    "02_multilayer": [
        ("best MLP test accuracy (target >= 0.984)", lambda r: round(r["best_mlp_test_accuracy"], 4)),
        ("best MLP epochs (Keras mnist_mlp example: 20)", lambda r: r["best_mlp_epochs"]),
        ("test accuracy, linear / sigmoid / tanh / ReLU / Leaky ReLU / ELU / Maxout",
         lambda r: " / ".join(f"{r[f'activation_{k}_test_accuracy']:.3f}"
                              for k in ("linear", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "maxout"))),
        ("dead ReLU fraction, SGD lr 0.05 / 2.0",
         lambda r: f"{r['dead_relu_fraction_lr_0.05']:.2f} / {r['dead_relu_fraction_lr_2.0']:.2f}"),
    ],
    "03_optimization": [
        ("MNIST MLP test accuracy, SGD / Momentum / Nesterov / AdaGrad / RMSProp / Adam",
         lambda r: " / ".join(_fmt(round(r[f"mnist_{k}_test_accuracy"], 4))
                              for k in ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"))),
        ("steps to escape the saddle, SGD vs Adam",
         lambda r: f"{r['saddle_SGD_steps_to_escape']} vs {r['saddle_Adam_steps_to_escape']}"),
        ("Hessian: minimum / maximum / saddle",
         lambda r: " / ".join(r[f"hessian_{k}_classified_as"] for k in ("minimum", "maximum", "saddle"))),
    ],
    "04_initialization": [
        ("tanh activation variance at layer 10: N(0, 0.01) / variance 1/fan_in (notes' Xavier)",
         lambda r: f"{r['normal_0.01_tanh_var_layer10']:.2g} / {r['lecun_tanh_var_layer10']:.2g}"),
        ("ReLU activation variance at layer 10: He", lambda r: round(r["he_relu_var_layer10"], 3)),
        ("MLP validation accuracy: zero init / Glorot uniform",
         lambda r: f"{r['mlp_zeros_tanh_val_accuracy']:.3f} / {r['mlp_glorot_uniform_tanh_val_accuracy']:.3f}"),
    ],
    "05_regularization": [
        ("test accuracy: none / L2 / L1 / dropout / max-norm+dropout / early stop / augmentation",
         lambda r: " / ".join(f"{r[f'{k}_test_accuracy']:.3f}" for k in (
             "baseline", "l2", "l1", "dropout", "maxnorm_dropout", "early_stopping", "augmentation"))),
        ("train - validation accuracy gap: none / augmentation",
         lambda r: f"{r['baseline_gap']:.3f} / {r['augmentation_gap']:.3f}"),
        ("unregularized validation accuracy: best epoch / last epoch",
         lambda r: f"{r['baseline_best_val_accuracy']:.3f} @ {r['baseline_best_epoch']} / {r['baseline_val_accuracy']:.3f}"),
    ],
    "06_normalization": [
        ("CNN validation accuracy, plain SGD: none / BN / weight norm",
         lambda r: " / ".join(f"{r[f'cnn_{k}_val_accuracy']:.3f}" for k in ("no_norm", "bn", "weightnorm"))),
        ("validation accuracy at batch 2: BN / GN",
         lambda r: f"{r['bn_batch2_val_accuracy']:.3f} / {r['gn_batch2_val_accuracy']:.3f}"),
    ],
    "07_cnn": [
        ("MNIST test accuracy, best CNN", lambda r: _target(r["best_cnn_test_accuracy"], 0.992)),
        ("epochs: best CNN vs keras-io MNIST convnet",
         lambda r: f"{r['best_cnn_epochs']} vs {r['keras_io_convnet_epochs']}"),
        ("MNIST test accuracy, LeNet-5", lambda r: round(r["lenet5_test_accuracy"], 4)),
        ("share of parameters in FC layers: LeNet-5 / best CNN",
         lambda r: f"{r['lenet5_fc_share']:.1%} / {r['best_cnn_fc_share']:.1%}"),
    ],
    "07_cnn_fashion_mnist": [
        ("Fashion-MNIST test accuracy, best CNN", lambda r: _target(r["best_cnn_test_accuracy"], 0.91)),
        ("epochs", lambda r: r["best_cnn_epochs"]),
    ],
    "08_modern_cnn": [
        ("MNIST test accuracy, small ResNet", lambda r: _target(r["small_resnet_test_accuracy"], 0.994)),
        ("Fashion-MNIST test accuracy from 1,000 labels: scratch / frozen MNIST features / fine-tuned",
         lambda r: " / ".join(f"{r[f'fashion_1000_labels_{k}_test_accuracy']:.4f}"
                              for k in ("scratch", "frozen", "finetuned"))),
        ("first conv layer's gradient norm, residual / plain net (41 conv layers)",
         lambda r: f"{r['residual_first_layer_gradient_norm']:.3g} / {r['plain_first_layer_gradient_norm']:.3g}"),
        ("multiply-adds, 5x5 conv 192->32 on 28x28: direct / 1x1 bottleneck",
         lambda r: f"{r['multiplies_direct']:,} / {r['multiplies_bottleneck']:,}"),
    ],
    "09_rnn": [
        ("MNIST rows, LSTM test accuracy (target >= 0.985)", lambda r: round(r["mnist_lstm_test_accuracy"], 4)),
        ("MNIST rows test accuracy, SimpleRNN / GRU",
         lambda r: f"{r['mnist_simple_rnn_test_accuracy']:.4f} / {r['mnist_gru_test_accuracy']:.4f}"),
        ("MNIST rows epochs", lambda r: r["mnist_epochs"]),
        ('"hello" -> predicted', lambda r: r["hello_prediction"]),
        ("IRNN, SGD(0.05): validation accuracy without / with global_clipnorm=1",
         lambda r: f"{r['irnn_none_val_accuracy']:.3f} / {r['irnn_global_clipnorm_val_accuracy']:.3f}"),
    ],
    "10_training_practice": [
        ("gradient check worst relative error, float64 / float32",
         lambda r: f"{r['gradcheck_float64_max_error']:.1e} / {r['gradcheck_float32_max_error']:.1e}"),
        ("initial loss vs ln(10)", lambda r: f"{r['initial_loss']:.3f} vs {r['ln_10']:.3f}"),
        ("search: best learning rate (validation accuracy)",
         lambda r: f"{r['search_best_learning_rate']:.2g} ({r['search_best_val_accuracy']:.4f})"),
        ("test loss: best single / 3-seed ensemble / top-3 ensemble / last-2-epochs weight average",
         lambda r: f"{r['best_single_test_loss']:.4f} / {r['ensemble_three_seeds_averaged_test_loss']:.4f} / "
                   f"{r['ensemble_top3_search_averaged_test_loss']:.4f} / {r['weight_average_test_loss']:.4f}"),
        ("update/weight ratio, first epoch: lr 1e-6 / 1e-3 / 1",
         lambda r: " / ".join(f"{r[f'lr_{lr}_first_epoch_update_ratio']:.1e}" for lr in ("1e-06", "0.001", "1"))),
        ("test accuracy: best single / 3-seed ensemble (mean of probabilities / majority vote)",
         lambda r: f"{r['best_single_test_accuracy']:.4f} / {r['ensemble_three_seeds_averaged_test_accuracy']:.4f} / "
                   f"{r['ensemble_three_seeds_majority_test_accuracy']:.4f}"),
    ],
    "12_fast_mnist": [
        ("record recipe: test accuracy / training seconds, one epoch",
         lambda r: f"{r['test_accuracy']:.4f} / {r['train_seconds']:.2f} s"),
        ("keras-io baseline: epochs / training seconds to 99.0% test accuracy",
         lambda r: f"{r['baseline_epochs']} / {r['baseline_train_seconds']:.1f} s"
                   + ("" if r["baseline_reached_99"] else " (not reached)")),
        ("validation accuracy: baseline epoch / record recipe",
         lambda r: f"{r['trick_baseline_val_accuracy']:.4f} / {r['val_accuracy']:.4f}"),
    ],
    "11_scale_and_export": [
        ("max weight difference, 1 vs 2 devices / fit vs custom loop",
         lambda r: f"{r['weights_diff_1_vs_2_devices']:.2g} / {r['weights_diff_fit_vs_custom']:.2g}"),
        ("resumed run vs uninterrupted, max weight difference",
         lambda r: f"{r['weights_diff_resumed_vs_uninterrupted']:.2g}"),
        ("PNG digits classified by the reloaded SavedModel", lambda r: f"{r['png_correct']}/{r['png_digits']}"),
    ],
    "13_autoencoders": [
        ("test MSE: mean-image baseline / dense AE / conv AE",
         lambda r: " / ".join(f"{r[k]:.4f}" for k in ("baseline_mean_image_test_mse", "dense_test_mse", "conv_test_mse"))),
        ("noisy test images, MSE: input / plain AE / denoiser",
         lambda r: " / ".join(f"{r[k]:.4f}" for k in ("noisy_input_test_mse", "plain_ae_on_noisy_test_mse",
                                                      "denoiser_on_noisy_test_mse"))),
        ("VAE (2-D latent): 5-NN accuracy of test codes / KL per image",
         lambda r: f"{r['vae_latent_5nn_accuracy']:.3f} / {r['vae_test_kl_per_image']:.2f}"),
    ],
    "14_gan": [
        ("Frechet distance on classifier features: real / trained / untrained generator",
         lambda r: " / ".join(f"{r[f'{k}_frechet_distance']:.1f}"
                              for k in ("real_test", "trained_generator", "untrained_generator"))),
        ("class balance of generated digits: trained / untrained",
         lambda r: f"{r['trained_generator_class_balance']:.2f} / {r['untrained_generator_class_balance']:.2f}"),
        ("BN generator: max pixel change for the same z with other batch companions",
         lambda r: f"{r['bn_generator_change_training_mode']:.3g}"),
    ],
    "16_seq2seq_attention": [
        ("held-out dates, exact match: attention / no attention (target >= 0.99)",
         lambda r: f"{_target(r['attention_test_exact_match'], 0.99)} / {r['no_attention_test_exact_match']:.4f}"),
        ("exact match with beam search (width 3)", lambda r: round(r["attention_beam3_test_exact_match"], 4)),
        ("test dates where beam 3 scored below / above greedy",
         lambda r: f"{r['beam3_below_greedy_score']} / {r['beam3_above_greedy_score']}"),
        ("max difference, written-out attention vs keras.layers.AdditiveAttention",
         lambda r: f"{r['attention_max_difference_vs_keras']:.2g}"),
        ("SavedModel (string in, string out) answers differing from greedy decoding",
         lambda r: f"{r['saved_model_mismatches_vs_greedy']}/{r['saved_model_strings_checked']}"),
    ],
    "15_word_embeddings": [
        ("corpus: verses / words / vocabulary",
         lambda r: f"{r['corpus_verses']} / {r['corpus_words']} / {r['vocabulary_size']}"),
        ("skip-gram probe loss: at init / final (final / init)",
         lambda r: f"{r['probe_loss_at_init']:.3f} / {r['probe_loss_final']:.3f} ({r['probe_loss_final_over_init']:.2f})"),
        ("mean cosine, related minus random word pairs: trained / untrained",
         lambda r: f"{r['related_minus_random_cosine']:.3f} / {r['untrained_related_minus_random_cosine']:.3f}"),
        ("analogies: expected word in the top 5 / its median rank (untrained table)",
         lambda r: f"{r['analogies_expected_in_top5']} of {r['analogies_total']} / "
                   f"{r['analogies_median_rank_of_expected']:g} ({r['untrained_analogies_median_rank_of_expected']:g})"),
        ("sparse vs dense gradient, max |diff|: tfcourse Adam / Keras Adam",
         lambda r: " / ".join(f"{r[f'{k}_sparse_vs_dense_max_abs_diff']:.2g}" for k in ("tfcourse_adam", "keras_adam"))),
    ],
}


# A lesson run with extra arguments, recorded under its own name: name -> (lesson stem, arguments).
VARIANTS = {"07_cnn_fashion_mnist": ("07_cnn", ("--dataset", "fashion_mnist"))}


def run_lesson(stem, quick, workdir, seed):
    out, models = workdir / stem / f"out{seed}", workdir / stem / f"models{seed}"
    script, extra_args = VARIANTS.get(stem, (stem, ()))
    command = [sys.executable, str(ROOT / "lessons" / f"{script}.py"), "--output-dir", str(out),
               "--saved-models-dir", str(models), "--seed", str(seed)] + (["--quick"] if quick else [])
    command += list(extra_args)
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, text=True,
                   env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    seconds = time.perf_counter() - start
    return seconds, json.loads((out / "results.json").read_text())


def median_results(per_seed):
    """Every numeric result as its median over the seeds; anything else from the first seed."""
    merged = dict(per_seed[0])
    for key, value in per_seed[0].items():
        values = [r.get(key) for r in per_seed]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            merged[key] = statistics.median(values)
    return merged


def table_rows(stem, seconds, headlines):
    return [[f"`{stem}`" if index == 0 else "", f"{seconds:.0f} s" if index == 0 else "", label, _fmt(value)]
            for index, (label, value) in enumerate(headlines.items())]


# Per lesson: (claim, predicate on the full run's results.json) for the claims of its header that
# only a full run can show. `main` stores each verdict in the JSON and exits 1 if one fails;
# tests/test_lesson_claims.py re-checks them on the committed JSON.
def _row_above(r, slug):
    """The L12 trick row that `slug` adds its change to, in the order the lesson recorded its rows
    (fused Adam follows label smoothing where the recipe's precision is not bfloat16)."""
    if slug == "fused_adam" and r["record_policy"] != "mixed_bfloat16":
        return "label_smoothing"
    rows = [key.removeprefix("trick_").removesuffix("_seconds") for key in r
            if key.startswith("trick_") and key.endswith("_seconds")]  # fmt: skip
    return rows[rows.index(slug) - 1]


def _faster(r, slug):
    return r[f"trick_{slug}_seconds"] < r[f"trick_{_row_above(r, slug)}_seconds"]


def _more_accurate(r, slug):
    return r[f"trick_{slug}_val_accuracy"] > r[f"trick_{_row_above(r, slug)}_val_accuracy"]


def _same_accuracy(r, slug):
    return abs(r[f"trick_{slug}_val_accuracy"] - r[f"trick_{_row_above(r, slug)}_val_accuracy"]) <= 0.002


def _precision_rows(r):
    """The precision tricks in the recipe here: bfloat16 only where the CPU computes it natively."""
    return ["bfloat16", "fused_adam"] if r["record_policy"] == "mixed_bfloat16" else ["fused_adam"]


FULL_RUN_CHECKS = {
    "05_regularization": [
        ("the unregularized MLP fits its noisy training labels (> 0.95) with a train - validation gap > 0.1",
         lambda r: r["baseline_train_accuracy"] > 0.95 and r["baseline_gap"] > 0.1),
        ("the unregularized validation accuracy falls by > 0.02 after its peak",
         lambda r: r["baseline_val_accuracy_drop_after_peak"] > 0.02),
        ("every regularized setting beats the unregularized test accuracy by > 0.01",
         lambda r: all(r[f"{k}_test_accuracy"] > r["baseline_test_accuracy"] + 0.01 for k in (
             "l2", "l1", "dropout", "maxnorm_dropout", "early_stopping", "augmentation"))),
        ("L2 at least halves the squared weight norm", lambda r: r["l2_l2_norm_sq"] < 0.5 * r["baseline_l2_norm_sq"]),
        ("early stopping ends before the last epoch", lambda r: r["early_stopping_epochs_run"] < r["baseline_epochs_run"]),
        ("augmentation shrinks the train - validation gap", lambda r: r["augmentation_gap"] < r["baseline_gap"]),
        ("the unregularized validation accuracy is within 0.03 of its test accuracy",
         lambda r: abs(r["baseline_val_minus_test"]) < 0.03),
    ],
    "10_training_practice": [
        ("the 3-seed ensemble (averaged probabilities) has a lower test loss than the best single model",
         lambda r: r["ensemble_three_seeds_averaged_test_loss"] < r["best_single_test_loss"]),
        ("the search's best learning rate lies inside its range (not in the outer 10%)",
         lambda r: 0.1 < r["search_best_position_in_range"] < 0.9),
        ("float64 gradient check good (< 1e-7), float32 worse than 1e-4",
         lambda r: r["gradcheck_float64_max_error"] < 1e-7 < 1e-4 < r["gradcheck_float32_max_error"]),
    ],
    "03_optimization": [
        ("every optimizer above 0.94 MNIST test accuracy",
         lambda r: all(r[f"mnist_{k}_test_accuracy"] > 0.94
                       for k in ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"))),
        ("Adam and RMSProp above 0.96",
         lambda r: min(r["mnist_adam_test_accuracy"], r["mnist_rmsprop_test_accuracy"]) > 0.96),
        ("RMSProp rattles on the bowl: best f < 0.01 < final f, no better than SGD",
         lambda r: r["bowl_RMSProp_best_f"] < 0.01 < r["bowl_RMSProp_final_f"]
         and r["bowl_RMSProp_final_f"] >= r["bowl_SGD_final_f"]),
        ("the best model reloads with the same accuracy",
         lambda r: abs(r["saved_model_reloaded_accuracy"] - r["best_optimizer_test_accuracy"]) < 1e-6),
    ],
    "04_initialization": [
        ("He (ReLU) variance within 0.5-2 at every layer",
         lambda r: all(0.5 < r[f"he_relu_var_layer{i}"] < 2 for i in range(1, 11))),
        ("variance 1/fan_in on tanh: 0.3-0.5 at layer 1, 0.03-0.1 at layer 10",
         lambda r: 0.3 < r["lecun_tanh_var_layer1"] < 0.5 and 0.03 < r["lecun_tanh_var_layer10"] < 0.1),
        ("zero init below 0.2 validation accuracy, 1 distinct unit",
         lambda r: max(r["mlp_zeros_tanh_val_accuracy"], r["mlp_zeros_sigmoid_val_accuracy"]) < 0.2
         and r["mlp_zeros_tanh_distinct_hidden_units"] == r["mlp_zeros_sigmoid_distinct_hidden_units"] == 1),
        ("Glorot-uniform MLP above 0.9 validation accuracy", lambda r: r["mlp_glorot_uniform_tanh_val_accuracy"] > 0.9),
    ],
    "06_normalization": [
        ("BN and weight norm above 0.96, no normalization below both",
         lambda r: min(r["cnn_bn_val_accuracy"], r["cnn_weightnorm_val_accuracy"]) > 0.96
         and r["cnn_no_norm_val_accuracy"] < min(r["cnn_bn_val_accuracy"], r["cnn_weightnorm_val_accuracy"])),
        ("GN ahead of BN at batch size 2", lambda r: r["gn_batch2_val_accuracy"] > r["bn_batch2_val_accuracy"]),
        ("LRN no more than 0.01 above no LRN",
         lambda r: r["alexnet_block_lrn_val_accuracy"] <= r["alexnet_block_no_lrn_val_accuracy"] + 0.01),
        ("BN after the ReLU also beats no normalization (training loss)",
         lambda r: r["cnn_bn_after_relu_final_train_loss"] < r["cnn_no_norm_final_train_loss"]),
    ],
    "13_autoencoders": [
        ("the convolutional autoencoder's test MSE is below a fifth of the mean-image baseline and below the dense one's",
         lambda r: r["conv_test_mse"] < 0.2 * r["baseline_mean_image_test_mse"]
         and r["conv_test_mse"] < r["dense_test_mse"]),
        ("the denoiser beats the plain autoencoder on noisy test images",
         lambda r: r["denoiser_on_noisy_test_mse"] < r["plain_ae_on_noisy_test_mse"] < r["noisy_input_test_mse"]),
        ("the KL closed form matches its Monte Carlo estimate within 2%",
         lambda r: abs(r["kl_closed_form"] - r["kl_monte_carlo"]) < 0.02 * r["kl_closed_form"]),
        ("the VAE's 2-D codes: 5-NN accuracy above 0.5 (chance 0.1), KL per image above 0.5",
         lambda r: r["vae_latent_5nn_accuracy"] > 0.5 and r["vae_test_kl_per_image"] > 0.5),
        ("the SavedModel reproduces the autoencoder", lambda r: r["saved_model_max_difference"] < 1e-6),
    ],
    "14_gan": [
        ("the classifier reaches test accuracy > 0.9; on real test digits confidence > 0.9 and class balance > 0.95",
         lambda r: r["classifier_test_accuracy"] > 0.9 and r["real_test_confidence"] > 0.9
         and r["real_test_class_balance"] > 0.95),
        ("the trained generator's Frechet distance is below half the untrained one's, its class balance higher",
         lambda r: r["trained_generator_frechet_distance"] < 0.5 * r["untrained_generator_frechet_distance"]
         and r["trained_generator_class_balance"] > r["untrained_generator_class_balance"]),
        ("BN batch noise: the BN generator changes in training mode (> 1e-3), not in inference mode; the BN-free one never",
         lambda r: r["bn_generator_change_training_mode"] > 1e-3 and r["bn_generator_change_inference_mode"] == 0.0
         and r["trained_generator_change_training_mode"] == 0.0),
        ("the reloaded SavedModel reproduces the generator", lambda r: r["saved_model_max_abs_diff"] < 1e-5),
    ],
    "16_seq2seq_attention": [
        (">= 99% exact match on held-out dates with attention",
         lambda r: r["attention_test_exact_match"] >= 0.99),
        ("attention beats the same model without it (exact match)",
         lambda r: r["attention_test_exact_match"] > r["no_attention_test_exact_match"]),
        ("the training loss falls for both models",
         lambda r: r["attention_final_loss"] < r["attention_first_epoch_loss"]
         and r["no_attention_final_loss"] < r["no_attention_first_epoch_loss"]),
        ("beam search width 3 scores at least greedy's on every test date", lambda r: r["beam3_below_greedy_score"] == 0),
        ("beam width 1 equals greedy; attention equals Keras's; the SavedModel equals greedy",
         lambda r: r["beam1_tokens_differing_from_greedy"] == 0 and r["beam1_max_score_difference_vs_greedy"] < 1e-5
         and r["attention_max_difference_vs_keras"] < 1e-5 and r["saved_model_mismatches_vs_greedy"] == 0),
        ("no test date occurs in training", lambda r: r["test_dates_seen_in_training"] == 0),
    ],
    "00_quickstart": [
        ("the record recipe's test accuracy after one epoch lies in 0.989-0.992 (median over the run's seeds)",
         lambda r: 0.989 <= r["test_accuracy"] <= 0.992 and r["epochs"] == 1 and r["train_images"] == 50000),
        ("the whole run, TensorFlow's import included, takes under 20 s (make demo's goal: 30 s)",
         lambda r: r["lesson_seconds"] < 20),
    ],
    "12_fast_mnist": [
        ("the keras-io baseline reaches 99.0% test accuracy within its 10-epoch cap",
         lambda r: r["baseline_reached_99"] and r["baseline_epochs"] <= 10 and r["baseline_test_accuracy"] >= 0.99),
        ("the record recipe's test accuracy after one epoch on 50,000 images lies in 0.989-0.992",
         lambda r: 0.989 <= r["test_accuracy"] <= 0.992 and r["record_train_images"] == 50000),
        ("the in-memory row trains on the baseline's batches: the same validation accuracy (within 0.001)",
         lambda r: abs(r["trick_in_memory_val_accuracy"] - r["trick_baseline_val_accuracy"]) <= 0.001),
        # Together, not each: one epoch's seconds vary from run to run by more than the strided
        # stem or the dropped metric save (full runs at f093168 and c86e45a).
        ("the smaller net, the strided stem and dropping the training metric together make the epoch >= 1.5x faster",
         lambda r: r["trick_no_metric_seconds"] * 1.5 <= r["trick_steps_per_execution_seconds"]),
        ("warm-up + cosine, Adam's betas and label smoothing each raise the validation accuracy",
         lambda r: all(_more_accurate(r, slug) for slug in ("warmup_cosine", "adam_betas", "label_smoothing"))),
        ("bfloat16 (kept where native) and fused Adam are each faster at the same validation accuracy (within 0.002)",
         lambda r: all(_faster(r, slug) and _same_accuracy(r, slug) for slug in _precision_rows(r))),
        # Measured 1.97x to 2.66x over six full runs (c97776a the lowest): "two to three times".
        ("XLA makes the recipe's epoch slower, > 1.5x (against the label-smoothing row, float32 too)",
         lambda r: r["trick_xla_seconds"] > 1.5 * r["trick_label_smoothing_seconds"]),
        ("the whole run takes about 3 to 5 minutes (between 2.5 and 6)", lambda r: 150 < r["lesson_seconds"] < 360),
    ],
    "15_word_embeddings": [
        ("the skip-gram loss on held-out probe pairs falls below 0.65x its value at initialization",
         lambda r: r["probe_loss_final_over_init"] < 0.65),
        ("related word pairs at least 0.3 above random pairs in mean cosine; untrained under 0.1",
         lambda r: r["related_minus_random_cosine"] >= 0.3 and abs(r["untrained_related_minus_random_cosine"]) < 0.1),
        ("at least 2 of the 6 analogies put the expected word in the top 5",
         lambda r: r["analogies_expected_in_top5"] >= 2),
        ("analogies: median rank of the expected word 25 or better, untrained table over 1,000",
         lambda r: r["analogies_median_rank_of_expected"] <= 25 < 1000 < r["untrained_analogies_median_rank_of_expected"]),
    ],
}


def check_claims(stem, results, seconds):
    """{claim: True/False} for the lesson's FULL_RUN_CHECKS on `results`, which also see the
    run's wall clock (`seconds`, TensorFlow's import included) as `lesson_seconds`."""
    results = {**results, "lesson_seconds": seconds}
    return {claim: bool(holds(results)) for claim, holds in FULL_RUN_CHECKS.get(stem, [])}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="run the lessons with --quick")
    parser.add_argument("--only", nargs="+", choices=sorted(HEADLINES), default=sorted(HEADLINES))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0], help="median over these seeds")
    parser.add_argument("--figures", action="store_true",
                        help="also copy the first seed's key figures to docs/figures/ (benchmarks/figures.py)")
    parser.add_argument("--results-dir", type=Path, default=None,
                        help="default: benchmarks/results/lessons (--quick: a temporary folder)")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="keep each run's outputs and SavedModels in WORKDIR/<stem>/ (default: deleted)")
    args = parser.parse_args()
    results_dir = args.results_dir or (results_dir_for(True) if args.quick else RESULTS_DIR / "lessons")
    failed = []
    with contextlib.nullcontext(args.workdir) if args.workdir else tempfile.TemporaryDirectory() as tmp:
        for stem in args.only:
            runs = [run_lesson(stem, args.quick, Path(tmp), seed) for seed in args.seeds]
            if args.figures:
                import figures

                figures.copy_figures(stem, Path(tmp) / stem / f"out{args.seeds[0]}", figures.FIGURES_DIR)
                figures.write_index(figures.FIGURES_DIR)
            seconds = statistics.median(s for s, _ in runs)
            results = median_results([r for _, r in runs])
            headlines = {label: get(results) for label, get in HEADLINES[stem]}
            print(f"{stem}: {seconds:.0f} s", {k: _fmt(v) for k, v in headlines.items()}, flush=True)
            claims = {} if args.quick else check_claims(stem, results, seconds)
            failed += [f"{stem}: {claim}" for claim, holds in claims.items() if not holds]
            write_results(stem, {
                "quick": args.quick,
                "claims_checked": claims,
                "seeds": args.seeds,
                "seconds": seconds,
                "headlines": headlines,
                "results": results,
                "per_seed": [{"seed": seed, "seconds": s, "results": r} for seed, (s, r) in zip(args.seeds, runs)],
                "readme_table": {"columns": ["lesson", "runtime", "claim", "measured"],
                                 "rows": table_rows(stem, seconds, headlines)},
            }, results_dir=results_dir)
    if failed:
        print("claims that did NOT hold in the full run:\n  " + "\n  ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
