"""Shared by the benchmark scripts: machine facts and atomic JSON results."""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tfcourse._atomic import atomic_write_text  # noqa: E402

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def positive_int(text):
    """argparse type: an integer >= 1 (a number of seeds or epochs); argparse names the argument."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1. Received: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1. Received: {value}")
    return value


def git_commit():
    """The commit the benchmark ran on, with "+dirty" when the tree had uncommitted changes."""
    root = Path(__file__).resolve().parents[1]

    def git(*args):
        try:
            return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True).stdout.strip()
        except OSError:  # no git on this host (the GPU host gets the commit from --git-commit)
            return ""

    commit = git("rev-parse", "HEAD") or "unknown"
    return commit + ("+dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


RATIO_GOAL = 15.0
"""Fast MNIST's speed-up goal: the keras-io baseline's seconds to 99% / the record's median
(benchmarks/fast_mnist.py and fast_mnist_keras.py)."""


def target_met(entry, target_accuracy, target_seconds):
    """A fast-MNIST target's both halves: the mean test accuracy and the median seconds."""
    return entry["mean_test_accuracy"] >= target_accuracy and entry["median_train_seconds"] <= target_seconds


def speedup_met(ratio, baseline):
    """The speed-up goal; it only counts when the baseline reached 99% (else there is no time to 99%)."""
    return ratio >= RATIO_GOAL and baseline["reached"]


def verdict(met):
    return "**met**" if met else "**not met**"

# Taken when the benchmark starts: what it writes as it goes (its JSON, copied figures) would
# otherwise mark the tree "+dirty" in its own later records.
COMMIT_AT_START = git_commit()


def machine_info():
    import keras
    import tensorflow as tf

    return {
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "gpus": [d.name for d in tf.config.list_physical_devices("GPU")],
        "platform": platform.platform(),
        "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
        "git_commit": COMMIT_AT_START,
    }


def results_dir_for(quick):
    """benchmarks/results/ for a real measurement; a fresh temporary folder for a `--quick`
    smoke run, whose numbers must never reach README."""
    return Path(tempfile.mkdtemp(prefix="tfcourse-quick-")) if quick else RESULTS_DIR


def write_results(name, payload, results_dir=None):
    """Write `<results_dir>/<name>.json`; `payload` should hold a `readme_table`
    ({"columns": [...], "rows": [[...]]}) that `render_readme.py` puts in README.
    Without `results_dir`: `results_dir_for(payload.get("quick"))`."""
    results_dir = results_dir if results_dir is not None else results_dir_for(payload.get("quick"))
    path = Path(results_dir) / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps({"machine": machine_info(), **payload}, indent=2) + "\n")
    print(f"wrote {path}")
    return path
