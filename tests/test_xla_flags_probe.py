"""benchmarks/xla_flags_probe.py's collection of the probe processes' log (the probes themselves
need JAX and a GPU: they run on the device host, and their seconds live in benchmarks/results/)."""

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "xla_flags_probe.py"

LOG = """=== XLA_FLAGS=''
device NVIDIA H100 80GB HBM3 XLA_FLAGS
one_program seed 0 1.1 0.9911
RESULT {"xla_flags": "", "one_program": [1.1, 1.0, 1.2], "fit": [4.4, 1.4], "score": 3.9}
=== XLA_FLAGS='--a=false'
device NVIDIA H100 80GB HBM3 XLA_FLAGS --a=false
RESULT {"xla_flags": "--a=false", "one_program": [1.0, 1.1, 1.1], "fit": [1.9, 1.3], "score": 2.7}
=== XLA_FLAGS='--b='
F0000 unknown flag
"""


@pytest.fixture(scope="module")
def probe(load_script):
    return load_script(SCRIPT)


def test_collect_keeps_every_finished_set_and_names_the_lowest_score(probe):
    document = probe.collect(LOG, "abc1234", "2026-11-27 13:33")
    assert [row["xla_flags"] for row in document["flag_sets"]] == ["", "--a=false"]
    assert document["fastest"] == "--a=false"
    assert document["machine"] == {"git_commit": "abc1234", "gpus": ["NVIDIA H100 80GB HBM3"],
                                   "date_utc": "2026-11-27 13:33"}  # fmt: skip
    # Control: with the scores swapped the other set wins, so the choice follows the score.
    swapped = LOG.replace('"score": 3.9', '"score": 2.0')
    assert probe.collect(swapped, "abc1234")["fastest"] == ""


def test_collect_refuses_a_log_where_no_set_finished(probe):
    with pytest.raises(ValueError, match="no `RESULT` line"):
        probe.collect("=== XLA_FLAGS=''\nF0000 unknown flag\n", "abc1234")


def test_cli_writes_the_document_and_prints_the_fastest_set(tmp_path):
    (tmp_path / "probe.log").write_text(LOG)
    out = tmp_path / "flags.json"
    run = subprocess.run([sys.executable, str(SCRIPT), "--collect", str(tmp_path / "probe.log"), "--out", str(out),
                          "--commit", "abc1234"], capture_output=True, text=True, timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == "--a=false" and '"fastest": "--a=false"' in out.read_text()
    missing = subprocess.run([sys.executable, str(SCRIPT), "--collect", str(tmp_path / "probe.log")],
                             capture_output=True, text=True, timeout=120)  # fmt: skip
    assert missing.returncode == 2 and "`--out` is required" in missing.stderr
