"""benchmarks/fast_mnist.py (the CPU time-to-accuracy benchmark): its verdicts and its arguments,
without training (the measured numbers live in benchmarks/results/fast_mnist.json)."""

import json
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def bench(load_script):
    return load_script(BENCHMARKS / "fast_mnist.py")


BASELINE = {"reached": True, "epochs": 9, "train_seconds": 90.0, "test_accuracies": [0.98] * 8 + [0.9901]}


def entry(accuracy, seconds, seeds=5):
    return {"runs": [{}] * seeds, "mean_test_accuracy": accuracy, "min_test_accuracy": accuracy - 0.001,
            "median_train_seconds": seconds}  # fmt: skip


def verdicts(rows):
    """{row's name: its target cell}, the name without the target and device parts."""
    return {row[0].split(" >=")[0].split(" (")[0].split(",")[0]: row[-1] for row in rows}


def test_a_target_is_met_only_when_accuracy_and_seconds_both_are(bench):
    measured = {"record": entry(0.9907, 2.8, seeds=10), "accurate": entry(0.9949, 30.0),
                "fashion": entry(0.9313, 181.0)}  # fmt: skip
    rows, ratio = bench.rows_for("CPU", BASELINE, measured)
    cells = verdicts(rows)
    assert cells["MNIST record recipe"] == "**met**"
    assert cells["MNIST"] == "**not met**"  # BN + shifts: fast enough, 0.9949 < 0.995
    assert cells["Fashion-MNIST"] == "**not met**"  # accurate enough, 181 s > 180 s
    assert ratio == pytest.approx(90.0 / 2.8)
    assert cells["speed-up"] == "**met** (goal >= 15x)"
    assert rows[1][1] == "10" and rows[1][2] == "0.9907 (min 0.9897)" and rows[1][3] == "2.80 s"
    assert [bench.target_met(measured[name], accuracy, seconds) for name, _, _, accuracy, seconds in bench.TARGETS] \
        == [True, False, False]


def test_the_speed_up_counts_only_when_the_baseline_reached_99_percent(bench):
    stalled = {**BASELINE, "reached": False, "epochs": 15}
    rows, ratio = bench.rows_for("CPU", stalled, {"record": entry(0.9907, 2.0, seeds=10)})
    cells = verdicts(rows)
    assert ratio == pytest.approx(45.0)  # >= 15x, yet
    assert cells["speed-up"] == "**not met** (goal >= 15x)"
    assert cells["keras-io baseline to 99.0%"] == "**99.0% not reached in 15 epochs**"
    # negative control: the same numbers with a baseline that reached 99%
    assert verdicts(bench.rows_for("CPU", BASELINE, {"record": entry(0.9907, 2.0, seeds=10)})[0])["speed-up"] \
        == "**met** (goal >= 15x)"
    rows, _ = bench.rows_for("CPU", BASELINE, {"record": entry(0.9907, 7.0, seeds=10)})
    assert verdicts(rows)["speed-up"] == "**not met** (goal >= 15x)"  # 12.9x


def test_stages_the_run_did_not_reach_say_so_and_there_is_no_speed_up_without_the_record(bench):
    rows, ratio = bench.rows_for("CPU", BASELINE, {})
    assert ratio is None and len(rows) == 1 + len(bench.TARGETS)
    assert all(row[1] == "0" and row[-1] == "**not run** (benchmark stopped before this stage)" for row in rows[1:])


@pytest.mark.parametrize("argument", ["--seeds", "--target-seeds", "--baseline-max-epochs"])
@pytest.mark.parametrize(("value", "shown"), [("0", "0"), ("-2", "-2"), ("two", "'two'")])
def test_counts_must_be_positive_integers(bench, capsys, argument, value, shown):
    with pytest.raises(SystemExit):
        bench.parse_args([argument, value])
    assert f"argument {argument}: must be an integer >= 1. Received: {shown}" in capsys.readouterr().err
    assert getattr(bench.parse_args([argument, "3"]), argument[2:].replace("-", "_")) == 3


def test_the_committed_readme_rows_are_the_verdicts_of_the_committed_measurements(bench):
    # a verdict edited by hand in benchmarks/results/fast_mnist.json, or a changed rule, fails here
    document = json.loads((BENCHMARKS / "results" / "fast_mnist.json").read_text())
    rows, ratio = bench.rows_for(document["device"], document["baseline"], document["targets"])
    assert rows == document["readme_table"]["rows"]
    assert ratio == pytest.approx(document["speedup"])
    edited = {**document["targets"], "record": {**document["targets"]["record"], "median_train_seconds": 3.5}}
    assert bench.rows_for(document["device"], document["baseline"], edited)[0][1][-1] == "**not met**"  # control
