"""Choosing a `tf.distribute` strategy by name, and feeding it a tf.data pipeline.

Introduced in lesson L11. The same training code runs on one CPU, one GPU, several
GPUs (MirroredStrategy) and several machines (MultiWorkerMirroredStrategy); only the
strategy object changes.

    auto   -> "multi_worker" if TF_CONFIG names a cluster of 2+ tasks,
              else "mirrored" over all GPUs if there are several,
              else "one_device" on the single GPU,
              else "default" (no distribution, CPU)
"""

import json
import os

import tensorflow as tf

from tfcourse._validation import check_one_of

STRATEGY_NAMES = ("auto", "default", "one_device", "mirrored", "multi_worker")
SHARD_POLICIES = ("data", "file", "auto", "off")


def cluster_size(tf_config=None):
    """Number of tasks named in `TF_CONFIG` (0 when unset or empty).

    Introduced in lesson L11. `tf_config` is a JSON string or dict; None reads the
    environment variable `TF_CONFIG` (the standard way TensorFlow learns its cluster).
    """
    if tf_config is None:
        tf_config = os.environ.get("TF_CONFIG", "")
    if isinstance(tf_config, str):
        if not tf_config.strip():
            return 0
        try:
            tf_config = json.loads(tf_config)
        except json.JSONDecodeError as error:
            raise ValueError(f"`TF_CONFIG` must be JSON. Received: TF_CONFIG={tf_config!r}") from error
    cluster = tf_config.get("cluster", {}) or {}
    return sum(len(tasks) for tasks in cluster.values())


def resolve_strategy_name(strategy="auto", *, tf_config=None, num_gpus=None):
    """The concrete strategy name `auto` stands for on this machine (see module docstring).

    Introduced in lesson L11. Pure function of `TF_CONFIG` and the number of GPUs, so it is
    testable without the hardware.
    """
    check_one_of("strategy", strategy, STRATEGY_NAMES)
    if strategy != "auto":
        return strategy
    if cluster_size(tf_config) > 1:
        return "multi_worker"
    if num_gpus is None:
        num_gpus = len(tf.config.list_logical_devices("GPU"))
    if num_gpus > 1:
        return "mirrored"
    if num_gpus == 1:
        return "one_device"
    return "default"


def get_strategy(strategy="auto", *, devices=None):
    """Return a `tf.distribute.Strategy` chosen by name (or pass one through unchanged).

    Introduced in lesson L11.

    strategy: "auto" | "default" | "one_device" | "mirrored" | "multi_worker", or a Strategy.
    devices:  for "mirrored", the devices to mirror over (default: all GPUs, else the CPU),
              e.g. ["/cpu:0", "/cpu:1"] for two logical CPU devices;
              for "one_device", a single device string (default: the first GPU, else "/cpu:0").

    "multi_worker" reads the cluster from `TF_CONFIG`; every worker must call this with the
    same program (MultiWorkerMirroredStrategy must be created before other TF ops run).
    """
    if isinstance(strategy, tf.distribute.Strategy):
        return strategy
    name = resolve_strategy_name(strategy)
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "one_device":
        if devices is None:
            gpus = tf.config.list_logical_devices("GPU")
            device = gpus[0].name if gpus else "/cpu:0"
        elif isinstance(devices, str):
            device = devices
        elif len(devices) == 1:
            device = devices[0]
        else:
            raise ValueError(
                "`devices` must name exactly one device for strategy='one_device'. "
                f"Received: devices={devices!r}"
            )
        return tf.distribute.OneDeviceStrategy(device)
    if name == "mirrored":
        if devices is None:
            gpus = tf.config.list_logical_devices("GPU")
            devices = [d.name for d in gpus] if gpus else ["/cpu:0"]
        devices = list(devices)
        if all("cpu" in d.lower() for d in devices):
            # CPU replicas reduce through one device, not collective ops: collectives of two
            # MirroredStrategy objects in one process reuse instance keys and abort with
            # "Shape mismatch in the collective instance". Same sums, any number of strategies.
            return tf.distribute.MirroredStrategy(devices, cross_device_ops=tf.distribute.ReductionToOneDevice())
        return tf.distribute.MirroredStrategy(devices)
    # multi_worker: RING/AUTO collectives over the cluster named in TF_CONFIG.
    return tf.distribute.MultiWorkerMirroredStrategy()


def is_multi_worker(strategy):
    """True for a MultiWorkerMirroredStrategy (whose `model.fit` fails in Keras 3.15, keras#20585).

    Introduced in lesson L11.
    """
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def is_chief(strategy):
    """True on the worker that writes checkpoints, logs and exports (always True off-cluster).

    Introduced in lesson L11. With TF_CONFIG the chief is task type "chief", or worker 0
    when the cluster has no "chief" task.
    """
    if not is_multi_worker(strategy):
        return True
    resolver = strategy.cluster_resolver
    task_type, task_id = resolver.task_type, resolver.task_id
    if task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return (not has_chief) and task_type == "worker" and task_id == 0


def per_replica_batch_size(global_batch_size, strategy):
    """`global_batch_size // num_replicas_in_sync`; raises unless it divides evenly.

    Introduced in lesson L11. Each optimizer step sees `global_batch_size` examples in
    total, split equally over the replicas.
    """
    replicas = strategy.num_replicas_in_sync
    if global_batch_size % replicas:
        raise ValueError(
            f"`global_batch_size` must be a multiple of the number of replicas ({replicas}). "
            f"Received: global_batch_size={global_batch_size}"
        )
    return global_batch_size // replicas


def with_shard_policy(dataset, policy="data"):
    """Return `dataset` with its auto-shard policy set on purpose (never left implicit).

    Introduced in lesson L11.

    "data": every worker reads the whole pipeline and keeps 1/num_workers of each batch
            (right for in-memory arrays and for a single machine);
    "file": workers split the input files (right for many TFRecord files);
    "auto": TensorFlow tries "file", then falls back to "data";
    "off":  every worker sees every example (only for deliberately replicated data).
    """
    check_one_of("policy", policy, SHARD_POLICIES)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = {
        "data": tf.data.experimental.AutoShardPolicy.DATA,
        "file": tf.data.experimental.AutoShardPolicy.FILE,
        "auto": tf.data.experimental.AutoShardPolicy.AUTO,
        "off": tf.data.experimental.AutoShardPolicy.OFF,
    }[policy]
    return dataset.with_options(options)
