"""Run every lesson in full and record its runtime and headline numbers for README.

    python benchmarks/lessons.py [--quick] [--only 03_optimization ...] [--seeds 0 1 2]

Each lesson runs in its own process (as a student would run it), writing its figures and
SavedModels to a temporary folder; its `results.json` gives the numbers. With several
`--seeds` the lesson runs once per seed and every numeric result is the median over the seeds
(the per-seed results are kept too). Each lesson writes its own
`benchmarks/results/lessons/<stem>.json`, so lessons can be re-measured one at a time;
`render_readme.py` joins them into README's `lessons` table.
"""

import argparse
import json
import statistics
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import RESULTS_DIR, write_results

ROOT = Path(__file__).resolve().parents[1]


def _fmt(value):
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _target(value, threshold):
    """An accuracy with its check against the lesson's target, e.g. "0.9931 (>= 0.992: met)"."""
    return f"{value:.4f} (>= {threshold}: {'met' if value >= threshold else 'MISSED'})"


# Per lesson: (label, function of results.json -> value), the claims its header makes.
HEADLINES = {
    "00_quickstart": [
        ("test accuracy", lambda r: r["test_accuracy"]),
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
        ("tanh activation variance at layer 10: N(0, 0.01) / Xavier",
         lambda r: f"{r['normal_0.01_tanh_var_layer10']:.2g} / {r['xavier_tanh_var_layer10']:.2g}"),
        ("ReLU activation variance at layer 10: He", lambda r: round(r["he_relu_var_layer10"], 3)),
        ("MLP validation accuracy: zero init / Xavier",
         lambda r: f"{r['mlp_zeros_tanh_val_accuracy']:.3f} / {r['mlp_xavier_tanh_val_accuracy']:.3f}"),
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
    "11_scale_and_export": [
        ("max weight difference, 1 vs 2 devices / fit vs custom loop",
         lambda r: f"{r['weights_diff_1_vs_2_devices']:.2g} / {r['weights_diff_fit_vs_custom']:.2g}"),
        ("resumed run vs uninterrupted, max weight difference",
         lambda r: f"{r['weights_diff_resumed_vs_uninterrupted']:.2g}"),
        ("PNG digits classified by the reloaded SavedModel", lambda r: f"{r['png_correct']}/{r['png_digits']}"),
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="run the lessons with --quick")
    parser.add_argument("--only", nargs="+", choices=sorted(HEADLINES), default=sorted(HEADLINES))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0], help="median over these seeds")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR / "lessons")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for stem in args.only:
            runs = [run_lesson(stem, args.quick, Path(tmp), seed) for seed in args.seeds]
            seconds = statistics.median(s for s, _ in runs)
            results = median_results([r for _, r in runs])
            headlines = {label: get(results) for label, get in HEADLINES[stem]}
            print(f"{stem}: {seconds:.0f} s", {k: _fmt(v) for k, v in headlines.items()}, flush=True)
            write_results(stem, {
                "quick": args.quick,
                "seeds": args.seeds,
                "seconds": seconds,
                "headlines": headlines,
                "results": results,
                "per_seed": [{"seed": seed, "seconds": s, "results": r} for seed, (s, r) in zip(args.seeds, runs)],
                "readme_table": {"columns": ["lesson", "runtime", "claim", "measured"],
                                 "rows": table_rows(stem, seconds, headlines)},
            }, results_dir=args.results_dir)


if __name__ == "__main__":
    main()
