"""`import tfcourse` is light, yet registers tfcourse's serializables once Keras loads (lesson L00)."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest

import tfcourse

REPO = Path(__file__).resolve().parents[1]

_LOAD = textwrap.dedent(
    """
    import sys
    order = sys.argv[1]
    if order == "tfcourse_first":
        import tfcourse
        assert "keras" not in sys.modules and "tensorflow" not in sys.modules
        import keras
    elif order == "keras_first":
        import keras
        import tfcourse
    else:  # negative control: no tfcourse import at all
        import keras
    try:
        model = keras.saving.load_model(sys.argv[2])
    except Exception as error:
        print("LOAD FAILED", type(error).__name__)
        sys.exit(0)
    print("LOADED", type(model.optimizer).__module__, type(model.layers[1]).__module__)
    """
)


@pytest.fixture(scope="module")
def keras_file(tmp_path_factory):
    model = keras.Sequential([
        keras.Input((4,)), keras.layers.Dense(3, kernel_initializer=tfcourse.initializers.HeNormal(seed=0)),
        tfcourse.layers.BatchNormalization(), keras.layers.Dense(2),
    ])
    model.compile(optimizer=tfcourse.optimizers.Adam(1e-3), loss="mse")
    model.fit(np.ones((4, 4), "float32"), np.zeros((4, 2), "float32"), verbose=0)
    path = tmp_path_factory.mktemp("keras") / "model.keras"
    model.save(path)
    return path


@pytest.mark.parametrize("order", ["tfcourse_first", "keras_first", "no_tfcourse"])
def test_keras_file_loads_without_custom_objects(keras_file, order):
    env = dict(os.environ, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run([sys.executable, "-c", _LOAD, order, str(keras_file)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    if order == "no_tfcourse":  # the registration is what makes the load work
        assert "LOAD FAILED" in done.stdout, done.stdout
    else:
        assert "LOADED tfcourse.optimizers.adam tfcourse.layers.batch_normalization" in done.stdout, done.stdout


def test_subpackages_load_on_first_use():
    probe = "import sys, tfcourse; print(sorted(m for m in sys.modules if m.startswith(('tfcourse', 'keras', 'tensorf'))))"
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO)), capture_output=True, text=True, timeout=120,
    )
    assert done.stdout.strip() == "['tfcourse']", done.stderr[-2000:]
    assert tfcourse.models.__name__ == "tfcourse.models"  # module __getattr__
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        tfcourse.nope  # noqa: B018
