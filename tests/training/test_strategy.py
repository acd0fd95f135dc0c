"""Strategy choice by name, TF_CONFIG detection, batch splitting, shard policy (lesson L11)."""

import json

import pytest
import tensorflow as tf

from tfcourse.training import (
    cluster_size,
    get_strategy,
    is_chief,
    is_multi_worker,
    per_replica_batch_size,
    resolve_strategy_name,
    with_shard_policy,
)

CLUSTER = {"cluster": {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}, "task": {"type": "worker", "index": 0}}


def test_auto_resolution_rules():
    assert resolve_strategy_name("auto", tf_config="", num_gpus=0) == "default"
    assert resolve_strategy_name("auto", tf_config="", num_gpus=1) == "one_device"
    assert resolve_strategy_name("auto", tf_config="", num_gpus=4) == "mirrored"
    assert resolve_strategy_name("auto", tf_config=json.dumps(CLUSTER), num_gpus=4) == "multi_worker"
    assert resolve_strategy_name("auto", tf_config=CLUSTER, num_gpus=0) == "multi_worker"
    single = {"cluster": {"worker": ["127.0.0.1:1"]}, "task": {"type": "worker", "index": 0}}
    assert resolve_strategy_name("auto", tf_config=single, num_gpus=0) == "default"
    assert resolve_strategy_name("mirrored", tf_config=CLUSTER) == "mirrored"


def test_cluster_size_reads_environment(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert cluster_size() == 0
    monkeypatch.setenv("TF_CONFIG", json.dumps(CLUSTER))
    assert cluster_size() == 2
    monkeypatch.setenv("TF_CONFIG", "{not json")
    with pytest.raises(ValueError, match="`TF_CONFIG` must be JSON"):
        cluster_size()


def test_get_strategy_by_name(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    gpus = len(tf.config.list_logical_devices("GPU"))  # the same test on a CPU-only or a GPU host
    if gpus == 0:
        assert get_strategy("auto") is tf.distribute.get_strategy()  # the default strategy
    elif gpus == 1:
        assert isinstance(get_strategy("auto"), tf.distribute.OneDeviceStrategy)
    else:
        assert get_strategy("auto").num_replicas_in_sync == gpus
    assert isinstance(get_strategy("one_device"), tf.distribute.OneDeviceStrategy)
    mirrored = get_strategy("mirrored", devices=["/cpu:0", "/cpu:1"])
    assert isinstance(mirrored, tf.distribute.MirroredStrategy)
    assert mirrored.num_replicas_in_sync == 2
    assert get_strategy(mirrored) is mirrored
    assert not is_multi_worker(mirrored) and is_chief(mirrored)


def test_bad_names_raise():
    with pytest.raises(ValueError, match="`strategy` must be one of 'auto', 'default'.*Received: strategy='tpu'"):
        get_strategy("tpu")
    with pytest.raises(ValueError, match="`devices` must name exactly one device"):
        get_strategy("one_device", devices=["/cpu:0", "/cpu:1"])


def test_per_replica_batch(two_cpu_strategy):
    assert per_replica_batch_size(64, two_cpu_strategy) == 32
    with pytest.raises(ValueError, match="`global_batch_size` must be a multiple of the number of replicas"):
        per_replica_batch_size(33, two_cpu_strategy)


def test_shard_policy_is_set_on_purpose():
    ds = tf.data.Dataset.range(4)
    policy = with_shard_policy(ds, "data").options().experimental_distribute.auto_shard_policy
    assert policy == tf.data.experimental.AutoShardPolicy.DATA
    policy = with_shard_policy(ds, "off").options().experimental_distribute.auto_shard_policy
    assert policy == tf.data.experimental.AutoShardPolicy.OFF
    with pytest.raises(ValueError, match="`policy` must be one of"):
        with_shard_policy(ds, "rows")
