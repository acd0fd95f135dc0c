"""MultiWorkerMirroredStrategy with two worker processes on 127.0.0.1 (lesson L11).

Each test starts its own workers with TF_CONFIG on free localhost ports, waits with a
bounded timeout and kills every process it started. Tolerance for "same weights as a
single-device run at the same global batch": atol 1e-5 (float32 sums in another order).
"""

import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

WORKER = Path(__file__).with_name("mw_worker.py")
REPO = Path(__file__).resolve().parents[2]
TIMEOUT_S = 180
ATOL = 1e-5


def _load_worker_module():
    spec = importlib.util.spec_from_file_location("mw_worker", WORKER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _free_ports(n):
    sockets = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        sockets.append(s)
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _start_workers(out_dir, backup_dir, extra=()):
    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    procs = []
    for index in range(2):
        env = dict(os.environ)
        env["TF_CONFIG"] = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
        env["TF_CPP_MIN_LOG_LEVEL"] = "2"
        env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
        env.pop("CUDA_VISIBLE_DEVICES", None)
        log = open(out_dir / f"log{index}.txt", "w")
        procs.append(
            subprocess.Popen(
                [sys.executable, str(WORKER), str(out_dir), str(backup_dir), *extra],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=str(REPO),
            )
        )
        log.close()
    return procs


def _kill(procs):
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass


def _wait(procs, out_dir, timeout=TIMEOUT_S):
    deadline = time.monotonic() + timeout
    try:
        for proc in procs:
            proc.wait(timeout=max(1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        _kill(procs)
        logs = "\n".join((out_dir / f"log{i}.txt").read_text()[-3000:] for i in range(2))
        pytest.fail(f"workers did not finish in {timeout} s:\n{logs}")
    for i, proc in enumerate(procs):
        if proc.returncode != 0:
            pytest.fail(f"worker {i} exited {proc.returncode}:\n{(out_dir / f'log{i}.txt').read_text()[-4000:]}")


def _weights(npz):
    n = len([k for k in npz.files if k.startswith("arr_")])
    return [npz[f"arr_{i}"] for i in range(n)]


@pytest.fixture(scope="module")
def reference():
    """Single-device run of the same model, data and global batch (4 epochs)."""
    worker = _load_worker_module()
    result = worker.run("default")
    return result.model.get_weights(), result.history["loss"]


def test_two_workers_match_single_device_and_each_other(tmp_path, reference):
    procs = _start_workers(tmp_path, tmp_path / "backup")
    try:
        _wait(procs, tmp_path)
    finally:
        _kill(procs)
    results = [np.load(tmp_path / f"worker{i}.npz") for i in range(2)]
    ref_weights, ref_loss = reference
    for result in results:
        assert str(result["loop"]) == "custom"  # fit fails under MWMS (keras#20585)
        assert not bool(result["jit_compile"]) and not bool(result["measured"])  # "auto" -> False, unmeasured
        assert int(result["initial_epoch"]) == 0
        np.testing.assert_allclose(result["loss"], ref_loss, rtol=1e-5)
        for got, want in zip(_weights(result), ref_weights):
            np.testing.assert_allclose(got, want, atol=ATOL)
    for a, b in zip(_weights(results[0]), _weights(results[1])):
        np.testing.assert_array_equal(a, b)
    # A finished run deletes its backup, so the next run starts fresh.
    assert not (tmp_path / "backup" / "state.json").exists()


def test_killed_worker_then_restart_resumes_from_backup(tmp_path, reference):
    backup = tmp_path / "backup"
    procs = _start_workers(tmp_path, backup, extra=("--pause-after-epoch", "2"))
    try:
        deadline = time.monotonic() + TIMEOUT_S
        while not all((tmp_path / f"paused{i}").exists() for i in range(2)):
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                logs = "\n".join((tmp_path / f"log{i}.txt").read_text()[-3000:] for i in range(2))
                pytest.fail(f"workers did not reach epoch 2:\n{logs}")
            time.sleep(0.5)
        procs[1].kill()  # one worker dies mid-run ...
        procs[1].wait(timeout=30)
    finally:
        _kill(procs)  # ... and the stuck chief is stopped too
    assert json.loads((backup / "state.json").read_text())["epoch"] == 2

    procs = _start_workers(tmp_path, backup)
    try:
        _wait(procs, tmp_path)
    finally:
        _kill(procs)
    ref_weights, ref_loss = reference
    for i in range(2):
        result = np.load(tmp_path / f"worker{i}.npz")
        assert int(result["initial_epoch"]) == 2  # the two finished epochs were not redone
        np.testing.assert_allclose(result["loss"], ref_loss[2:], rtol=1e-5)
        for got, want in zip(_weights(result), ref_weights):
            np.testing.assert_allclose(got, want, atol=ATOL)


def test_early_stopping_stops_both_workers_at_the_same_epoch(tmp_path):
    """tfcourse's EarlyStopping and LearningRateDecay run on each worker (custom loop); both see the same
    all-reduced logs and stop together after epoch index 1 of 6 (a lone stop would leave the other
    worker hanging), with the same decayed learning rates."""
    procs = _start_workers(tmp_path, tmp_path / "backup", extra=("--epochs", "6", "--early-stop"))
    try:
        _wait(procs, tmp_path)
    finally:
        _kill(procs)
    results = [np.load(tmp_path / f"worker{i}.npz") for i in range(2)]
    assert [len(r["loss"]) for r in results] == [2, 2]
    np.testing.assert_array_equal(results[0]["loss"], results[1]["loss"])
    for result in results:  # LearningRateDecay ran on both workers: 1e-3, then halved
        np.testing.assert_allclose(result["learning_rate"], [1e-3, 5e-4], rtol=1e-6)
    for a, b in zip(_weights(results[0]), _weights(results[1])):
        np.testing.assert_array_equal(a, b)
