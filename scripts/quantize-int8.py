#!/usr/bin/env python3
"""Static int8 (QDQ) quantization of the default classifier, and its evaluation.

What it does
  quantize (the default): reads models/efficientnet-lite0/model.onnx, runs
    onnxruntime's quant_pre_process (shape inference + ORT basic graph
    optimizations: constant folding of the dynamic "same" padding subgraphs,
    Pad folded into Conv), calibrates on the committed fixture photos
    (tests/fixtures/photos, sorted, each photo as the model's centre crop and
    its mirror image, and the whole-image "stretch" view and its mirror image,
    i.e. 4 samples a photo), preprocessed exactly as model.toml says
    (shorter side to 256, bilinear, centre 224x224, RGB, (pixel - 127) / 128),
    and writes a QDQ model to models/efficientnet-lite0-int8/model.onnx with
    the settings in CHOSEN below (see PROVENANCE.md there for why).
  --evaluate: runs the fp32 and the int8 model (onnxruntime, CPU, 2 intra-op
    threads) on every photo of ../shared/photos (or --photos DIR) and prints,
    per photo, the top-1 label and the `vehicles` policy decision
    (models/policies/vehicles.toml, implemented as in
    crates/adpipe-core/src/policy.rs) of both, then top-1 agreement, top-5
    overlap, max abs probability difference and decision agreement; the fp32
    top-5 is also checked against ../shared/models/efficientnet-lite0/
    reference-top5.tsv (or tests/fixtures/reference-top5.tsv) to prove the
    preprocessing. --bench adds timings (batch 1 and 8, 2 intra-op threads).
  --sweep: quantizes with every setting in SWEEP into a temporary folder and
    prints the same agreement figures (and a short batch-1 timing) for each,
    which is how CHOSEN was picked. Nothing in models/ is written. With
    --half 0|1 it calibrates on every other fixture photo only and also
    reports the evaluation photos left out (a held-out check).

How to run (from the repository root; keep it nice'd on a shared machine):

    python3 -m venv /tmp/venv-quant
    /tmp/venv-quant/bin/pip install onnxruntime==1.31.1 onnx==1.23.2 \
        numpy==2.4.6 pillow==13.0.0
    nice -n 10 /tmp/venv-quant/bin/python scripts/quantize-int8.py
    nice -n 10 /tmp/venv-quant/bin/python scripts/quantize-int8.py --evaluate --bench
    nice -n 10 /tmp/venv-quant/bin/python scripts/quantize-int8.py --sweep

Pinned versions (what the committed int8 model was made with): onnxruntime
1.31.1, onnx 1.23.2, numpy 2.4.6, Pillow 13.0.0, protobuf 7.36.2, CPython
3.11. The output is deterministic: the same versions give the same bytes
(the script prints the sha256; PROVENANCE.md records it).
"""

import argparse
import hashlib
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_static,
)
from onnxruntime.quantization import calibrate as ort_calibrate
from onnxruntime.quantization.shape_inference import quant_pre_process
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
FP32_DIR = ROOT / "models" / "efficientnet-lite0"
FP32 = FP32_DIR / "model.onnx"
INT8_DIR = ROOT / "models" / "efficientnet-lite0-int8"
INT8 = INT8_DIR / "model.onnx"
CALIBRATION_PHOTOS = ROOT / "tests" / "fixtures" / "photos"
POLICY = ROOT / "models" / "policies" / "vehicles.toml"
SHARED = ROOT.parent / "shared"
EVAL_PHOTOS = SHARED / "photos"
REFERENCES = [
    SHARED / "models" / "efficientnet-lite0" / "reference-top5.tsv",
    ROOT / "tests" / "fixtures" / "reference-top5.tsv",
]
PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png"}
THREADS = 2

# The settings of the committed int8 model (see --sweep and PROVENANCE.md).
CHOSEN = "percentile-pc-u8"

# name -> (quantize_static keyword arguments, calibration views)
BASE = dict(
    quant_format=QuantFormat.QDQ,
    activation_type=QuantType.QUInt8,
    weight_type=QuantType.QInt8,
    per_channel=True,
    reduce_range=False,
    calibrate_method=CalibrationMethod.MinMax,
)
AUGMENTED = ("center", "center-mirror", "stretch", "stretch-mirror")
CENTER_ONLY = ("center",)


def setting(views=AUGMENTED, extra=None, **kwargs):
    return ({**BASE, **kwargs}, views, extra or {})


SWEEP = {
    "minmax-pc-u8": setting(),
    "minmax-pt-u8": setting(per_channel=False),
    "minmax-pc-u8-rr": setting(reduce_range=True),
    "minmax-pt-u8-rr": setting(per_channel=False, reduce_range=True),
    "minmax-pc-s8": setting(activation_type=QuantType.QInt8),
    "minmax-pc-u8-centre": setting(views=CENTER_ONLY),
    "percentile-pc-u8": setting(calibrate_method=CalibrationMethod.Percentile),
    "percentile9999-pc-u8": setting(
        calibrate_method=CalibrationMethod.Percentile, extra={"CalibPercentile": 99.99}
    ),
    "entropy-pc-u8": setting(calibrate_method=CalibrationMethod.Entropy),
    "entropy-pt-u8": setting(calibrate_method=CalibrationMethod.Entropy, per_channel=False),
    "percentile-pc-u8-centre": setting(views=CENTER_ONLY, calibrate_method=CalibrationMethod.Percentile),
    "percentile99999-pc-u8": setting(
        calibrate_method=CalibrationMethod.Percentile, extra={"CalibPercentile": 99.9999}
    ),
    "percentile-pc-u8-fp32fc": setting(
        calibrate_method=CalibrationMethod.Percentile, nodes_to_exclude=["/_fc/Gemm"]
    ),
    "percentile-pc-u8-fp32ends": setting(
        calibrate_method=CalibrationMethod.Percentile, nodes_to_exclude=["/_conv_stem/Conv", "/_fc/Gemm"]
    ),
    "entropy-pc-u8-centre": setting(views=CENTER_ONLY, calibrate_method=CalibrationMethod.Entropy),
}


def say(message):
    print(message, file=sys.stderr, flush=True)


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --- preprocessing, read from model.toml -----------------------------------


def model_spec():
    spec = tomllib.loads((FP32_DIR / "model.toml").read_text())
    pre, norm, inp = spec["preprocess"], spec["normalize"], spec["input"]
    assert pre["resize"] == "center_crop" and pre.get("filter", "bilinear") == "bilinear", pre
    assert inp["layout"] == "NCHW" and inp.get("color", "RGB") == "RGB", inp
    return dict(
        input=inp["name"],
        output=spec["output"]["name"],
        width=inp["width"],
        height=inp["height"],
        shorter_side=pre["shorter_side"],
        mean=np.array(norm["mean"], dtype=np.float32),
        std=np.array(norm["std"], dtype=np.float32),
    )


SPEC = model_spec()


def view(image, kind):
    """One model input (3, H, W) float32 of a PIL RGB image.

    "center": shorter side to 256 (bilinear), centre 224x224 -- adpipe's
    default and the only view --evaluate uses. "stretch": the whole image
    squeezed to 224x224 (adpipe's optional second view). "-mirror": the same,
    flipped left-right (calibration only)."""
    width, height = SPEC["width"], SPEC["height"]
    if kind.startswith("center"):
        w, h = image.size
        scale = SPEC["shorter_side"] / min(w, h)
        image = image.resize(
            (max(SPEC["shorter_side"], round(w * scale)), max(SPEC["shorter_side"], round(h * scale))),
            Image.BILINEAR,
        )
        w, h = image.size
        left, top = (w - width) // 2, (h - height) // 2
        image = image.crop((left, top, left + width, top + height))
    elif kind.startswith("stretch"):
        image = image.resize((width, height), Image.BILINEAR)
    else:
        raise ValueError(kind)
    if kind.endswith("-mirror"):
        image = image.transpose(Image.FLIP_LEFT_RIGHT)
    x = (np.asarray(image, dtype=np.float32) - SPEC["mean"]) / SPEC["std"]
    return np.ascontiguousarray(x.transpose(2, 0, 1))


def photos_in(folder):
    return sorted(
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES
    )


def load_rgb(path):
    with Image.open(path) as image:
        return image.convert("RGB")


class PhotoReader(CalibrationDataReader):
    """Feeds the calibration photos one sample at a time, in a fixed order."""

    def __init__(self, folder, views, names=None):
        self.samples = []
        for name in names or photos_in(folder):
            image = load_rgb(folder / name)
            for kind in views:
                self.samples.append(view(image, kind)[None])
        self.rewind()

    def get_next(self):
        if self.index >= len(self.samples):
            return None
        self.index += 1
        return {SPEC["input"]: self.samples[self.index - 1]}

    def rewind(self):
        self.index = 0

    def __len__(self):
        return len(self.samples)

    def set_range(self, start_index, end_index):
        raise NotImplementedError


def calibrator_session(self):
    """Replaces CalibraterBase.create_inference_session: the same session
    (no graph optimization) but with a fixed number of threads, so that
    calibration uses at most THREADS cores whatever the machine."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.intra_op_num_threads = THREADS
    options.inter_op_num_threads = 1
    self.infer_session = ort.InferenceSession(
        self.augmented_model_path, sess_options=options, providers=self.execution_providers
    )


ort_calibrate.CalibraterBase.create_inference_session = calibrator_session


# --- quantization -----------------------------------------------------------


def preprocess_fp32(work):
    """quant_pre_process: symbolic + ONNX shape inference and ORT's basic
    optimizations (the dynamic Pad subgraphs fold to constants, Pad merges
    into Conv), so the quantizer sees 49 Conv, 33 Clip, 9 Add, 1 Gemm."""
    path = Path(work) / "fp32-pre.onnx"
    if not path.exists():
        quant_pre_process(str(FP32), str(path), skip_optimization=False, skip_symbolic_shape=True)
    return path


def quantize(name, output, work, readers, calibration_names=None):
    kwargs, views, extra = SWEEP[name]
    if views not in readers:
        readers[views] = PhotoReader(CALIBRATION_PHOTOS, views, calibration_names)
    reader = readers[views]
    reader.rewind()
    extra = {"CalibMaxIntermediateOutputs": 16, **extra}
    started = time.perf_counter()
    quantize_static(
        str(preprocess_fp32(work)),
        str(output),
        calibration_data_reader=reader,
        extra_options=extra,
        **kwargs,
    )
    # Say in the file itself what it is (deterministic: no dates, no paths).
    model = onnx.load(str(output))
    del model.metadata_props[:]
    for key, value in [
        ("adpipe.source", "models/efficientnet-lite0/model.onnx"),
        ("adpipe.source_sha256", sha256(FP32)),
        ("adpipe.quantized_by", "scripts/quantize-int8.py"),
        ("adpipe.setting", name),
        ("adpipe.settings", describe(name)),
        ("adpipe.onnxruntime", ort.__version__),
    ]:
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(output))
    say(f"{name}: quantized in {time.perf_counter() - started:.0f} s, {len(reader)} calibration samples")


def describe(name):
    kwargs, views, extra = SWEEP[name]
    parts = [
        f"format={kwargs['quant_format'].name}",
        f"calibrate={kwargs['calibrate_method'].name}",
        f"activations={kwargs['activation_type'].name}",
        f"weights={kwargs['weight_type'].name}",
        f"per_channel={kwargs['per_channel']}",
        f"reduce_range={kwargs['reduce_range']}",
        f"calibration_views={'+'.join(views)}",
    ]
    if kwargs.get("nodes_to_exclude"):
        parts.append(f"fp32_nodes={','.join(kwargs['nodes_to_exclude'])}")
    parts += [f"{k}={v}" for k, v in extra.items()]
    return "; ".join(parts)


# --- policy -------------------------------------------------------------------


class VehiclesPolicy:
    """models/policies/vehicles.toml as crates/adpipe-core/src/policy.rs
    applies it: a category's score is the sum of the probabilities of its
    labels (a name may carry several indices), capped at 1; the best category
    wins (ties keep file order); approved from approve_at, in review from
    review_at, rejected below (min_score means both)."""

    def __init__(self, labels):
        policy = tomllib.loads(POLICY.read_text())
        approve_at = policy.get("approve_at", policy.get("min_score"))
        self.approve_at = float(np.float32(approve_at))
        self.review_at = float(np.float32(policy.get("review_at", approve_at)))
        self.categories = []
        for category in policy["category"]:
            indices = sorted({i for label in category["labels"] for i, l in enumerate(labels) if l == label})
            missing = [l for l in category["labels"] if l not in labels]
            assert not missing, f"unknown labels {missing}"
            self.categories.append((category["name"], np.array(indices)))

    def scores(self, probabilities):
        return [
            (name, min(float(probabilities[indices].astype(np.float32).sum(dtype=np.float32)), 1.0))
            for name, indices in self.categories
        ]

    def decide(self, probabilities):
        scores = self.scores(probabilities)
        best, score = max(scores, key=lambda s: s[1])  # first of the best on ties
        if score >= self.approve_at:
            verdict = "approved"
        elif score >= self.review_at:
            verdict = "in_review"
        else:
            verdict = "rejected"
        return verdict, (best if verdict != "rejected" else None), score, best


# --- evaluation ---------------------------------------------------------------


def session(path, threads=THREADS):
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def softmax(logits):
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def probabilities(sess, batch):
    return softmax(sess.run([SPEC["output"]], {SPEC["input"]: batch})[0].astype(np.float32))


def eval_inputs(folder, kind="center"):
    names = photos_in(folder)
    return names, np.stack([view(load_rgb(folder / n), kind) for n in names])


def read_reference():
    for path in REFERENCES:
        if path.exists():
            top5 = {}
            with open(path) as f:
                for line in f:
                    if line.startswith("#") or line.startswith("photo\t"):
                        continue
                    photo, rank, index, label, prob = line.rstrip("\n").split("\t")
                    top5.setdefault(photo, []).append((int(index), float(prob)))
            return path, top5
    return None, {}


def compare(p32, p8, policy, names=None, labels=None, table=False):
    top32, top8 = p32.argmax(1), p8.argmax(1)
    rows, overlap, decisions, max_diff, flips = [], [], 0, 0.0, []
    for i in range(len(p32)):
        t5a = set(np.argsort(-p32[i], kind="stable")[:5])
        t5b = set(np.argsort(-p8[i], kind="stable")[:5])
        overlap.append(len(t5a & t5b))
        d32, d8 = policy.decide(p32[i]), policy.decide(p8[i])
        same = d32[:2] == d8[:2]
        decisions += same
        max_diff = max(max_diff, float(np.abs(p32[i] - p8[i]).max()))
        if not same and names:
            flips.append(names[i])
        if table:
            rows.append((names[i], labels[top32[i]], p32[i, top32[i]], labels[top8[i]], p8[i, top8[i]], d32, d8))
    summary = dict(
        n=len(p32),
        top1=int((top32 == top8).sum()),
        top5_overlap=float(np.mean(overlap)) / 5,
        top5_identical_sets=int(sum(o == 5 for o in overlap)),
        max_abs_prob_diff=max_diff,
        mean_abs_top1_prob_diff=float(np.mean(np.abs(p32.max(1) - p8[np.arange(len(p8)), top32]))),
        decisions=decisions,
        flips=flips,
    )
    return summary, rows


def decision_text(d):
    verdict, category, score, best = d
    return f"{verdict} {category or '-'} ({best} {score:.3f})"


def print_table(rows):
    print("| photo | fp32 top-1 | int8 top-1 | fp32 decision (best category, score) | int8 decision | same |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, l32, q32, l8, q8, d32, d8 in rows:
        same = "yes" if d32[:2] == d8[:2] and l32 == l8 else ("decision yes, top-1 no" if d32[:2] == d8[:2] else "**NO**")
        print(f"| {name} | {l32} {q32:.3f} | {l8} {q8:.3f} | {decision_text(d32)} | {decision_text(d8)} | {same} |")


def print_summary(title, s):
    print(
        f"{title}: top-1 {s['top1']}/{s['n']}, top-5 overlap {s['top5_overlap']:.3f} "
        f"({s['top5_identical_sets']}/{s['n']} identical sets), max |dp| {s['max_abs_prob_diff']:.4f}, "
        f"mean |dp(top-1)| {s['mean_abs_top1_prob_diff']:.4f}, decisions {s['decisions']}/{s['n']}"
        + (f", changed: {', '.join(s['flips'])}" if s["flips"] else "")
    )


def check_reference(names, p32, labels):
    path, reference = read_reference()
    if not reference:
        print("no reference-top5.tsv found; preprocessing not checked")
        return
    top1 = top5 = n = 0
    max_diff = 0.0
    for i, name in enumerate(names):
        if name not in reference:
            continue
        n += 1
        want = reference[name]
        got = list(np.argsort(-p32[i], kind="stable")[:5])
        top1 += got[0] == want[0][0]
        top5 += [g for g in got] == [w[0] for w in want]
        max_diff = max(max_diff, max(abs(float(p32[i, idx]) - p) for idx, p in want))
    print(
        f"fp32 vs {path.relative_to(ROOT.parent) if ROOT.parent in path.parents else path}: "
        f"top-1 {top1}/{n}, identical top-5 order {top5}/{n}, max |p - reference p| {max_diff:.4f} "
        "(reference rounded to 4 decimals)"
    )


def bench(path, batch, iterations, warmup=20):
    sess = session(path)
    x = np.random.default_rng(0).standard_normal((batch, 3, SPEC["height"], SPEC["width"])).astype(np.float32)
    feed = {SPEC["input"]: x}
    for _ in range(warmup):
        sess.run(None, feed)
    times = []
    for _ in range(iterations):
        started = time.perf_counter()
        sess.run(None, feed)
        times.append(time.perf_counter() - started)
    times = np.array(times) * 1000
    return float(np.median(times)), float(np.percentile(times, 90)), batch * 1000 / float(np.median(times))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--evaluate", action="store_true", help="compare fp32 and int8 (no quantization)")
    parser.add_argument("--bench", action="store_true", help="with --evaluate: time fp32 and int8")
    parser.add_argument("--iterations", type=int, default=300, help="timed runs per case (--bench)")
    parser.add_argument("--sweep", action="store_true", help="try every setting in SWEEP (temporary files)")
    parser.add_argument("--only", nargs="*", help="--sweep: only these settings")
    parser.add_argument(
        "--half", type=int, choices=(0, 1),
        help="--sweep: calibrate on every other calibration photo only (0: 1st, 3rd, ...; 1: 2nd, "
        "4th, ...) and also report the evaluation photos left out, to see how the settings "
        "generalise beyond the calibration photos",
    )
    parser.add_argument("--setting", default=CHOSEN, choices=sorted(SWEEP), help="quantize: which setting")
    parser.add_argument("--output", type=Path, default=INT8, help="quantize: output file")
    parser.add_argument("--model", type=Path, default=INT8, help="--evaluate: int8 model")
    parser.add_argument("--photos", type=Path, default=EVAL_PHOTOS, help="evaluation photos")
    args = parser.parse_args()

    labels = (FP32_DIR / "labels.txt").read_text().splitlines()
    labels = [l.strip() for l in labels if l.strip()]
    policy = VehiclesPolicy(labels)
    say(f"onnxruntime {ort.__version__}, onnx {onnx.__version__}, numpy {np.__version__}, Pillow {Image.__version__}")

    if args.sweep:
        names, x = eval_inputs(args.photos)
        _, xs = eval_inputs(args.photos, "stretch")
        fp32 = session(FP32)
        p32, p32s = probabilities(fp32, x), probabilities(fp32, xs)
        t32 = bench(FP32, 1, 100)[0]
        print(f"fp32: batch-1 median {t32:.2f} ms")
        readers = {}
        calibration = photos_in(CALIBRATION_PHOTOS)
        if args.half is not None:
            calibration = calibration[args.half :: 2]
            print(f"calibrating on {len(calibration)} photos: {', '.join(calibration)}")
        held_out = [i for i, n in enumerate(names) if n not in calibration]
        with tempfile.TemporaryDirectory(prefix="adpipe-int8-") as work:
            for name in args.only or SWEEP:
                out = Path(work) / f"{name}.onnx"
                quantize(name, out, work, readers, calibration)
                sess = session(out)
                p8, p8s = probabilities(sess, x), probabilities(sess, xs)
                s, _ = compare(p32, p8, policy, names)
                ss, _ = compare(p32s, p8s, policy, names)
                t8 = bench(out, 1, 100)[0]
                print_summary(f"{name} [centre]", s)
                print_summary(f"{name} [stretch view]", ss)
                if args.half is not None:
                    s, _ = compare(p32[held_out], p8[held_out], policy, [names[i] for i in held_out])
                    print_summary(f"{name} [centre, {len(held_out)} held-out photos]", s)
                print(f"{name}: {out.stat().st_size} bytes, batch-1 median {t8:.2f} ms ({t32 / t8:.2f}x fp32)\n", flush=True)
        return

    if args.evaluate:
        names, x = eval_inputs(args.photos)
        fp32, int8 = session(FP32), session(args.model)
        p32, p8 = probabilities(fp32, x), probabilities(int8, x)
        print(f"photos: {args.photos} ({len(names)}); fp32 {FP32.relative_to(ROOT)}; int8 {args.model}")
        check_reference(names, p32, labels)
        calib = set(photos_in(CALIBRATION_PHOTOS))
        held_out = [n for n in names if n not in calib]
        print(f"photos not in the calibration set: {', '.join(held_out) or 'none'}\n")
        summary, rows = compare(p32, p8, policy, names, labels, table=True)
        print_table(rows)
        print()
        print_summary("int8 vs fp32 (centre crop)", summary)
        idx = [i for i, n in enumerate(names) if n in held_out]
        if idx:
            s, _ = compare(p32[idx], p8[idx], policy, [names[i] for i in idx])
            print_summary("  of which held out", s)
        _, xs = eval_inputs(args.photos, "stretch")
        s, _ = compare(probabilities(fp32, xs), probabilities(int8, xs), policy, names)
        print_summary("int8 vs fp32 (stretch view, extra)", s)
        m32 = np.maximum(p32, probabilities(fp32, xs))
        m8 = np.maximum(p8, probabilities(int8, xs))
        s, _ = compare(m32, m8, policy, names)
        print_summary("int8 vs fp32 (views = centre + stretch, max-merged, extra)", s)
        print(f"\nsizes: fp32 {FP32.stat().st_size} bytes, int8 {args.model.stat().st_size} bytes")
        print(f"sha256: int8 {sha256(args.model)}")
        if args.bench:
            print(f"\ntimings (onnxruntime {ort.__version__}, CPU, {THREADS} intra-op threads, "
                  f"{args.iterations} runs after 20 warm-up, random input):")
            print("| model | batch | median ms | p90 ms | images/s |")
            print("| --- | --- | --- | --- | --- |")
            for batch in (1, 8):
                for label, path in (("fp32", FP32), ("int8", args.model)):
                    med, p90, ips = bench(path, batch, args.iterations)
                    print(f"| {label} | {batch} | {med:.2f} | {p90:.2f} | {ips:.0f} |", flush=True)
        return

    args.output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="adpipe-int8-") as work:
        quantize(args.setting, args.output, work, {})
    print(f"{args.output}: {args.output.stat().st_size} bytes, sha256 {sha256(args.output)}")
    print(f"settings: {args.setting}: {describe(args.setting)}")


if __name__ == "__main__":
    main()
