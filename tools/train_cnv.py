#!/usr/bin/env python3
"""Train the project's small CNV-style binary network on MNIST and export it as QONNX.

From the repository root, in a Python with tools/requirements.txt installed (jax, numpy, onnx;
qonnx only for the final check), after tools/mnist/make_testdata.py:

    python3 tools/train_cnv.py --data testdata/mnist --out testdata/mnist/cnv_1w2a.onnx --seed 1

writes cnv_1w2a.onnx and, beside it, cnv_1w2a.train.txt (the log). 4 to 8 minutes on 2 cores.

Protocol. Only the test half of MNIST (t10k) exists offline. The network trains on its FIRST
8,000 images (indices 0..7999) and is evaluated once, after the last epoch, on the other 2,000
(indices 8000..9999, testdata/mnist/heldout-*.npy). The held-out images play no part in choosing
anything: the epoch count and every hyper-parameter are fixed below (they were chosen on a split
of the training 8,000 alone, --val 1000: train on 7,000, look at the last 1,000). Training
augments each image with a random shift of up to 2 pixels in x and y (zero fill). Every random
choice comes from numpy's default_rng(--seed), so one seed gives one network on one machine.

Network (inference semantics are exactly those of qonnx's execute_onnx on the exported file):
  x = pixel / 255 (float32 [N, 1, 28, 28]); 2x - 1; Quant 8-bit signed narrow, scale 1/127
  conv3x3 1->16, BN, Quant 2-bit unsigned (scale ACT_SCALE)             28 -> 26
  conv3x3 16->16, BN, Quant 2-bit, MaxPool 2x2                          26 -> 24 -> 12
  conv3x3 16->32, BN, Quant 2-bit                                       12 -> 10
  conv3x3 32->32, BN, Quant 2-bit, MaxPool 2x2                          10 -> 8 -> 4
  Flatten (C, H, W order: 512); fc 512->64, BN, Quant 2-bit; fc 64->10
  TensorNorm: y = (x - mean) / sqrt(var + eps) * w + b with scalar mean, var, w, b
Convs have no padding, stride 1 and no bias. Every weight is binary: a latent float clipped to
[-1, 1], binarised by sign (BipolarQuant: +1 where w >= 0, else -1; weight scale 1), with a
straight-through gradient. Activations: round(clamp(x / s, 0, 3)) * s with s = ACT_SCALE = 1.0,
a straight-through gradient inside the clamp range. With s = 1 and +-1 weights every conv after
the first and both fc layers sum small integers, exactly, in float32.

Training: Adam, cosine learning-rate decay, cross-entropy on the TensorNorm output, batch norm
(and the TensorNorm's statistics) in training mode with running averages that are exported.

Export: onnx.helper, opset ("", 13) + ("qonnx.custom_op.general", 1); quantisers as custom
Quant / BipolarQuant nodes; Mul, Sub, Conv, BatchNormalization, MaxPool, Flatten, Gemm (transB=1),
Sub, Div, Mul, Add. The script then re-reads the file, evaluates it with jax (float32, the same
operation order as qonnx's nodes) on the held-out images and, when qonnx is installed, executes it
with qonnx (tools/qonnx_reference.py) and requires the same prediction for every image.
"""

import argparse
import hashlib
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

# Fixed before looking at the held-out images (see the protocol above).
EPOCHS = 30
BATCH = 100
LR = 0.01
SHIFT = 2  # augmentation: shifts of -SHIFT..SHIFT pixels
BN_EPS = 1e-4
BN_MOMENTUM = 0.1  # running = (1 - m) * running + m * batch, as PyTorch
ACT_SCALE = 1.0  # the 2-bit activations are {0, 1, 2, 3} * ACT_SCALE
IN_SCALE = np.float32(1.0 / 127.0)  # 8-bit signed narrow input quantiser: codes -127..127
TRAIN_N = 8000  # t10k[0:8000] trains, t10k[8000:10000] is held out

# (out_channels, in_channels) of the four 3x3 convs; MaxPool 2x2 after the 2nd and 4th.
CONVS = [(16, 1), (16, 16), (32, 16), (32, 32)]
POOL_AFTER = {1, 3}
FCS = [(64, 32 * 4 * 4), (10, 64)]  # (out, in); BN + 2-bit act after all but the last


def init_params(rng):
    """Latent weights (uniform, scaled by fan-in so the first sign flips come early), BN
    gamma = 1 and beta = 0, TensorNorm w = 1 and b = 0; running statistics 0 / 1."""
    params, state = {}, {}
    for i, (co, ci) in enumerate(CONVS):
        bound = min(1.0, 1.0 / np.sqrt(ci * 9))
        params[f"conv{i}"] = rng.uniform(-bound, bound, (co, ci, 3, 3)).astype(np.float32)
        params[f"bn{i}_g"] = np.ones(co, np.float32)
        params[f"bn{i}_b"] = np.zeros(co, np.float32)
        state[f"bn{i}_m"] = np.zeros(co, np.float32)
        state[f"bn{i}_v"] = np.ones(co, np.float32)
    for j, (co, ci) in enumerate(FCS):
        bound = 1.0 / np.sqrt(ci)
        params[f"fc{j}"] = rng.uniform(-bound, bound, (co, ci)).astype(np.float32)
        if j < len(FCS) - 1:
            k = len(CONVS) + j
            params[f"bn{k}_g"] = np.ones(co, np.float32)
            params[f"bn{k}_b"] = np.zeros(co, np.float32)
            state[f"bn{k}_m"] = np.zeros(co, np.float32)
            state[f"bn{k}_v"] = np.ones(co, np.float32)
    params["tn_w"] = np.ones((), np.float32)
    params["tn_b"] = np.zeros((), np.float32)
    state["tn_m"] = np.zeros((), np.float32)
    state["tn_v"] = np.ones((), np.float32)
    return params, state


def build_jax():
    """Everything that needs jax, built once (jax is imported here, after argument parsing)."""
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_platforms", "cpu")

    def conv(x, w):
        return jax.lax.conv_general_dilated(
            x, w, window_strides=(1, 1), padding="VALID", dimension_numbers=("NCHW", "OIHW", "NCHW"),
            precision=jax.lax.Precision.HIGHEST)

    def maxpool(x):
        return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")

    def binarize_ste(w):
        # forward: BipolarQuant (w >= 0 -> +1, else -1); backward: identity (latent w is clipped
        # to [-1, 1] after each update, so no gradient mask is needed)
        b = jnp.where(w >= 0, 1.0, -1.0).astype(w.dtype)
        return w + jax.lax.stop_gradient(b - w)

    def act_ste(x):
        # forward: qonnx Quant(signed=0, narrow=0, bitwidth 2): clamp(x / s, 0, 3), round half to
        # even, times s; backward: identity inside the clamp range, zero outside
        c = jnp.clip(x, 0.0, 3.0 * ACT_SCALE)
        q = jnp.round(c / ACT_SCALE) * ACT_SCALE
        return c + jax.lax.stop_gradient(q - c)

    def preprocess(x):
        # x = pixel / 255 in float32; 2x - 1 (Mul then Sub, as exported); the 8-bit quantiser in
        # qonnx's order: divide by the scale, clamp to [-127, 127], round, times the scale
        t = x * 2.0 - 1.0
        t = jnp.clip(t / IN_SCALE, -127.0, 127.0)
        return jnp.round(t) * IN_SCALE

    def bn_train(x, g, b, axes):
        mean = jnp.mean(x, axis=axes)
        var = jnp.var(x, axis=axes)
        shape = [1] * x.ndim
        shape[1] = -1
        y = (x - mean.reshape(shape)) / jnp.sqrt(var.reshape(shape) + BN_EPS)
        # the running estimate takes the unbiased batch variance, as PyTorch's BatchNorm
        n = int(np.prod([x.shape[a] for a in axes]))
        return y * g.reshape(shape) + b.reshape(shape), mean, var * n / (n - 1)

    def forward_train(params, x):
        """Training-mode forward: batch statistics, returns logits and the batch statistics."""
        stats = {}
        h = preprocess(x)
        for i in range(len(CONVS)):
            h = conv(h, binarize_ste(params[f"conv{i}"]))
            h, stats[f"bn{i}_m"], stats[f"bn{i}_v"] = bn_train(h, params[f"bn{i}_g"], params[f"bn{i}_b"], (0, 2, 3))
            h = act_ste(h)
            if i in POOL_AFTER:
                h = maxpool(h)
        h = h.reshape(h.shape[0], -1)
        for j in range(len(FCS)):
            h = h @ binarize_ste(params[f"fc{j}"]).T
            if j < len(FCS) - 1:
                k = len(CONVS) + j
                h, stats[f"bn{k}_m"], stats[f"bn{k}_v"] = bn_train(h, params[f"bn{k}_g"], params[f"bn{k}_b"], (0,))
                h = act_ste(h)
        stats["tn_m"] = jnp.mean(h)
        var = jnp.var(h)
        stats["tn_v"] = var * h.size / (h.size - 1)
        h = (h - stats["tn_m"]) / jnp.sqrt(var + BN_EPS) * params["tn_w"] + params["tn_b"]
        return h, stats

    def loss_fn(params, x, y):
        logits, stats = forward_train(params, x)
        logp = jax.nn.log_softmax(logits)
        loss = -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))
        return loss, (stats, jnp.sum(jnp.argmax(logits, axis=1) == y))

    @jax.jit
    def train_step(params, state, opt, x, y, lr, t):
        (loss, (stats, correct)), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, x, y)
        # Adam (beta1 0.9, beta2 0.999, eps 1e-8), written out: jax alone, no optimiser library
        new_params, new_opt = {}, {}
        for k, p in params.items():
            m = 0.9 * opt[k][0] + 0.1 * grads[k]
            v = 0.999 * opt[k][1] + 0.001 * grads[k] ** 2
            mhat = m / (1 - 0.9**t)
            vhat = v / (1 - 0.999**t)
            p = p - lr * mhat / (jnp.sqrt(vhat) + 1e-8)
            if k.startswith("conv") or k.startswith("fc"):
                p = jnp.clip(p, -1.0, 1.0)  # latent binary weights live in [-1, 1]
            new_params[k], new_opt[k] = p, (m, v)
        new_state = {k: (1 - BN_MOMENTUM) * s + BN_MOMENTUM * stats[k] for k, s in state.items()}
        return new_params, new_state, new_opt, loss, correct

    def forward_exported(p, x):
        """Inference on the exported parameters (binarised from the latent floats by the same
        rule as BipolarQuant), in the order of the exported nodes."""
        h = x * p["two"] - p["one"]
        h = jnp.round(jnp.clip(h / p["in_scale"] + p["in_zero"], -127.0, 127.0)) - p["in_zero"]
        h = h * p["in_scale"]
        for i in range(len(CONVS)):
            h = conv(h, jnp.where(p[f"conv{i}"] >= 0, 1.0, -1.0) * p[f"conv{i}_s"])
            h = bn_infer(h, p, f"bn{i}")
            h = quant2(h, p, f"act{i}")
            if i in POOL_AFTER:
                h = maxpool(h)
        h = h.reshape(h.shape[0], -1)
        for j in range(len(FCS)):
            h = jnp.matmul(h, (jnp.where(p[f"fc{j}"] >= 0, 1.0, -1.0) * p[f"fc{j}_s"]).T,
                           precision=jax.lax.Precision.HIGHEST)
            if j < len(FCS) - 1:
                h = bn_infer(h, p, f"bn{len(CONVS) + j}")
                h = quant2(h, p, f"act{len(CONVS) + j}")
        return ((h - p["tn_m"]) / p["tn_d"]) * p["tn_w"] + p["tn_b"]

    def bn_infer(h, p, name):
        # ONNX BatchNormalization: (x - mean) / sqrt(var + epsilon) * scale + B
        shape = [1] * h.ndim
        shape[1] = -1
        r = lambda a: a.reshape(shape)
        return (h - r(p[f"{name}_m"])) / jnp.sqrt(r(p[f"{name}_v"]) + p[f"{name}_eps"]) * r(p[f"{name}_g"]) + r(p[f"{name}_b"])

    def quant2(h, p, name):
        # qonnx Quant, 2-bit unsigned, not narrow: x / scale + zeropt, clamp to [0, 3], round, back
        t = h / p[f"{name}_s"] + p[f"{name}_z"]
        t = jnp.round(jnp.clip(t, 0.0, 3.0))
        return (t - p[f"{name}_z"]) * p[f"{name}_s"]

    return jax, train_step, jax.jit(forward_exported)


def shift_batch(rng, imgs):
    """Random shifts of -SHIFT..SHIFT pixels in x and y, zero (background) fill, uint8 [B,1,28,28]."""
    b = imgs.shape[0]
    padded = np.pad(imgs[:, 0], ((0, 0), (SHIFT, SHIFT), (SHIFT, SHIFT)))
    win = np.lib.stride_tricks.sliding_window_view(padded, (28, 28), axis=(1, 2))  # [B, 5, 5, 28, 28]
    oy = rng.integers(0, 2 * SHIFT + 1, b)
    ox = rng.integers(0, 2 * SHIFT + 1, b)
    return win[np.arange(b), oy, ox][:, None]


def to_input(pixels):
    # exactly what tools/qonnx_reference.py feeds: float32 pixels / float32 255
    return pixels.astype(np.float32) / np.float32(255)


# ---------------------------------------------------------------------------------------------
# QONNX export


def export(params, state, path):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    inits, nodes = [], []

    def const(name, value):
        inits.append(numpy_helper.from_array(np.asarray(value, dtype=np.float32), name))
        return name

    # Every node gets its own parameter tensors (none shared), as qonnx's cleanup would make them.
    def quant(inp, out, scale, bits, signed, narrow):
        nodes.append(helper.make_node(
            "Quant", [inp, const(f"{out}_scale", scale), const(f"{out}_zeropt", 0.0),
                      const(f"{out}_bitwidth", float(bits))],
            [out], name=out, domain="qonnx.custom_op.general",
            signed=signed, narrow=narrow, rounding_mode="ROUND"))

    nodes.append(helper.make_node("Mul", ["global_in", const("pre_two", 2.0)], ["pre_mul"], name="pre_mul"))
    nodes.append(helper.make_node("Sub", ["pre_mul", const("pre_one", 1.0)], ["pre_sub"], name="pre_sub"))
    quant("pre_sub", "in_q", IN_SCALE, 8, 1, 1)
    h = "in_q"

    def bn(inp, k):
        out = f"bn{k}"
        names = [const(f"{out}_{s}", v) for s, v in (
            ("scale", params[f"bn{k}_g"]), ("bias", params[f"bn{k}_b"]),
            ("mean", state[f"bn{k}_m"]), ("var", state[f"bn{k}_v"]))]
        nodes.append(helper.make_node("BatchNormalization", [inp] + names, [out], name=out, epsilon=BN_EPS))
        quant(out, f"act{k}", ACT_SCALE, 2, 0, 0)
        return f"act{k}"

    def binary_weight(key):
        const(f"{key}_w", params[key])
        nodes.append(helper.make_node("BipolarQuant", [f"{key}_w", const(f"{key}_wq_scale", 1.0)], [f"{key}_wq"],
                                      name=f"{key}_wq",
                                      domain="qonnx.custom_op.general"))
        return f"{key}_wq"

    for i in range(len(CONVS)):
        w = binary_weight(f"conv{i}")
        nodes.append(helper.make_node("Conv", [h, w], [f"conv{i}"], name=f"conv{i}", kernel_shape=[3, 3],
                                      pads=[0, 0, 0, 0], strides=[1, 1], group=1, dilations=[1, 1]))
        h = bn(f"conv{i}", i)
        if i in POOL_AFTER:
            nodes.append(helper.make_node("MaxPool", [h], [f"pool{i}"], name=f"pool{i}", kernel_shape=[2, 2],
                                          strides=[2, 2]))
            h = f"pool{i}"
    nodes.append(helper.make_node("Flatten", [h], ["flat"], name="flat", axis=1))
    h = "flat"
    for j in range(len(FCS)):
        w = binary_weight(f"fc{j}")
        nodes.append(helper.make_node("Gemm", [h, w], [f"fc{j}"], name=f"fc{j}", transB=1))
        h = f"fc{j}"
        if j < len(FCS) - 1:
            h = bn(h, len(CONVS) + j)
    # TensorNorm with its running statistics; sqrt(var + eps) is stored computed, in float32
    tn_d = np.sqrt(np.float32(state["tn_v"]) + np.float32(BN_EPS)).astype(np.float32)
    for op, arg, val in (("Sub", "tn_mean", state["tn_m"]), ("Div", "tn_std", tn_d),
                         ("Mul", "tn_weight", params["tn_w"]), ("Add", "tn_bias", params["tn_b"])):
        out = "global_out" if op == "Add" else f"tn_{op.lower()}"
        nodes.append(helper.make_node(op, [h, const(arg, val)], [out], name=f"tn_{op.lower()}"))
        h = out

    graph = helper.make_graph(
        nodes, "cnv_1w2a",
        [helper.make_tensor_value_info("global_in", TensorProto.FLOAT, [1, 1, 28, 28])],
        [helper.make_tensor_value_info("global_out", TensorProto.FLOAT, [1, 10])],
        initializer=inits)
    model = helper.make_model(
        graph, producer_name="cbnn tools/train_cnv.py",
        opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("qonnx.custom_op.general", 1)])
    model.ir_version = 8  # readable by older onnx/onnxruntime releases too
    # The checker validates the standard nodes and the graph structure; the custom domain's
    # schemas are unknown to it and are skipped (it only warns for unregistered domains).
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def load_exported(path):
    """Reads the parameters back from the .onnx file, keyed as forward_exported expects."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    t = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    p = {"two": t["pre_two"], "one": t["pre_one"], "in_scale": t["in_q_scale"], "in_zero": t["in_q_zeropt"]}
    for key in [f"conv{i}" for i in range(len(CONVS))] + [f"fc{j}" for j in range(len(FCS))]:
        p[key], p[f"{key}_s"] = t[f"{key}_w"], t[f"{key}_wq_scale"]
    for n in model.graph.node:
        if n.op_type == "BatchNormalization":
            k = n.name
            p[f"{k}_eps"] = np.float32(onnx.helper.get_attribute_value(n.attribute[0]))
            for s, d in (("scale", "g"), ("bias", "b"), ("mean", "m"), ("var", "v")):
                p[f"{k}_{d}"] = t[f"{k}_{s}"]
            a = k.replace("bn", "act")
            p[f"{a}_s"], p[f"{a}_z"] = t[f"{a}_scale"], t[f"{a}_zeropt"]
    p.update(tn_m=t["tn_mean"], tn_d=t["tn_std"], tn_w=t["tn_weight"], tn_b=t["tn_bias"])
    return p


# ---------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=Path("testdata/mnist"), help="folder with t10k-*.npy, heldout-*.npy")
    ap.add_argument("--out", type=Path, default=Path("testdata/mnist/cnv_1w2a.onnx"))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=EPOCHS, help=f"default {EPOCHS} (the protocol's)")
    ap.add_argument("--val", type=int, default=0, metavar="N",
                    help="development only: train on the first 8000 - N, report the last N of the 8000")
    ap.add_argument("--no-qonnx", action="store_true", help="skip the qonnx execution check")
    args = ap.parse_args()
    command = "python3 " + " ".join(sys.argv)
    t_start = time.perf_counter()

    images = np.load(args.data / "t10k-images.npy")
    labels = np.load(args.data / "t10k-labels.npy").astype(np.int32)
    held_x = np.load(args.data / "heldout-images.npy")
    held_y = np.load(args.data / "heldout-labels.npy").astype(np.int32)
    # the held-out files must be exactly t10k[8000:] (the protocol's split)
    assert np.array_equal(held_x, images[TRAIN_N:]) and np.array_equal(held_y, labels[TRAIN_N:])
    n_train = TRAIN_N - args.val
    train_x, train_y = images[:n_train], labels[:n_train]
    val_x, val_y = images[n_train:TRAIN_N], labels[n_train:TRAIN_N]

    jax, train_step, forward_exported = build_jax()
    # a development run (--val) never writes the real output file
    dev_out = Path(tempfile.gettempdir()) / "train_cnv_val.onnx"
    out = dev_out if args.val else args.out

    rng = np.random.default_rng(args.seed)
    params, state = init_params(rng)
    opt = {k: (np.zeros_like(v), np.zeros_like(v)) for k, v in params.items()}
    steps_per_epoch = n_train // BATCH  # the remainder of each shuffle is left out of that epoch
    total = steps_per_epoch * args.epochs
    log = []

    def say(line):
        print(line, flush=True)
        log.append(line)

    say(f"train_cnv: {n_train} training images, {args.epochs} epochs of {steps_per_epoch} steps of {BATCH}, "
        f"seed {args.seed}, jax {jax.__version__}")
    t = 0
    for epoch in range(args.epochs):
        t0 = time.perf_counter()
        order = rng.permutation(n_train)
        loss_sum, correct = 0.0, 0
        for s in range(steps_per_epoch):
            idx = order[s * BATCH : (s + 1) * BATCH]
            x = to_input(shift_batch(rng, train_x[idx]))
            t += 1
            lr = np.float32(LR * 0.5 * (1 + np.cos(np.pi * (t - 1) / total)))  # cosine decay
            params, state, opt, loss, c = train_step(params, state, opt, x, train_y[idx], lr, np.float32(t))
            loss_sum += float(loss)
            correct += int(c)
        line = (f"epoch {epoch + 1:3d}: loss {loss_sum / steps_per_epoch:.4f}, train (augmented, batch "
                f"statistics) {100.0 * correct / (steps_per_epoch * BATCH):.2f}%, {time.perf_counter() - t0:.1f} s")
        if args.val:
            export(jax.device_get(params), jax.device_get(state), dev_out)
            vp = predict(forward_exported, load_exported(dev_out), val_x)
            line += f", dev-val {100.0 * np.mean(vp == val_y):.2f}%"
        say(line)
    train_wall = time.perf_counter() - t_start

    params = {k: np.asarray(v) for k, v in jax.device_get(params).items()}
    state = {k: np.asarray(v) for k, v in jax.device_get(state).items()}
    out.parent.mkdir(parents=True, exist_ok=True)
    export(params, state, out)
    exported = load_exported(out)
    train_pred = predict(forward_exported, exported, train_x)
    say(f"exported {out} ({out.stat().st_size} bytes, md5 {hashlib.md5(out.read_bytes()).hexdigest()})")
    say(f"jax, exported model, inference mode: train (first {n_train}, unaugmented) "
        f"{100.0 * np.mean(train_pred == train_y):.2f}%")
    if args.val:
        # a development run looks at its own validation split only, never at the held-out images
        say(f"jax, dev-val (t10k {n_train}..{TRAIN_N - 1}) {100.0 * np.mean(predict(forward_exported, exported, val_x) == val_y):.2f}%")
        return
    held_pred, held_logits = predict(forward_exported, exported, held_x, logits=True)
    held_correct = int(np.sum(held_pred == held_y))
    say(f"jax, exported model: held-out (t10k 8000..9999) top-1 {held_correct}/2000 = {held_correct / 20:.2f}%")

    if not args.no_qonnx:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import qonnx_reference

        t0 = time.perf_counter()
        q_logits = qonnx_reference.run(str(args.out), held_x, 100)
        q_pred = np.argmax(q_logits, axis=1)
        q_correct = int(np.sum(q_pred == held_y))
        same = int(np.sum(q_pred == held_pred))
        say(f"qonnx execute_onnx (cleanup_model, batch 100): held-out top-1 {q_correct}/2000 = {q_correct / 20:.2f}%; "
            f"predictions identical to jax on {same}/2000 images; max |logit difference| "
            f"{float(np.max(np.abs(q_logits - held_logits))):.3g}; {time.perf_counter() - t0:.1f} s")
        if same != 2000:
            raise SystemExit("train_cnv: error: qonnx and jax predictions differ")

    say(f"wall time: training {train_wall:.0f} s, total {time.perf_counter() - t_start:.0f} s")
    header = [
        f"command: {command}",
        f"seed: {args.seed}; epochs: {args.epochs}; batch {BATCH}; Adam lr {LR} with cosine decay; "
        f"shifts of up to {SHIFT} px; BN eps {BN_EPS}, momentum {BN_MOMENTUM}; activation scale {ACT_SCALE}",
        f"protocol: train on t10k images 0..{n_train - 1}; report top-1 on t10k 8000..9999 "
        "(held out, used for nothing else; the epoch count was fixed in advance)",
        "",
    ]
    args.out.with_suffix(".train.txt").write_text("\n".join(header + log) + "\n")


def predict(forward_exported, p, pixels, logits=False):
    out = []
    for s in range(0, len(pixels), 500):
        out.append(np.asarray(forward_exported(p, to_input(pixels[s : s + 500]))))
    out = np.concatenate(out)
    pred = np.argmax(out, axis=1)  # numpy's argmax: the first maximum wins, as in qonnx_reference
    return (pred, out) if logits else pred


if __name__ == "__main__":
    main()
