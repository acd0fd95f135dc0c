"""The claims only a full lesson run can show hold in the measured full runs.

benchmarks/lessons.py's FULL_RUN_CHECKS name them; this re-checks them on the committed
benchmarks/results/lessons/<stem>.json (no lesson is run here), so a hand-edited JSON or a
header claim that a new measurement no longer supports fails CI.
"""

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "lessons"


def _lessons_benchmark():
    sys.path.insert(0, str(ROOT / "benchmarks"))  # for its `from _common import ...`
    spec = importlib.util.spec_from_file_location("bench_lessons", ROOT / "benchmarks" / "lessons.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BENCH = _lessons_benchmark()


@pytest.mark.parametrize("stem", sorted(BENCH.FULL_RUN_CHECKS))
def test_full_run_claims_hold_in_the_measured_json(stem):
    path = RESULTS / f"{stem}.json"
    assert path.is_file(), f"run: python benchmarks/lessons.py --only {stem} --seeds 0 1 2"
    document = json.loads(path.read_text())
    assert document["quick"] is False, "full-run claims are checked on a full run"
    verdicts = BENCH.check_claims(stem, document["results"], document["seconds"])
    assert verdicts and all(verdicts.values()), {c: v for c, v in verdicts.items() if not v}
    # The JSON's own record agrees (it was written by the checking script, not by hand).
    assert document.get("claims_checked") == verdicts


def test_a_false_claim_is_caught():
    # Negative control: the same checks reject results where the claim is false.
    document = json.loads((RESULTS / "04_initialization.json").read_text())
    changed = dict(document["results"], he_relu_var_layer5=5.0)
    verdicts = BENCH.check_claims("04_initialization", changed, document["seconds"])
    assert verdicts["He (ReLU) variance within 0.5-2 at every layer"] is False
    assert sum(verdicts.values()) == len(verdicts) - 1  # only that claim


@pytest.mark.parametrize(
    ("change", "claim"),
    [
        # the network rows together save less than a third
        (lambda r: dict(trick_no_metric_seconds=0.7 * r["trick_steps_per_execution_seconds"]),
         "the smaller net, the strided stem and dropping"),
        (dict(trick_adam_betas_val_accuracy=0.98), "warm-up + cosine, Adam's betas and label smoothing"),  # less accurate
        # slower than the bfloat16 row by 1%, still far from XLA's
        (lambda r: dict(trick_fused_adam_seconds=1.01 * r["trick_bfloat16_seconds"]),
         "bfloat16 (kept where native) and fused Adam"),
        (dict(trick_fused_adam_val_accuracy=0.985), "bfloat16 (kept where native) and fused Adam"),  # faster, less accurate
        (lambda r: dict(trick_xla_seconds=1.4 * r["trick_label_smoothing_seconds"]), "XLA makes the recipe's epoch"),
        (dict(baseline_reached_99=False), "the keras-io baseline reaches 99.0%"),
    ],
)
def test_fast_mnist_claims_catch_a_trick_that_does_not_help(change, claim):
    # Negative controls for L12's trick claims and its XLA and baseline claims, on the measured run.
    document = json.loads((RESULTS / "12_fast_mnist.json").read_text())
    changes = change(document["results"]) if callable(change) else change
    verdicts = BENCH.check_claims("12_fast_mnist", dict(document["results"], **changes), document["seconds"])
    failed = [c for c, holds in verdicts.items() if not holds]
    assert len(failed) == 1 and failed[0].startswith(claim), failed
