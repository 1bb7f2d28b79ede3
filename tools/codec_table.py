#!/usr/bin/env python3
"""The codec measurements of docs/CODEC.md, on the real EfficientNet-Lite0 activation dumps.

One command, from the repository root:

    python3 tools/codec_table.py

1. (re)makes the 165 dumps with tools/realdata/make_dumps.py --out data/real (seconds once its
   venv exists; the same machine gives the same bytes);
2. builds the `codec` program (cargo, release) and runs it with --json on the whole folder for
   every configuration: sparse; golomb at steps 1, 2, 4, 8; dct and auto at steps 16, 32; each
   lossy mode at every Exp-Golomb order 0..7;
3. prints the tables of docs/CODEC.md (Markdown) and writes them to out/codec_table/tables.md,
   with tensors.csv (a row per tensor: the tables' figures) and sweep.csv (a row per tensor and
   run).

For each (mode, step) the tables use the Exp-Golomb order with the best mean ratio over all
tensors (the sweep table shows them all). The codec runs with the embedded default accelerator
config (codec.block N = 8, records of S = array.cols = 8 channels).

Options: --data DIR (default data/real), --out DIR (default out/codec_table), --no-dumps (measure
the dumps as they are), --codec PATH (a built codec program instead of building one). Needs python3
and cargo; make_dumps.py needs PyPI the first time.
Every error is one line, `codec_table: error: ...`, exit status 1.
"""

import argparse
import concurrent.futures
import csv
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PROG = "codec_table"
ORDERS = range(8)
# (mode, step) of the lossy modes, whose Exp-Golomb order is swept; sparse has none.
LOSSY = [("golomb", 1), ("golomb", 2), ("golomb", 4), ("golomb", 8),
         ("dct", 16), ("dct", 32), ("auto", 16), ("auto", 32)]
KINDS = ["stem", "expand", "dw", "head"]


class Error(Exception):
    pass


def run(cmd, what):
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    if r.returncode != 0:
        last = (r.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise Error(f"{what} failed: {last}")
    return r.stdout


def build_codec():
    """Builds the codec program and returns its path (cargo says where it put it)."""
    out = run(["cargo", "build", "--release", "--bin", "codec", "--message-format=json"], "cargo build")
    for line in out.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg["target"]["name"] == "codec" and msg.get("executable"):
            return msg["executable"]
    raise Error("cargo build did not report the codec executable")


def measure(codec, data, mode, step, eg):
    """{tensor name: tensor report} of one codec run over the folder."""
    out = run([codec, "--input", str(data), "--mode", mode, "--step", str(step), "--eg", str(eg), "--json"],
              f"codec --mode {mode} --step {step} --eg {eg}")
    return {t["name"]: t for t in json.loads(out)["tensors"]}


def kind(layer):
    return next(k for k in KINDS if k in layer)


def layer_of(name):
    return name.split("__", 1)[1]


def network_order(layer):
    """stem, b00_dw, b01_expand, b01_dw, ..., head: the order the network runs them."""
    if layer.startswith("stem"):
        return (-1, 0)
    if layer.startswith("head"):
        return (99, 0)
    return (int(layer[1:3]), 0 if "expand" in layer else 1)


def fmt_db(db):
    return "exact" if db is None else f"{db:.1f}"


def cell(ratio, db=None):
    return f"{ratio:.2f}" if db is None else f"{ratio:.2f} ({db:.1f})"


def mean(xs):
    return statistics.mean(xs) if xs else float("nan")


class Runs:
    """The measurements {(mode, step, eg): {tensor name: report}}. Per (mode, step) the tables use
    the order with the best mean ratio (`best`); `sparse` and `chosen` are the runs they show."""

    def __init__(self, runs):
        self.runs = runs
        self.names = names = sorted(runs[("sparse", 1, 2)])
        self.best = {(m, s): max(ORDERS, key=lambda e: mean([runs[(m, s, e)][n]["ratio"] for n in names]))
                     for m, s in LOSSY}
        self.sparse = runs[("sparse", 1, 2)]
        self.chosen = {(m, s): runs[(m, s, self.best[(m, s)])] for m, s in LOSSY}
        self.layers = sorted({layer_of(n) for n in names}, key=network_order)

    def zvc_ratio(self, n):
        return self.sparse[n]["raw_bytes"] / self.sparse[n]["zvc_bytes"]

    def mean_of(self, res, key, names=None):
        return mean([res[n][key] for n in (names or self.names)])


def per_layer_table(r):
    """One row per layer: ratios (and SQNR) averaged over the images."""
    cols = [("golomb", 1), ("golomb", 2), ("golomb", 4), ("golomb", 8), ("auto", 16), ("auto", 32)]
    head = ["layer", "C", "ZVC", "H0 bound", "sparse"] + [f"{m} {s} (eg {r.best[(m, s)]})" for m, s in cols]
    head.append("dct blocks (auto 32)")
    md = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for l in r.layers:
        ns = [n for n in r.names if layer_of(n) == l]
        row = [f"`{l}`", str(r.sparse[ns[0]]["shape"][0]), f"{mean([r.zvc_ratio(n) for n in ns]):.2f}",
               f"{r.mean_of(r.sparse, 'entropy_bound_ratio', ns):.2f}", f"{r.mean_of(r.sparse, 'ratio', ns):.2f}"]
        for m, s in cols:
            res = r.chosen[(m, s)]
            dbs = [res[n]["sqnr_db"] for n in ns if res[n]["sqnr_db"] is not None]
            row.append(cell(r.mean_of(res, "ratio", ns), mean(dbs) if dbs else None))
        share = mean([r.chosen[("auto", 32)][n]["block_share"]["dct"] for n in ns])
        row.append(f"{100 * share:.0f} %")
        md.append("| " + " | ".join(row) + " |")
    return md


def summary_table(r):
    """One row per mode and step over all tensors."""
    md = ["| mode | step | eg | mean ratio | ratio of totals | mean SQNR dB | min SQNR dB | tensors < 30 dB "
          "| tensors above ZVC |", "|---|---|---|---|---|---|---|---|---|"]
    total_raw = sum(r.sparse[n]["raw_bytes"] for n in r.names)
    total_zvc = sum(r.sparse[n]["zvc_bytes"] for n in r.names)
    md.append(f"| ZVC (baseline) | — | — | {mean([r.zvc_ratio(n) for n in r.names]):.2f} | "
              f"{total_raw / total_zvc:.2f} | exact | exact | — | — |")
    md.append(f"| H0 bound | — | — | {r.mean_of(r.sparse, 'entropy_bound_ratio'):.2f} | — | exact | exact | — | — |")
    for (m, s), res in [(("sparse", 1), r.sparse)] + list(r.chosen.items()):
        dbs = [res[n]["sqnr_db"] for n in r.names if res[n]["sqnr_db"] is not None]
        above = sum(1 for n in r.names if res[n]["coded_bytes"] > res[n]["zvc_bytes"])
        step, eg = ("—", "—") if m == "sparse" else (s, r.best[(m, s)])
        md.append(f"| {m} | {step} | {eg} | {r.mean_of(res, 'ratio'):.2f} | "
                  f"{total_raw / sum(res[n]['coded_bytes'] for n in r.names):.2f} | "
                  f"{fmt_db(mean(dbs) if dbs else None)} | {fmt_db(min(dbs) if dbs else None)} | "
                  f"{sum(1 for d in dbs if d < 30)} | {above} |")
    return md


def lossless_notes(r):
    """Lossless coding against ZVC, tensor by tensor: sparse, golomb step 1, and choices of the two."""
    names, sparse, g1 = r.names, r.sparse, r.chosen[("golomb", 1)]
    size = {n: sparse[n]["coded_bytes"] for n in names}

    def above(coded):
        """Tensors coded to more bytes than ZVC."""
        return sum(1 for n in names if coded(n) > sparse[n]["zvc_bytes"])

    def mean_ratio(coded):
        return mean([sparse[n]["raw_bytes"] / coded(n) for n in names])

    pad = [size[n] - sparse[n]["zvc_bytes"] for n in names]
    g1_any = {n: min(r.runs[("golomb", 1, e)][n]["coded_bytes"] for e in ORDERS) for n in names}
    g1_above = sorted({layer_of(n) for n in names if g1[n]["coded_bytes"] > g1[n]["zvc_bytes"]}, key=network_order)
    # A network file names one mode per layer: golomb where its mean ratio over the images wins.
    golomb_layer = {l: r.mean_of(g1, "ratio", [n for n in names if layer_of(n) == l]) >
                    r.mean_of(sparse, "ratio", [n for n in names if layer_of(n) == l]) for l in r.layers}

    def per_layer(n):
        return (g1 if golomb_layer[layer_of(n)] else sparse)[n]["coded_bytes"]

    def per_tensor(n):
        return min(size[n], g1[n]["coded_bytes"])

    if max(pad) == 0:
        md = [f"- sparse equals ZVC byte for byte on all {len(names)} tensors (every record is a whole number of "
              f"bytes here, so there is no record padding);"]
    else:
        md = [f"- sparse is ZVC plus record padding ({min(pad)} to {max(pad)} bytes per tensor): above ZVC on "
              f"{sum(1 for p in pad if p > 0)} of {len(names)} tensors, equal on the rest;"]
    md.append(f"- golomb step 1 (eg {r.best[('golomb', 1)]}) is above ZVC on {above(lambda n: g1[n]['coded_bytes'])} "
              f"of {len(names)} tensors (with the best order chosen per tensor: {above(lambda n: g1_any[n])}), "
              f"in the layers {', '.join(f'`{l}`' for l in g1_above)};")
    md.append(f"- golomb step 1 where its mean over the images beats sparse ({sum(golomb_layer.values())} of "
              f"{len(r.layers)} layers), sparse elsewhere: above ZVC on {above(per_layer)} tensors, mean ratio "
              f"{mean_ratio(per_layer):.2f}; the better of the two chosen per tensor: above ZVC on "
              f"{above(per_tensor)}, mean ratio {mean_ratio(per_tensor):.2f}.")
    return md


def sweep_table(r):
    """Mean ratio over all tensors for every Exp-Golomb order; the order used in bold."""
    md = ["| mode | step | " + " | ".join(f"eg {e}" for e in ORDERS) + " |", "|---|---|" + "---|" * len(ORDERS)]
    for m, s in LOSSY:
        vals = [r.mean_of(r.runs[(m, s, e)], "ratio") for e in ORDERS]
        md.append(f"| {m} | {s} | " + " | ".join(
            f"**{v:.3f}**" if e == r.best[(m, s)] else f"{v:.3f}" for e, v in zip(ORDERS, vals)) + " |")
    return md


def kinds_table(r):
    """The best golomb order per layer kind, against the order used."""
    md = ["| golomb step | " + " | ".join(f"{k} (best eg: mean ratio)" for k in KINDS) + " |",
          "|---|" + "---|" * len(KINDS)]
    for m, s in LOSSY:
        if m != "golomb":
            continue
        row = []
        for k in KINDS:
            ns = [n for n in r.names if kind(layer_of(n)) == k]
            by_eg = {e: r.mean_of(r.runs[(m, s, e)], "ratio", ns) for e in ORDERS}
            e = max(by_eg, key=by_eg.get)
            row.append(f"{e}: {by_eg[e]:.2f} (eg {r.best[(m, s)]}: {by_eg[r.best[(m, s)]]:.2f})")
        md.append(f"| {s} | " + " | ".join(row) + " |")
    return md


def tables(r):
    """The Markdown of docs/CODEC.md: the tables, separated by blank lines."""
    parts = [per_layer_table(r), summary_table(r), lossless_notes(r), sweep_table(r), kinds_table(r)]
    return "\n\n".join("\n".join(p) for p in parts) + "\n"


def write_csvs(out, r):
    """tensors.csv: per tensor, the figures of the tables; sweep.csv: per tensor and run."""
    with open(out / "tensors.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["tensor", "image", "layer", "C", "H", "W", "raw_bytes", "zvc_bytes", "zvc_ratio", "h0_ratio",
                    "sparse_ratio"] + [f"{m}{s}_eg{r.best[(m, s)]}_{x}" for m, s in LOSSY for x in ("ratio", "sqnr_db")])
        for n in r.names:
            t = r.sparse[n]
            row = [n, n.split("__")[0], layer_of(n), *t["shape"], t["raw_bytes"], t["zvc_bytes"],
                   f"{r.zvc_ratio(n):.4f}", f"{t['entropy_bound_ratio']:.4f}", f"{t['ratio']:.4f}"]
            for res in r.chosen.values():
                row += [f"{res[n]['ratio']:.4f}", "" if res[n]["sqnr_db"] is None else f"{res[n]['sqnr_db']:.3f}"]
            w.writerow(row)
    with open(out / "sweep.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["mode", "step", "eg", "tensor", "coded_bytes", "ratio", "sqnr_db"])
        for (m, s, e), res in sorted(r.runs.items()):
            for n in r.names:
                t = res[n]
                w.writerow([m, s, e, n, t["coded_bytes"], f"{t['ratio']:.4f}",
                            "" if t["sqnr_db"] is None else f"{t['sqnr_db']:.3f}"])


def main(argv=None):
    ap = argparse.ArgumentParser(description="codec measurements of docs/CODEC.md on the real dumps")
    ap.add_argument("--data", type=Path, default=REPO / "data" / "real")
    ap.add_argument("--out", type=Path, default=REPO / "out" / "codec_table")
    ap.add_argument("--no-dumps", action="store_true", help="measure the dumps in --data as they are")
    ap.add_argument("--codec", help="the codec program to run (default: build it with cargo)")
    args = ap.parse_args(argv)
    try:
        if not args.no_dumps:
            run([sys.executable, str(REPO / "tools/realdata/make_dumps.py"), "--out", str(args.data)], "make_dumps.py")
        if not args.data.is_dir():
            raise Error(f"{args.data}: no such folder (run without --no-dumps to make it)")
        codec = args.codec or build_codec()
        configs = [("sparse", 1, 2)] + [(m, s, e) for m, s in LOSSY for e in ORDERS]
        with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 1) as pool:
            results = pool.map(lambda c: measure(codec, args.data, *c), configs)
            runs = dict(zip(configs, results))
        r = Runs(runs)
        md = tables(r)
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "tables.md").write_text(md)
        write_csvs(args.out, r)
    except (Error, OSError, ValueError, KeyError) as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1
    print(md, end="")
    print(f"{PROG}: {len(r.names)} tensors; tables and CSVs in {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
