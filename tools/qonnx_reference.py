#!/usr/bin/env python3
"""Reference predictions of a QONNX model on MNIST-style images, executed by the `qonnx` package.

From the repository root, in a Python with tools/requirements.txt installed:

    python3 tools/qonnx_reference.py MODEL.onnx --images X.npy --out PRED.npy \
        [--logits LOGITS.npy] [--labels Y.npy] [--batch B]

- MODEL.onnx: a QONNX graph with one float input [1, C, H, W] and one output [1, K] (the legacy
  `onnx.brevitas` domain is accepted: qonnx's cleanup moves it to `qonnx.custom_op.general`);
- X.npy: uint8 images [N, C, H, W] (or [N, H, W] when C = 1), raw pixels;
- PRED.npy: int64 [N], the argmax of each output row (numpy's: the first maximum wins);
- LOGITS.npy: float32 [N, K], the outputs themselves;
- Y.npy: labels [N]; when given, the top-1 accuracy is printed.

What it does: ModelWrapper(MODEL) -> qonnx.util.cleanup.cleanup_model (shape inference, constant
folding with the Quant/BipolarQuant nodes kept; with --batch B > 1 also qonnx's ChangeBatchSize
through its override_inpsize) -> qonnx.core.onnx_exec.execute_onnx on pixel.astype(float32) / 255,
B images per call. The last partial batch is padded with zero images whose outputs are dropped
(inference-mode graphs treat the images of a batch independently).

Why batches: execute_onnx runs every standard node in a fresh onnxruntime session, a fixed cost
of about a millisecond per node and call, so image by image costs ~30 ms per TFC image. The
default --batch 100 gave bit-identical logits to --batch 1 on all the models of testdata/mnist
(checked with --check-batch1 N, which re-runs the first N images one by one and compares).
Every error is one line, `qonnx_reference: error: ...`, exit status 1.
"""

import argparse
import sys
import time

import numpy as np


def load(path, batch):
    # Imported here so that --help works without qonnx installed.
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.util.cleanup import cleanup_model

    model = ModelWrapper(path)
    # cleanup_model applies ChangeBatchSize only when override_inpsize is given; keep the file's
    # own batch (1) untouched otherwise.
    model = cleanup_model(model, override_inpsize=batch if batch != 1 else None)
    if len(model.graph.input) != 1 or len(model.graph.output) != 1:
        raise ValueError(f"{path}: expected one graph input and one output after cleanup")
    return model


def run(path, images, batch):
    """Runs the model on uint8 images [N, ...], returns float32 outputs [N, K]."""
    from qonnx.core.onnx_exec import execute_onnx

    model = load(path, batch)
    iname = model.graph.input[0].name
    oname = model.graph.output[0].name
    ishape = model.get_tensor_shape(iname)
    if ishape[0] != batch:
        raise ValueError(f"{path}: input batch is {ishape[0]} after cleanup, expected {batch}")
    per_image = tuple(ishape[1:])
    if int(np.prod(images.shape[1:])) != int(np.prod(per_image)):
        raise ValueError(f"images are {images.shape[1:]}, the model takes {per_image}")
    n = images.shape[0]
    out = []
    for start in range(0, n, batch):
        chunk = images[start : start + batch]
        real = chunk.shape[0]
        if real < batch:
            pad = np.zeros((batch - real,) + chunk.shape[1:], dtype=chunk.dtype)
            chunk = np.concatenate([chunk, pad])
        # Exactly this input: float32 pixels divided by a float32 255 (the models were trained
        # on pixel / 255 in [0, 1]).
        x = chunk.reshape((batch,) + per_image).astype(np.float32) / np.float32(255)
        y = execute_onnx(model, {iname: x})[oname]
        out.append(np.asarray(y, dtype=np.float32).reshape(batch, -1)[:real])
    return np.concatenate(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model", help="the QONNX .onnx file")
    ap.add_argument("--images", required=True, help="uint8 [N, C, H, W] or [N, H, W] .npy")
    ap.add_argument("--out", required=True, help="where to write the int64 [N] predictions")
    ap.add_argument("--logits", help="where to write the float32 [N, K] outputs")
    ap.add_argument("--labels", help="labels [N] .npy: print the top-1 accuracy")
    ap.add_argument("--batch", type=int, default=100, help="images per execute_onnx call (default 100)")
    ap.add_argument("--check-batch1", type=int, default=0, metavar="N",
                    help="also run the first N images one by one and require identical logits")
    args = ap.parse_args()

    images = np.load(args.images)
    if images.dtype != np.uint8:
        raise ValueError(f"{args.images}: dtype {images.dtype}, expected uint8")
    if images.ndim == 3:
        images = images[:, None]
    if args.batch < 1:
        raise ValueError("--batch must be at least 1")

    t0 = time.perf_counter()
    logits = run(args.model, images, args.batch)
    wall = time.perf_counter() - t0
    # numpy's argmax keeps the first of equal maxima; the importer's comparison relies on that.
    pred = np.argmax(logits, axis=1).astype(np.int64)
    np.save(args.out, pred)
    if args.logits:
        np.save(args.logits, logits)
    msg = f"qonnx_reference: {args.model}: {len(pred)} images, batch {args.batch}, {wall:.1f} s"

    if args.check_batch1:
        k = min(args.check_batch1, len(images))
        one = run(args.model, images[:k], 1)
        if not np.array_equal(one.view(np.uint32), logits[:k].view(np.uint32)):
            diff = np.argwhere(one != logits[:k])
            raise ValueError(f"batch {args.batch} and batch 1 logits differ, first at {diff[0].tolist()}")
        msg += f"; first {k} identical with batch 1"

    if args.labels:
        labels = np.load(args.labels)
        if labels.shape != pred.shape:
            raise ValueError(f"{args.labels}: shape {labels.shape}, predictions {pred.shape}")
        correct = int((pred == labels.astype(np.int64)).sum())
        msg += f"; top-1 {correct}/{len(pred)} = {100.0 * correct / len(pred):.2f}%"
    print(msg)


if __name__ == "__main__":
    try:
        main()
    except (ValueError, OSError) as e:
        print(f"qonnx_reference: error: {e}", file=sys.stderr)
        sys.exit(1)
