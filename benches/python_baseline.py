#!/usr/bin/env python3
"""Python baseline for image tagging throughput.

Written the way most users would: Pillow for decoding and resizing, numpy for
normalisation, softmax and top-5, onnxruntime for inference. Same model, same
photos and same thread count as the Rust benchmark (benches/tagging.rs), and,
like it, it works from the files' bytes held in memory (disk I/O excluded).

Measured, each in images per second:
  1. preprocessing alone: bytes -> Pillow decode -> resize -> crop -> normalize
  2. inference alone at batch 1, 4, 8, 16, 32 (preprocessed real photos)
  3. end to end, bytes -> top-5 tags, one image at a time and in batches of 8

Preprocessing matches the weights (models/efficientnet-lite0/model.toml):
convert('RGB'), shorter side to 256 (bilinear), centre 224x224 crop,
x = (pixel - 127) / 128, NCHW float32. Preprocessing runs in the calling
thread, as a plain Python loop would; onnxruntime gets --threads intra-op
threads.

Run it through benches/run-python-baseline.sh, which sets up .venv-bench.
"""

import argparse
import glob
import io
import json
import os
import sys
import time

import numpy as np
import onnxruntime as ort
import PIL
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL_DIR = os.path.join(ROOT, "models", "efficientnet-lite0")
MODEL = os.path.join(MODEL_DIR, "model.onnx")
LABELS = os.path.join(MODEL_DIR, "labels.txt")
REFERENCE = os.path.join(ROOT, "tests", "fixtures", "reference-top5.tsv")
INPUT_NAME = "input"
OUTPUT_NAME = "logits"
EXTENSIONS = (".jpg", ".jpeg", ".png")
SHORTER_SIDE = 256
CROP = 224
INFERENCE_BATCHES = (1, 4, 8, 16, 32)
END_TO_END_BATCHES = (1, 8)
TOP_K = 5


# --------------------------------------------------------------------------
# Photos


def default_photos():
    fixtures = os.path.join(ROOT, "tests", "fixtures", "photos")
    if os.path.isdir(fixtures):
        return [fixtures]
    return [os.path.join(ROOT, "..", "shared", "photos", "*", "*")]


def find_photos(specs):
    """Files named by `specs`: files, directories (searched recursively) or globs."""
    found = []

    def add_dir(directory):
        for dirpath, dirnames, filenames in os.walk(directory):
            dirnames.sort()
            for name in sorted(filenames):
                if name.lower().endswith(EXTENSIONS):
                    found.append(os.path.join(dirpath, name))

    for spec in specs:
        if os.path.isdir(spec):
            add_dir(spec)
        elif os.path.isfile(spec):
            found.append(spec)
        else:
            matches = sorted(glob.glob(spec, recursive=True))
            if not matches:
                sys.exit(f"error: no photos at {spec!r}")
            for match in matches:
                if os.path.isdir(match):
                    add_dir(match)
                elif match.lower().endswith(EXTENSIONS):
                    found.append(match)
    # Keep the order, drop duplicates.
    seen, photos = set(), []
    for path in found:
        key = os.path.realpath(path)
        if key not in seen:
            seen.add(key)
            photos.append(path)
    return photos


# --------------------------------------------------------------------------
# The pipeline, as a user would write it


def preprocess(data):
    """Encoded image bytes -> float32 array [3, 224, 224]."""
    image = Image.open(io.BytesIO(data)).convert("RGB")
    width, height = image.size
    # Shorter side to 256, the longer one rounded to the nearest pixel (half
    # up, the same integer arithmetic as the Rust preprocessing).
    if width <= height:
        size = (SHORTER_SIDE, max(SHORTER_SIDE, (SHORTER_SIDE * height + width // 2) // width))
    else:
        size = (max(SHORTER_SIDE, (SHORTER_SIDE * width + height // 2) // height), SHORTER_SIDE)
    image = image.resize(size, Image.BILINEAR)
    left = (size[0] - CROP) // 2
    top = (size[1] - CROP) // 2
    image = image.crop((left, top, left + CROP, top + CROP))
    x = (np.asarray(image, dtype=np.float32) - 127.0) / 128.0
    return np.ascontiguousarray(x.transpose(2, 0, 1))


def softmax(logits):
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def top_k(probs, labels, k=TOP_K):
    """probs [1000] -> [(label, probability), ...] best first."""
    best = np.argsort(probs)[::-1][:k]
    return [(labels[i], float(probs[i])) for i in best]


def tag_one(session, labels, data):
    """Bytes -> top-5 tags for one image (batch of 1)."""
    x = preprocess(data)[np.newaxis]
    logits = session.run([OUTPUT_NAME], {INPUT_NAME: x})[0]
    return top_k(softmax(logits[0]), labels)


def tag_batch(session, labels, datas):
    """List of bytes -> top-5 tags for each, in one inference call."""
    x = np.stack([preprocess(d) for d in datas])
    probs = softmax(session.run([OUTPUT_NAME], {INPUT_NAME: x})[0])
    return [top_k(p, labels) for p in probs]


def make_session(threads, model=MODEL):
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(model, sess_options=options, providers=["CPUExecutionProvider"])


def ort_alone(model, batch, threads, seconds):
    """ONNX Runtime alone: random input of `batch` rows, nothing else.
    benches/ceiling.sh holds the worker's pace against this."""
    session = make_session(threads, model)
    shape = [batch] + [d if isinstance(d, int) else 1 for d in session.get_inputs()[0].shape[1:]]
    data = np.random.default_rng(7).uniform(-1.0, 1.0, shape).astype(np.float32)
    name = session.get_inputs()[0].name
    rows_per_s = throughput(lambda i: session.run(None, {name: data}), batch, seconds, 3)
    print(json.dumps({"model": model, "batch": batch, "threads": threads,
                      "rows_per_s": round(rows_per_s, 2), "onnxruntime": ort.__version__}))


# --------------------------------------------------------------------------
# Measurement


def throughput(step, images_per_step, seconds, warmup_steps):
    """Images per second of `step()`, run repeatedly for about `seconds`."""
    for i in range(warmup_steps):
        step(i)
    steps = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        step(warmup_steps + steps)
        steps += 1
        now = time.perf_counter()
        if now >= deadline:
            break
    return steps * images_per_step / (now - start)


def batches_of(items, size):
    """Cyclic batches of `size` covering every item at least once."""
    count = max(1, -(-len(items) // size))
    return [[items[(b * size + j) % len(items)] for j in range(size)] for b in range(count)]


def check_reference(session, labels, photos, blobs):
    """Top-1 agreement with tests/fixtures/reference-top5.tsv, when it applies."""
    if not os.path.isfile(REFERENCE):
        return None
    reference = {}
    with open(REFERENCE, encoding="utf-8") as f:
        next(f)
        for line in f:
            fields = line.rstrip("\n").split("\t")
            if len(fields) >= 4 and fields[1] == "1":
                reference[fields[0]] = fields[3]
    agree = total = 0
    mismatches = []
    for path, data in zip(photos, blobs):
        key = "/".join(os.path.normpath(path).split(os.sep)[-2:])
        if key not in reference:
            continue
        total += 1
        label = tag_one(session, labels, data)[0][0]
        if label == reference[key]:
            agree += 1
        else:
            mismatches.append(f"{key}: {label!r} vs reference {reference[key]!r}")
    return (agree, total, mismatches) if total else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--photos",
        nargs="+",
        default=None,
        metavar="DIR_OR_FILES",
        help="directories (recursive), files or globs; default tests/fixtures/photos, "
        "else ../shared/photos/*/*",
    )
    parser.add_argument("--threads", type=int, default=2, help="onnxruntime intra-op threads (default 2)")
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per measurement (default 5)")
    parser.add_argument("--json", action="store_true", help="print the results as one JSON object")
    parser.add_argument(
        "--ort-alone",
        metavar="MODEL.onnx",
        help="only time ONNX Runtime on random input of --batch rows with this model; one JSON line",
    )
    parser.add_argument("--batch", type=int, default=8, help="rows per run with --ort-alone (default 8)")
    args = parser.parse_args()
    if args.threads < 1:
        parser.error("--threads must be at least 1")
    if args.ort_alone:
        ort_alone(args.ort_alone, args.batch, args.threads, args.seconds)
        return

    photos = find_photos(args.photos or default_photos())
    if not photos:
        sys.exit("error: no .jpg/.jpeg/.png photos found")
    # Read once: disk I/O is not part of any measurement.
    blobs = []
    for path in photos:
        with open(path, "rb") as f:
            blobs.append(f.read())
    with open(LABELS, encoding="utf-8") as f:
        labels = [line.rstrip("\n") for line in f]

    session = make_session(args.threads)
    log = (lambda *a: print(*a, file=sys.stderr)) if args.json else print
    log(
        f"{len(photos)} photos, {args.threads} thread(s), {args.seconds:g} s per measurement; "
        f"onnxruntime {ort.__version__}, Pillow {PIL.__version__}, numpy {np.__version__}"
    )

    check = check_reference(session, labels, photos, blobs)
    if check:
        agree, total, mismatches = check
        log(f"top-1 agrees with reference-top5.tsv on {agree}/{total} photos")
        for m in mismatches:
            log(f"  {m}")

    n = len(blobs)
    results = {}
    log(f"  {'measurement':<22}{'images/s':>9}")

    # 1. Preprocessing alone, one photo per step, cycling through all photos.
    results["preprocess"] = throughput(lambda i: preprocess(blobs[i % n]), 1, args.seconds, n)
    log(f"  preprocess           {results['preprocess']:9.1f} images/s")

    # 2. Inference alone, on preprocessed tensors of the real photos.
    tensors = [preprocess(b) for b in blobs]
    results["inference"] = {}
    for size in INFERENCE_BATCHES:
        inputs = [np.stack(batch) for batch in batches_of(tensors, size)]
        ips = throughput(
            lambda i: session.run([OUTPUT_NAME], {INPUT_NAME: inputs[i % len(inputs)]}),
            size,
            args.seconds,
            max(3, len(inputs)),
        )
        results["inference"][str(size)] = ips
        log(f"  inference batch {size:<4} {ips:9.1f} images/s")

    # 3. End to end, bytes -> top-5 tags.
    results["end_to_end"] = {}
    for size in END_TO_END_BATCHES:
        if size == 1:
            step = lambda i: tag_one(session, labels, blobs[i % n])
            warmup = n
        else:
            groups = batches_of(blobs, size)
            step = lambda i, groups=groups: tag_batch(session, labels, groups[i % len(groups)])
            warmup = max(3, len(groups))
        ips = throughput(step, size, args.seconds, warmup)
        results["end_to_end"][str(size)] = ips
        log(f"  end to end batch {size:<3} {ips:9.1f} images/s")

    if args.json:
        print(
            json.dumps(
                {
                    "preprocess": round(results["preprocess"], 2),
                    "inference": {k: round(v, 2) for k, v in results["inference"].items()},
                    "end_to_end": {k: round(v, 2) for k, v in results["end_to_end"].items()},
                    "threads": args.threads,
                    "photos": len(photos),
                    "onnxruntime": ort.__version__,
                    "pillow": PIL.__version__,
                    "numpy": np.__version__,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
