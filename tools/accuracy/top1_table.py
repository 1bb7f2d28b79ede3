#!/usr/bin/env python3
"""The top-1 table of docs/ACCURACY.md, from the outputs tools/accuracy/run.sh leaves in out/mnist.

For every model: top-1 accuracy of the qonnx package's reference execution (the committed
testdata/mnist/*.qonnx-pred.npy), of the importer's own float32 execution of the ONNX graph
(report.json of the import), of the golden model's float32 reference (SPEC 9: activations not
requantised; golden's report.json), of the golden model and of `simulate`, and how many images'
classes differ from the qonnx package's. Only numpy; run from the repository's root:

    python3 tools/accuracy/top1_table.py
"""
import json
import sys
from pathlib import Path

import numpy as np

DATA = Path("testdata/mnist")
OUT = Path("out/mnist")
# model, images, labels, what the images are
MODELS = [
    ("TFC_1W1A", "t10k-images.npy", "t10k-labels.npy", "10,000 MNIST test images"),
    ("TFC_1W2A", "t10k-images.npy", "t10k-labels.npy", "10,000 MNIST test images"),
    ("cnv_1w2a", "heldout-images.npy", "heldout-labels.npy", "2,000 held-out images (t10k 8000..9999)"),
]


def pct(correct, n):
    return f"{100.0 * correct / n:.2f}%"


def main():
    rows = []
    for model, _images, labels, what in MODELS:
        y = np.load(DATA / labels).astype(np.int64)
        qonnx = np.load(DATA / f"{model}.qonnx-pred.npy").astype(np.int64)
        golden = np.load(OUT / f"{model}-golden" / "predictions.npy").astype(np.int64)
        simulate = np.load(OUT / f"{model}-simulate" / "predictions.npy").astype(np.int64)
        check = json.loads((OUT / model / "report.json").read_text())["check"]
        reference = json.loads((OUT / f"{model}-golden" / "report.json").read_text())["reference_top1_accuracy"]
        n = len(y)
        for name, p in [("qonnx", qonnx), ("golden", golden), ("simulate", simulate)]:
            if p.shape != (n,):
                sys.exit(f"{model}: {name} predictions have shape {p.shape}, expected ({n},)")
        if check["images"] != n:
            sys.exit(f"{model}: the import was checked on {check['images']} images, expected {n}")
        rows.append(
            f"| {model} | {what} | {pct((qonnx == y).sum(), n)} | {100.0 * check['onnx_top1_accuracy']:.2f}% "
            f"| {100.0 * reference:.2f}% "
            f"| {pct((golden == y).sum(), n)} | {pct((simulate == y).sum(), n)} "
            f"| {(golden != qonnx).sum()} | {(simulate != qonnx).sum()} |"
        )
    print("| model | images | qonnx package | import's float32 executor | float32 reference (SPEC 9) "
          "| golden | simulate | golden classes != qonnx | simulate classes != qonnx |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
