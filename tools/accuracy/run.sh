#!/usr/bin/env bash
# Regenerates every figure of docs/ACCURACY.md, from a clone of the repository (about 40 minutes
# on 2 cores): the imports with their checks, golden and simulate on the MNIST test images, the
# conversions of the trained conv network and the three labelled sweeps. Outputs go to out/,
# the plots docs/ACCURACY.md shows to docs/accuracy/.
# The qonnx package's reference predictions are committed (testdata/mnist/*.qonnx-pred.npy);
# tools/qonnx_reference.py regenerates them (testdata/mnist/README.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release --bins
bin=target/release
M=testdata/mnist

# Top-1 per model: the import's check (the model's float32 execution by the importer beside the
# golden model), golden, and simulate.
for model in TFC_1W1A TFC_1W2A; do
    "$bin"/import "$M/$model.onnx" --out "out/mnist/$model" --input "$M/t10k-images.npy" --labels "$M/t10k-labels.npy"
    "$bin"/golden --network "out/mnist/$model/net.toml" --input "$M/t10k-images.npy" --labels "$M/t10k-labels.npy" --out "out/mnist/$model-golden"
    "$bin"/simulate --network "out/mnist/$model/net.toml" --input "$M/t10k-images.npy" --labels "$M/t10k-labels.npy" --out "out/mnist/$model-simulate"
done
"$bin"/import "$M/cnv_1w2a.onnx" --out out/mnist/cnv_1w2a --input "$M/heldout-images.npy" --labels "$M/heldout-labels.npy"
"$bin"/golden --network out/mnist/cnv_1w2a/net.toml --input "$M/heldout-images.npy" --labels "$M/heldout-labels.npy" --out out/mnist/cnv_1w2a-golden
"$bin"/simulate --network out/mnist/cnv_1w2a/net.toml --input "$M/heldout-images.npy" --labels "$M/heldout-labels.npy" --out out/mnist/cnv_1w2a-simulate

# SLBF and PENNI on conv4 of the trained conv network.
conv=(--network out/mnist/cnv_1w2a/net.toml --input out/mnist/cnv_1w2a/input.npy --layer conv4)
for n in 4 8 16 32 64; do
    "$bin"/convert --to slbf "${conv[@]}" --slice-channels 16 --bank-size "$n" --out "out/mnist/slbf_n$n"
done
for d in 3 5 9; do
    "$bin"/convert --to penni "${conv[@]}" --bases "$d" --out "out/mnist/penni_d$d"
done
for d in 5 9; do
    "$bin"/convert --to penni "${conv[@]}" --bases "$d" --prune std --out "out/mnist/penni_d${d}_std"
done

# The labelled sweeps (results.csv, summary.md and the plots in each directory).
for s in mnist_scale_group mnist_methods mnist_codec; do
    "$bin"/sweep "sweeps/$s.toml" --out "out/sweep/$s"
done

# The plots docs/ACCURACY.md shows.
mkdir -p docs/accuracy
cp out/sweep/mnist_scale_group/accuracy_vs_weight_memory.svg docs/accuracy/scale_group_accuracy_vs_weight_memory.svg
cp out/sweep/mnist_methods/accuracy_vs_weight_memory.svg docs/accuracy/methods_accuracy_vs_weight_memory.svg
cp out/sweep/mnist_codec/accuracy_vs_dram.svg docs/accuracy/codec_accuracy_vs_dram.svg

# The top-1 table of docs/ACCURACY.md (numpy).
python3 tools/accuracy/top1_table.py
