#!/bin/bash
# The GPU rows of README's fast MNIST section, on a host with JAX and Keras but no TensorFlow:
#   KERAS_BACKEND=jax bash benchmarks/fast_mnist_gpu.sh ARRAYS.npz RESULTS_DIR COMMIT
# Within the device's 10 minutes a command: 6 x 45 s + 300 s.
# 1. benchmarks/xla_flags_probe.py times the record under each flag set below (one process each:
#    XLA reads XLA_FLAGS at start); RESULTS_DIR/fast_mnist_xla_flags.json keeps every set's seconds.
# 2. benchmarks/fast_mnist_keras.py runs under the set with the lowest score and records it.
# Every row runs: the BN + shifts row, left out of the 2026-11-27 runs (Keras marks RandomTranslation
# supports_jit=False, so `model.fit` on JAX ran it op by op), is compiled since `fast_mnist_cnn` lifts
# that mark on JAX.
set -u
data=$1 results=$2 commit=$3
mkdir -p "$results"
flag_sets=(
  ""
  "--xla_gpu_enable_triton_gemm=false"
  "--xla_gpu_enable_command_buffer="
  "--xla_gpu_enable_triton_gemm=false --xla_gpu_enable_command_buffer="
  "--xla_gpu_enable_triton_gemm=false --xla_gpu_enable_command_buffer= --xla_llvm_disable_expensive_passes=true"
  "--xla_gpu_enable_triton_gemm=false --xla_gpu_enable_command_buffer= --xla_gpu_force_compilation_parallelism=8"
)
for flags in "${flag_sets[@]}"; do
  echo "=== XLA_FLAGS='$flags'"
  XLA_FLAGS="$flags" timeout 45 python3 benchmarks/xla_flags_probe.py --data "$data" 2>&1 | grep -v "^[WIE][0-9]\{4\} \|absl::"
done | tee "$results/xla_flags_probe.log"
best=$(python3 benchmarks/xla_flags_probe.py --collect "$results/xla_flags_probe.log" --commit "$commit" \
       --out "$results/fast_mnist_xla_flags.json") || exit 1  # no set finished: no choice to report
echo "=== fastest XLA_FLAGS='$best'"
XLA_FLAGS="$best" timeout 300 python3 benchmarks/fast_mnist_keras.py --data "$data" --results-dir "$results" \
  --git-commit "$commit"
