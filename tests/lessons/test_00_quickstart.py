"""Smoke test: the flagship quickstart lesson trains, reports and exports (`--quick`)."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_quickstart_quick_run(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "lessons" / "00_quickstart.py"), "--quick",
         "--output-dir", str(tmp_path / "out"), "--saved-models-dir", str(tmp_path / "models")],
        capture_output=True, text=True, timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["test_accuracy"] > 0.85
    assert "test_accuracy" in result.stdout
    exported = Path(results["saved_model"])
    assert exported.parent == tmp_path / "models" / "mnist_cnn"
    assert (exported / "saved_model.pb").is_file()
