"""One setup path for every way tfcourse trains a model: `fit`, the custom loop, the XLA trial.

Introduced in lesson L11. Both loops of `tfcourse.training.train` and the throwaway models of
`choose_jit_compile` are made here, so they cannot drift apart (same dtype policy, optimizer,
metrics and `steps_per_execution`):

    policy    = resolve_mixed_precision(mixed_precision)   # "float32" / "mixed_bfloat16" / ...
    with strategy.scope():                                  # variables created per replica
        with dtype_policy(policy): model = build_model()
        model.compile(make_optimizer(optimizer), loss, resolve_metrics(metrics), ...)
        model.optimizer.build(model.trainable_variables)   # one trace of the first step, not two
    dataset   = as_dataset(data, global_batch_size)         # (x, y) arrays -> batches, in order

Imports run one way: setup <- custom_loop <- xla_choice <- fit (`train`).
"""

import contextlib
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from tfcourse._validation import check_one_of

PRECISIONS = (None, "auto", "float32", "mixed_float16", "mixed_bfloat16")


NATIVE_BFLOAT16_FLAGS = frozenset({"amx_bf16", "avx512_bf16"})


def cpu_has_native_bfloat16(cpuinfo="/proc/cpuinfo"):
    """Whether this CPU computes bfloat16 in hardware: AMX-BF16 or AVX512-BF16 (lesson L12).

    Read from the `flags` lines of `cpuinfo` (Linux); False where that file cannot be read.
    Without these instructions bfloat16 is emulated and slower than float32.
    """
    try:
        text = Path(cpuinfo).read_text()
    except OSError:
        return False
    flags = {flag for line in text.splitlines() if line.startswith("flags") for flag in line.split(":", 1)[-1].split()}
    return bool(flags & NATIVE_BFLOAT16_FLAGS)


def resolve_mixed_precision(mixed_precision):
    """The dtype policy name for `mixed_precision` (lessons L11, L12).

    None / "float32" -> "float32"; "auto" -> "mixed_float16" on a GPU; on a CPU
    "mixed_bfloat16" where it computes bfloat16 natively (`cpu_has_native_bfloat16`; the
    measured gain: `tfcourse.fast_mnist.RECORD`), else "float32".
    """
    check_one_of("mixed_precision", mixed_precision, PRECISIONS)
    if mixed_precision in (None, "float32"):
        return "float32"
    if mixed_precision == "auto":
        if tf.config.list_logical_devices("GPU"):
            return "mixed_float16"
        return "mixed_bfloat16" if cpu_has_native_bfloat16() else "float32"
    return mixed_precision


@contextlib.contextmanager
def dtype_policy(name):
    """Build layers under dtype policy `name`, restoring the previous policy afterwards (lesson L11).

    previous = global policy; set(name); yield; set(previous)   # also on error
    """
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def make_optimizer(optimizer):
    """A fresh optimizer (call it inside the strategy scope) from a name, instance or factory.

    Introduced in lesson L11. name -> keras.optimizers.get(name); instance -> re-created from
    its config (its variables must live in the strategy); factory -> factory().
    """
    if isinstance(optimizer, str):
        return keras.optimizers.get(optimizer)
    if isinstance(optimizer, keras.optimizers.Optimizer):
        return optimizer.__class__.from_config(optimizer.get_config())
    if callable(optimizer):
        made = optimizer()
        if isinstance(made, keras.optimizers.Optimizer):
            return made
    raise ValueError(
        "`optimizer` must be an optimizer name, a keras.optimizers.Optimizer or a function "
        f"returning one. Received: optimizer={optimizer!r}"
    )


def resolve_metrics(metrics, label_spec, output_units):
    """Metric objects with fit-style names; "accuracy" picks the right variant (lesson L11).

    "accuracy": 1 output unit -> BinaryAccuracy; integer labels -> SparseCategoricalAccuracy;
    one-hot labels -> CategoricalAccuracy. Metric objects are cloned from their config.
    """
    resolved = []
    for metric in metrics:
        if isinstance(metric, keras.metrics.Metric):
            resolved.append(metric.__class__.from_config(metric.get_config()))
        elif metric in ("accuracy", "acc"):
            sparse = label_spec.shape.rank == 1 or label_spec.shape[-1] == 1
            if output_units == 1:
                resolved.append(keras.metrics.BinaryAccuracy(name="accuracy"))
            elif sparse:
                resolved.append(keras.metrics.SparseCategoricalAccuracy(name="accuracy"))
            else:
                resolved.append(keras.metrics.CategoricalAccuracy(name="accuracy"))
        elif isinstance(metric, str):
            found = keras.metrics.get(metric)
            if isinstance(found, keras.metrics.Metric):
                resolved.append(found)
            else:
                resolved.append(keras.metrics.MeanMetricWrapper(found, name=metric))
        else:
            raise ValueError(
                f"`metrics` must hold metric names or keras.metrics.Metric objects. Received: {metric!r}"
            )
    return resolved


def as_dataset(data, global_batch_size, name="data"):
    """`data` as a tf.data.Dataset of (x, y) batches (lesson L11).

    A Dataset passes through; an (x, y) pair of arrays becomes batches of `global_batch_size`
    in order (not shuffled); None stays None.
    """
    if data is None:
        return None
    if isinstance(data, tf.data.Dataset):
        return data
    if isinstance(data, (tuple, list)) and len(data) == 2:
        x, y = (np.asarray(a) for a in data)
        if len(x) != len(y):
            raise ValueError(
                f"`{name}` arrays must have the same length. Received: {len(x)} images, {len(y)} labels"
            )
        return tf.data.Dataset.from_tensor_slices((x, y)).batch(global_batch_size)
    raise ValueError(
        f"`{name}` must be a tf.data.Dataset of (x, y) batches or an (x, y) tuple of arrays. "
        f"Received: {name}={type(data).__name__}"
    )


def build_and_compile(
    build_model,
    strategy,
    element_spec,
    *,
    policy="float32",
    optimizer="adam",
    loss="sparse_categorical_crossentropy",
    metrics=("accuracy",),
    steps_per_execution=1,
    jit_compile=False,
):
    """Build `build_model()` and compile it inside `strategy.scope()` (lesson L11).

    with strategy.scope():
        with dtype_policy(policy): model = build_model()
        model.build(x shape) unless built
        model.compile(make_optimizer(optimizer), loss, resolve_metrics(metrics), ...)
        model.optimizer.build(model.trainable_variables)   # one trace of the first step, not two

    `element_spec` is the (x, y) element spec of the training batches. Returns
    (model, metric objects passed to compile), the metrics being what the custom loop updates.
    """
    if not callable(build_model):
        raise ValueError(
            f"`build_model` must be a function returning a Keras model. Received: build_model={build_model!r}"
        )
    x_spec, label_spec = element_spec
    with strategy.scope():
        with dtype_policy(policy):
            model = build_model()
        if not isinstance(model, keras.Model):
            raise ValueError(f"`build_model` must return a keras.Model. Received: {type(model).__name__}")
        if not model.built:
            model.build(x_spec.shape)
        output_units = model.outputs[0].shape[-1] if getattr(model, "outputs", None) else None
        compiled_metrics = resolve_metrics(metrics, label_spec, output_units)
        model.compile(
            optimizer=make_optimizer(optimizer),
            loss=loss,
            metrics=compiled_metrics,
            steps_per_execution=steps_per_execution,
            jit_compile=jit_compile,
        )
        # Keras builds the optimizer lazily, inside the first train step: `tf.function` then
        # traces that step twice (once creating the slot variables, once without). Building
        # it here halves the first call's tracing (~0.5 s for a small CNN, measured in L12).
        if isinstance(model.optimizer, keras.optimizers.Optimizer) and not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
    return model, compiled_metrics
