"""benchmarks/fast_mnist_keras.py on Keras's real JAX backend (JAX/CPU), as the GPU host runs it.

The suite's own process is TensorFlow's (tests/conftest.py), and Keras picks its backend when it is
first imported, so the checks run in one child process with KERAS_BACKEND=jax and TensorFlow made
unimportable (the GPU host has none), and report back as JSON; one Keras/JAX import for all of them.
tests/test_fast_mnist_keras.py covers the script on TensorFlow, tests/test_models.py the JAX-only
jit mark with a faked backend name.

- `train_recipe_one_program` (each epoch one jitted `lax.scan`) makes the same updates as
  `train_recipe` (`model.fit`) when both see the same epoch orders: the orders `model.fit`'s array
  adapter drew are recorded and handed to the one-program loop (its own `next_order` draws another
  generator's permutations). Control: the same loop fed other orders ends elsewhere.
- The BN + shifts recipe (`ACCURATE`) trains under `model.fit` with the train step compiled
  (`jit_compile="auto"` resolves to True, and Keras's JAX trainer jits the step), its
  RandomTranslation drawing new shifts every step. Control: Keras's own RandomTranslation
  (`supports_jit=False`) makes "auto" resolve to False.
"""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "fast_mnist_keras.py"
COUNT, BATCH, EPOCHS = 300, 64, 2  # 5 steps an epoch, the last one partial (44 rows: the padding's weight 0)
# Same updates up to float32 rounding: the two programs sum in other orders (model.fit's batch mean
# against sum(w * loss) / sum(w), other XLA fusions), a few ulps (~1e-7 relative) per gradient, and
# Adam's update m / (sqrt(v) + eps) passes a relative error on at about its size, scaled by lr <= 0.02,
# over 10 steps. Measured (JAX/CPU): max |difference| 1.8e-6, with the weights moved 0.095 from their
# start; other epoch orders end 0.14 away, and weight 1 on the padding rows (a broken partial batch) 0.067
# away. 1e-4 sits 50x above the rounding and 600x below the nearest wrong answer.
ATOL = 1e-4
BASELINE_COUNT, BASELINE_MAX_EPOCHS = 256, 12  # whole batches of 128: one shape to compile
SHIFT_COUNT = 256  # the BN + shifts run: 4 whole batches, so one shape and one compilation of its train step


def _separable_images(rng, labels):
    """Images in [0, 1] where each class lights its own row: learnable, so the gradients carry signal."""
    images = rng.uniform(0, 0.1, (len(labels), 28, 28, 1)).astype("float32")
    images[np.arange(len(labels)), labels * 2 + 4] += 0.9
    return images


@pytest.fixture(scope="module")
def jax_results(tmp_path_factory):
    if importlib.util.find_spec("jax") is None or importlib.util.find_spec("jaxlib") is None:
        pytest.skip("JAX is not installed (the `dev` extra of setup.cfg installs it): Keras's JAX backend is untested")
    folder = tmp_path_factory.mktemp("fast_mnist_keras_jax")
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, COUNT)
    np.savez(folder / "arrays.npz", images=_separable_images(rng, labels), labels=labels)
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu", "CUDA_VISIBLE_DEVICES": ""}
    env.pop("XLA_FLAGS", None)  # flags meant for TensorFlow's XLA would be jaxlib's to parse
    result = subprocess.run([sys.executable, __file__, str(folder / "arrays.npz"), str(folder / "results.json")],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert result.returncode == 0, f"the JAX child process failed:\n{result.stdout[-4000:]}\n{result.stderr[-8000:]}"
    return json.loads((folder / "results.json").read_text())


def test_child_ran_keras_on_jax_without_tensorflow(jax_results):
    assert jax_results["backend"] == "jax" and jax_results["jax_platform"] == "cpu"
    # TensorFlow was unimportable in the child (as on the GPU host) and everything above ran: the benchmark,
    # tfcourse's recipes and models need Keras alone (`import tfcourse` skips its TF-only packages there)
    assert not jax_results["tensorflow_imported"]


def test_fit_draws_one_permutation_per_epoch_on_the_host(jax_results):
    # one per epoch, and one first that Keras's symbolic build peeks at (the epochs use the last EPOCHS)
    assert jax_results["fit_orders"] == {"count": EPOCHS + 1, "all_permutations": True, "distinct": True}
    # the one-program loop's own orders: a fresh permutation each epoch, padded to (steps, batch) with weight 0
    assert jax_results["own_orders"] == {"shape": [5, BATCH], "all_permutations": True, "distinct": True,
                                         "padding_zeros": True}  # fmt: skip


def test_one_program_loop_makes_model_fits_updates_given_the_same_orders(jax_results):
    same, other = jax_results["one_program_vs_fit"], jax_results["one_program_other_orders_vs_fit"]
    assert same["orders_handed"] == EPOCHS
    assert same["moved_from_init"] > 100 * ATOL, "training must move the weights for the comparison to mean anything"
    assert same["max_abs_difference"] <= ATOL, same
    assert other["max_abs_difference"] > 10 * ATOL, other  # control: the orders matter, so they were the same ones


def test_shifts_recipe_compiles_its_train_step_on_jax(jax_results):
    shifts = jax_results["accurate"]
    assert shifts["translation_supports_jit"] and shifts["jit_compile"]
    assert "train_step" in shifts["jitted"], shifts["jitted"]  # Keras's JAX trainer jitted the step it ran
    assert shifts["finite"] and shifts["weights_moved"] and shifts["moving_mean_moved"]
    # new shifts every step under jit (2 draws a step measured), not one drawn at trace time and frozen
    assert shifts["shift_draws"] >= shifts["steps"] >= 2, shifts
    control = jax_results["plain_translation"]
    assert not control["supports_jit"] and not control["jit_compile"]  # control: Keras's own mark turns XLA off


def test_keras_io_baseline_stops_at_the_first_epoch_at_99_percent(jax_results):
    run = jax_results["baseline"]
    accuracies = run["test_accuracies"]
    assert run["reached"] and run["epochs"] == len(accuracies) < BASELINE_MAX_EPOCHS, run  # stopped before the cap
    assert accuracies[-1] >= 0.99 and all(a < 0.99 for a in accuracies[:-1]), run
    assert run["train_seconds"] > 0


# ---- the child process (KERAS_BACKEND=jax): `python tests/test_fast_mnist_keras_jax.py ARRAYS OUT` ----


class _NoTensorFlow:
    """A meta-path finder that makes `import tensorflow` fail as on a host without it."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname == "tensorflow" or fullname.startswith("tensorflow."):
            raise ModuleNotFoundError(f"No module named {fullname!r} (blocked by the test)", name="tensorflow")
        return None


def _max_abs_difference(first, second):
    return max(float(np.max(np.abs(np.asarray(a, "float64") - np.asarray(b, "float64")))) for a, b in zip(first, second))


def _orders_summary(orders, count):
    flat = [np.asarray(order).reshape(-1) for order in orders]
    return {"all_permutations": all(np.array_equal(np.sort(order[:count]), np.arange(count)) for order in flat),
            "distinct": not any(np.array_equal(flat[i], flat[j]) for i in range(len(flat)) for j in range(i))}  # fmt: skip


def _child(arrays_path, out_path):
    sys.meta_path.insert(0, _NoTensorFlow())
    import dataclasses

    import jax
    import keras

    sys.path.insert(0, str(SCRIPT.parent))  # as when it runs as a script: its neighbours (`_common`) import
    spec = importlib.util.spec_from_file_location("fast_mnist_keras", SCRIPT)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    import tfcourse.models
    from tfcourse.fast_mnist import ACCURATE, RECORD

    with np.load(arrays_path) as arrays:
        images, labels = arrays["images"], arrays["labels"]
    results = {"backend": keras.backend.backend(), "jax_platform": jax.devices()[0].platform}

    # (a) model.fit against the one-program loop, the orders model.fit's adapter drew recorded
    recipe = dataclasses.replace(RECORD, mixed_precision=None, batch_size=BATCH, epochs=EPOCHS)
    drawn, permutation = [], np.random.permutation

    def recording_permutation(x, *args, **kwargs):
        order = permutation(x, *args, **kwargs)
        if np.ndim(x) == 0 and x == COUNT:
            drawn.append(np.asarray(order))
        return order

    np.random.permutation = recording_permutation
    try:
        fit_model, _ = bench.train_recipe(recipe, images, labels, seed=0)
    finally:
        np.random.permutation = permutation
    results["fit_orders"] = {"count": len(drawn), **_orders_summary(drawn, COUNT)}
    # Keras's JAX fit peeks at one batch of a first draw to build the loss and metrics
    # (`_symbolic_build`, then `epoch_iterator.reset()`); the epochs train on the draws after it.
    steps = recipe.steps_per_epoch(COUNT)
    fits_orders = [np.concatenate([order, np.zeros(steps * BATCH - COUNT, order.dtype)]).astype("int32")
                   .reshape(steps, BATCH) for order in drawn[-EPOCHS:]]  # fmt: skip

    original, captured, handed = bench.one_program_parts, [], []

    def parts_with_fits_orders(*args, **kwargs):
        parts = original(*args, **kwargs)
        captured.append(parts)
        queue = iter(fits_orders)

        def next_order():
            handed.append(1)
            return next(queue)

        return parts._replace(next_order=next_order)

    bench.one_program_parts = parts_with_fits_orders
    try:
        one_program_model, _ = bench.train_recipe_one_program(recipe, images, labels, seed=0)
    finally:
        bench.one_program_parts = original
    (parts,) = captured
    values = lambda model: [v.value for v in model.trainable_variables + model.non_trainable_variables]  # noqa: E731
    fit_values = values(fit_model)
    results["one_program_vs_fit"] = {
        "orders_handed": len(handed),
        "max_abs_difference": _max_abs_difference(values(one_program_model), fit_values),
        "moved_from_init": _max_abs_difference(parts.state[0] + parts.state[1], fit_values),
    }

    # the loop's own orders (its `next_order`, untouched above); the control runs them through the same epoch
    own = [parts.next_order() for _ in range(EPOCHS)]
    results["own_orders"] = {"shape": list(own[0].shape), **_orders_summary(own, COUNT),
                             "padding_zeros": all(not order.reshape(-1)[COUNT:].any() for order in own)}  # fmt: skip
    epoch, state = jax.jit(parts.epoch), parts.state
    for order in own:
        state = epoch(state, *parts.arrays, order)
    results["one_program_other_orders_vs_fit"] = {"max_abs_difference": _max_abs_difference(state[0] + state[1], fit_values)}

    # (b) the BN + shifts recipe under model.fit, recording what Keras's JAX trainer jits
    trainer = sys.modules["keras.src.backend.jax.trainer"]
    jitted, jit = [], trainer.jit

    def recording_jit(function, *args, **kwargs):
        jitted.append(getattr(function, "__name__", repr(function)))
        return jit(function, *args, **kwargs)

    accurate = dataclasses.replace(ACCURATE, mixed_precision=None, epochs=1, batch_size=BATCH)
    trainer.jit = recording_jit
    try:
        keras.utils.set_random_seed(0)
        probe = accurate.build_model()
        translation = next(layer for layer in probe.layers if isinstance(layer, keras.layers.RandomTranslation))
        seed_before = np.asarray(translation.generator.state.value).copy()
        model, _ = bench.train_recipe(accurate, images[:SHIFT_COUNT], labels[:SHIFT_COUNT], seed=0)
    finally:
        trainer.jit = jit
    translation = next(layer for layer in model.layers if isinstance(layer, keras.layers.RandomTranslation))
    norm = next(layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization))
    weights = model.get_weights()
    results["accurate"] = {
        "translation_supports_jit": bool(translation.supports_jit),
        "jit_compile": bool(model.jit_compile),
        "jitted": jitted,
        "finite": all(bool(np.isfinite(w).all()) for w in weights),
        "weights_moved": _max_abs_difference(probe.get_weights(), weights) > 1e-3,
        "moving_mean_moved": bool(np.abs(np.asarray(norm.moving_mean)).max() > 0),
        # Keras's SeedGenerator state is (seed, counter); each draw adds 1 to the counter
        "shift_draws": int(np.asarray(translation.generator.state.value)[1] - seed_before[1]),
        "steps": accurate.steps_per_epoch(SHIFT_COUNT),
    }

    # control: Keras's own RandomTranslation keeps supports_jit=False, and "auto" turns XLA off
    original_layer = tfcourse.models._random_translation_layer
    tfcourse.models._random_translation_layer = lambda shift: keras.layers.RandomTranslation(
        shift, shift, fill_mode="constant"
    )
    try:
        control = accurate.build_model()
    finally:
        tfcourse.models._random_translation_layer = original_layer
    control.compile(optimizer=accurate.optimizer(COUNT), loss=accurate.loss(), jit_compile="auto")
    plain = next(layer for layer in control.layers if isinstance(layer, keras.layers.RandomTranslation))
    results["plain_translation"] = {"supports_jit": bool(plain.supports_jit), "jit_compile": bool(control.jit_compile)}

    # (c) the keras-io baseline, evaluated after every epoch, stops at the first epoch at 99%
    results["baseline"] = bench.baseline_time_to_99(images[:BASELINE_COUNT], labels[:BASELINE_COUNT],
                                                    images[:100], labels[:100], max_epochs=BASELINE_MAX_EPOCHS)  # fmt: skip

    results["tensorflow_imported"] = "tensorflow" in sys.modules
    Path(out_path).write_text(json.dumps(results))


if __name__ == "__main__":
    _child(*sys.argv[1:])
