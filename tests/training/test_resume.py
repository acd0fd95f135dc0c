"""Exact resume: SIGKILL in the middle of an epoch, the same command again, bit-identical weights (L11).

A parent (this test) starts a training child (`resume_child.py`: deterministic CPU mode, the
shuffled `load_splits` pipeline, dropout, Adam, ReduceLROnPlateau), waits for the marker file a
callback writes in the middle of epoch index 2, kills the child with a real SIGKILL, starts the
same command again, and compares the final weights with an uninterrupted run's: equal bit for
bit on `fit` and on the custom loop. The negative control feeds a pipeline whose order depends
on how many iterators the process opened: the same kill and restart then end elsewhere.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

CHILD = Path(__file__).with_name("resume_child.py")
REPO = Path(__file__).resolve().parents[2]
TIMEOUT_S = 240
PAUSE_AT = ("2", "3")  # epoch index 2 of 4, after batch 3 of 8


def _command(out_dir, backup_dir, loop, *extra):
    return [sys.executable, str(CHILD), str(out_dir), str(backup_dir), "--loop", loop, *extra]


def _env():
    env = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"}
    return dict(env, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(REPO), CUDA_VISIBLE_DEVICES="")


def _run(command, out_dir):
    done = subprocess.run(command, env=_env(), cwd=REPO, capture_output=True, text=True, timeout=TIMEOUT_S)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return np.load(out_dir / "result.npz")


def _run_killed_at_marker(command, out_dir):
    """Start `command`, SIGKILL it once its callback wrote out_dir/marker (mid-epoch)."""
    proc = subprocess.Popen(command, env=_env(), cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + TIMEOUT_S
        while not (out_dir / "marker").exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"child ended or hung before the marker:\n{proc.communicate(timeout=30)[1][-3000:]}")
            time.sleep(0.2)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def _weights(npz):
    return [npz[f"arr_{i}"] for i in range(len([k for k in npz.files if k.startswith("arr_")]))]


def _bit_identical(a, b):
    return all(np.array_equal(x, y) for x, y in zip(_weights(a), _weights(b)))


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """{loop: result of an uninterrupted run} (computed once per loop)."""
    cache = {}

    def get(loop):
        if loop not in cache:
            out = tmp_path_factory.mktemp(f"reference-{loop}")
            cache[loop] = _run(_command(out, out / "backup", loop), out)
            assert int(cache[loop]["initial_epoch"]) == 0
        return cache[loop]

    return get


def _kill_and_restart(tmp_path, loop, *extra):
    backup = tmp_path / "backup"
    command = _command(tmp_path, backup, loop, "--pause-at", *PAUSE_AT, *extra)
    _run_killed_at_marker(command, tmp_path)
    assert json.loads((backup / "state.json").read_text())["epoch"] == 2  # epochs 0 and 1 backed up
    resumed = _run(command, tmp_path)  # the same command again
    assert not (backup / "state.json").exists()  # a finished run deletes its backup
    return resumed


@pytest.mark.parametrize("loop", ["fit", "custom"])
def test_sigkill_mid_epoch_then_restart_is_bit_identical(tmp_path, loop, uninterrupted):
    resumed = _kill_and_restart(tmp_path, loop)
    reference = uninterrupted(loop)
    assert int(resumed["initial_epoch"]) == 2
    np.testing.assert_array_equal(resumed["loss"], reference["loss"][2:])
    # ReduceLROnPlateau's wait count was restored: the same learning rates as uninterrupted.
    np.testing.assert_array_equal(resumed["learning_rate"], reference["learning_rate"][2:])
    assert _bit_identical(resumed, reference)


def test_negative_control_iterator_count_order_does_not_resume_exactly(tmp_path, uninterrupted):
    """Same kill and restart, but the epoch order depends on the process's iterator count."""
    out = tmp_path / "reference"
    out.mkdir()
    reference = _run(_command(out, out / "backup", "fit", "--iterator-order"), out)
    resumed = _kill_and_restart(tmp_path, "fit", "--iterator-order")
    assert int(resumed["initial_epoch"]) == 2
    assert not _bit_identical(resumed, reference)
    assert not np.array_equal(resumed["loss"], reference["loss"][2:])


def test_sigkill_during_a_backup_write_leaves_the_previous_backup_usable(tmp_path, uninterrupted):
    """Killed while writing the backup of epoch 2: state.json still names epoch 1's complete backup."""
    backup = tmp_path / "backup"
    command = _command(tmp_path, backup, "custom", "--kill-in-backup", "2")
    killed = subprocess.run(command, env=_env(), cwd=REPO, capture_output=True, text=True, timeout=TIMEOUT_S)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    assert json.loads((backup / "state.json").read_text())["epoch"] == 1
    assert (backup / "epoch-000002").exists()  # the half-written folder is there, and ignored
    restart = [c for c in command if c not in ("--kill-in-backup", "2")]
    resumed = _run(restart, tmp_path)
    assert int(resumed["initial_epoch"]) == 1
    assert _bit_identical(resumed, uninterrupted("custom"))
