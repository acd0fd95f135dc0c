"""Run every lesson in full and record its runtime and headline numbers for README.

    python benchmarks/lessons.py [--quick] [--only 03_optimization ...]

Each lesson runs in its own process (as a student would run it), writing its figures and
SavedModels to a temporary folder; its `results.json` gives the numbers. Writes
benchmarks/results/lessons.json.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import write_results

ROOT = Path(__file__).resolve().parents[1]


def _fmt(value):
    return f"{value:.4g}" if isinstance(value, float) else str(value)


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
    "11_scale_and_export": [
        ("max weight difference, 1 vs 2 devices / fit vs custom loop",
         lambda r: f"{r['weights_diff_1_vs_2_devices']:.2g} / {r['weights_diff_fit_vs_custom']:.2g}"),
        ("resumed run vs uninterrupted, max weight difference",
         lambda r: f"{r['weights_diff_resumed_vs_uninterrupted']:.2g}"),
        ("PNG digits classified by the reloaded SavedModel", lambda r: f"{r['png_correct']}/{r['png_digits']}"),
    ],
}


def run_lesson(stem, quick, workdir):
    out, models = workdir / stem / "out", workdir / stem / "models"
    command = [sys.executable, str(ROOT / "lessons" / f"{stem}.py"), "--output-dir", str(out),
               "--saved-models-dir", str(models)] + (["--quick"] if quick else [])
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, text=True,
                   env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    seconds = time.perf_counter() - start
    return seconds, json.loads((out / "results.json").read_text())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="run the lessons with --quick")
    parser.add_argument("--only", nargs="+", choices=sorted(HEADLINES), default=sorted(HEADLINES))
    args = parser.parse_args()
    lessons, rows = {}, []
    with tempfile.TemporaryDirectory() as tmp:
        for stem in args.only:
            seconds, results = run_lesson(stem, args.quick, Path(tmp))
            headlines = {label: get(results) for label, get in HEADLINES[stem]}
            lessons[stem] = {"seconds": seconds, "headlines": headlines, "results": results}
            print(f"{stem}: {seconds:.0f} s", {k: _fmt(v) for k, v in headlines.items()}, flush=True)
            for index, (label, value) in enumerate(headlines.items()):
                rows.append([f"`{stem}`" if index == 0 else "", f"{seconds:.0f} s" if index == 0 else "",
                             label, _fmt(value)])
    write_results("lessons", {
        "quick": args.quick,
        "lessons": lessons,
        "readme_table": {"columns": ["lesson", "runtime", "claim", "measured"], "rows": rows},
    })


if __name__ == "__main__":
    main()
