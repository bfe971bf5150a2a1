#!/usr/bin/env python3
"""Reference OCR pipeline for issue 34: PP-OCR text detection (DB) and
recognition (CTC) through onnxruntime, in plain NumPy.

    python3 scripts/ocr-reference.py IMAGE_OR_DIR... [--out FILE.jsonl]
    python3 scripts/ocr-reference.py tests/fixtures/ocr/rendered --timings t.tsv
    python3 scripts/ocr-reference.py --score tests/fixtures/ocr/MANIFEST.tsv \
        tests/fixtures/ocr/reference.jsonl      # recall of the drawn details

It reads models/ppocr-det/model.toml and models/ppocr-rec/model.toml (and the
recogniser's dictionary) for every parameter, so what it does is what those
files say. One JSON line per image:

    {"file": ..., "text_in_image": [{"text", "box": [[x,y]x4], "confidence"}]}

boxes in the image's own pixels, clockwise from the top-left corner, in
reading order (top to bottom, then left to right on a line).

Two implementations of the geometry, same models and parameters:

* --geometry pure (default): what the Rust side is meant to reproduce, with
  nothing but NumPy: bilinear resizes with OpenCV's INTER_LINEAR pixel
  convention, a 2x2 dilation, 8-connected components, the convex hull and the
  minimum-area rectangle by rotating calipers, the unclip of a rectangle in
  closed form (grown by area * ratio / perimeter on every side, from its
  corners truncated to integers as pyclipper does), the box score as the
  mean probability over the pixels inside the box or within half a pixel of
  its edges (as cv2.fillPoly), and the crop by a perspective warp with
  bicubic sampling.
  (Connected components are labelled with OpenCV here for speed; any
  8-connected labelling gives the same components.)
* --geometry opencv: the post-processing of rapidocr_onnxruntime 1.4.4 as it
  is (cv2.findContours, cv2.minAreaRect, a pyclipper offset, cv2.resize,
  cv2.warpPerspective), for checking the pure geometry against it. Needs
  opencv-python-headless, pyclipper and shapely.

Not done (as rapidocr with use_cls=False): the 180-degree text-line
classifier, so upside-down text comes out as noise. No EXIF orientation is
applied. models/ppocr-det/PROVENANCE.md describes every step in words.

Needs numpy, onnxruntime, Pillow (and OpenCV, see above). It imports neither
rapidocr nor paddle.
"""
import argparse
import json
import math
import sys
import time
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python < 3.11
    import tomli as tomllib

import numpy as np
import onnxruntime as ort
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
IMAGE_EXT = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif"}


# ---------------------------------------------------------------- models ---

def load_toml(model_dir):
    with open(Path(model_dir) / "model.toml", "rb") as f:
        return tomllib.load(f)


def session(path, threads):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def read_dictionary(path):
    """One character per line, UTF-8, LF (a CR before the LF is dropped)."""
    text = Path(path).read_bytes().decode("utf-8")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [ln[:-1] if ln.endswith("\r") else ln for ln in lines]


class Models:
    def __init__(self, det_dir, rec_dir, threads=1):
        self.det_dir, self.rec_dir = Path(det_dir), Path(rec_dir)
        self.det_cfg = load_toml(det_dir)
        self.rec_cfg = load_toml(rec_dir)
        assert self.det_cfg["kind"] == "ocr_detector", self.det_cfg["kind"]
        assert self.rec_cfg["kind"] == "ocr_recognizer", self.rec_cfg["kind"]
        self.infer_ms = {"det": 0.0, "rec": 0.0}
        self.det = session(self.det_dir / self.det_cfg["file"], threads)
        self.rec = session(self.rec_dir / self.rec_cfg["file"], threads)
        out = self.rec_cfg["output"]
        chars = read_dictionary(self.rec_dir / self.rec_cfg["dictionary"])
        # Class 0 is the CTC blank, dictionary line i is class i+1, and the
        # last class (len(dictionary)+1) is a space " " when append_space.
        self.classes = ["<blank>"] + chars + ([" "] if out.get("append_space", True) else [])
        n_out = self.rec.get_outputs()[0].shape[-1]
        if isinstance(n_out, int) and n_out != len(self.classes):
            sys.exit(f"recogniser has {n_out} classes, dictionary gives {len(self.classes)}")


# ------------------------------------------------------------ image I/O ---

def load_bgr(path):
    """8-bit BGR, as rapidocr and PaddleOCR feed the models (OpenCV order)."""
    with Image.open(path) as im:
        rgb = np.asarray(im.convert("RGB"))
    return np.ascontiguousarray(rgb[:, :, ::-1])


def resize_bilinear(img, new_w, new_h):
    """OpenCV INTER_LINEAR: sample at ((x + 0.5) * sx - 0.5), clamped at the
    edges, no antialiasing when shrinking. uint8 in, uint8 out (rounded)."""
    h, w = img.shape[:2]
    if (w, h) == (new_w, new_h):
        return img.copy()
    sx, sy = w / new_w, h / new_h
    fx = (np.arange(new_w) + 0.5) * sx - 0.5
    fy = (np.arange(new_h) + 0.5) * sy - 0.5
    fx = np.clip(fx, 0, None)
    fy = np.clip(fy, 0, None)
    x0 = np.minimum(np.floor(fx).astype(np.int64), w - 1)
    y0 = np.minimum(np.floor(fy).astype(np.int64), h - 1)
    x1 = np.minimum(x0 + 1, w - 1)
    y1 = np.minimum(y0 + 1, h - 1)
    ax = (fx - x0)[None, :, None]
    ay = (fy - y0)[:, None, None]
    f = img.astype(np.float32)
    if f.ndim == 2:
        f = f[:, :, None]
    top = f[y0][:, x0] * (1 - ax) + f[y0][:, x1] * ax
    bot = f[y1][:, x0] * (1 - ax) + f[y1][:, x1] * ax
    out = top * (1 - ay) + bot * ay
    out = np.clip(np.rint(out), 0, 255).astype(np.uint8)
    return out if img.ndim == 3 else out[:, :, 0]


def resize(img, new_w, new_h, geometry):
    if geometry == "opencv":
        import cv2
        return cv2.resize(img, (new_w, new_h))
    return resize_bilinear(img, new_w, new_h)


def normalize_chw(img, mean, std):
    """HWC uint8 -> CHW float32, (pixel - mean) / std per channel."""
    x = img.astype(np.float32)
    x = (x - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return x.transpose(2, 0, 1)


# ------------------------------------------------------------- detection ---

def to_multiple(v, m):
    return int(round(v / m) * m)


def scale_image(img, max_side, min_side, multiple, geometry):
    """rapidocr's global guard: a long side over max_side, or a short side
    under min_side, is scaled to it, both sides to a multiple of 32.
    Returns the image and the factors back to the original pixels."""
    h, w = img.shape[:2]
    rh = rw = 1.0
    if max(h, w) > max_side:
        r = max_side / max(h, w)
        nh, nw = to_multiple(int(h * r), multiple), to_multiple(int(w * r), multiple)
        img = resize(img, nw, nh, geometry)
        rh, rw = h / nh, w / nw
    h2, w2 = img.shape[:2]
    if min(h2, w2) < min_side:
        r = min_side / min(h2, w2)
        nh, nw = to_multiple(int(h2 * r), multiple), to_multiple(int(w2 * r), multiple)
        img = resize(img, nw, nh, geometry)
        rh, rw = h / nh, w / nw
    return img, rh, rw


def det_input_size(h, w, limit_side, limit_type, multiple):
    if limit_type == "min":
        ratio = limit_side / min(h, w) if min(h, w) < limit_side else 1.0
    else:  # "max"
        ratio = limit_side / max(h, w) if max(h, w) > limit_side else 1.0
    nh = to_multiple(int(h * ratio), multiple)
    nw = to_multiple(int(w * ratio), multiple)
    return max(nh, multiple), max(nw, multiple)


def dilate_2x2(mask):
    """cv2.dilate with a 2x2 kernel of ones (anchor at (1,1)):
    out[y,x] = max(in[y-1..y, x-1..x]); the mask grows right and down."""
    out = mask.copy()
    out[:, 1:] |= mask[:, :-1]
    out[1:, :] |= mask[:-1, :]
    out[1:, 1:] |= mask[:-1, :-1]
    return out


def convex_hull(points):
    """Andrew's monotone chain; points (N,2) float; counter-clockwise hull
    without collinear points."""
    pts = sorted(set(map(tuple, points.tolist())))
    if len(pts) <= 2:
        return np.array(pts, dtype=np.float64)

    def cross(o, a, b):
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower, upper = [], []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return np.array(lower[:-1] + upper[:-1], dtype=np.float64)


def min_area_rect(hull):
    """Rotating calipers over the hull's edges: the rectangle of least area
    that holds the hull. Returns (4 corners (4,2), short side)."""
    if len(hull) == 1:
        return np.repeat(hull, 4, axis=0), 0.0
    if len(hull) == 2:
        a, b = hull
        return np.array([a, b, b, a]), 0.0
    best = None
    for i in range(len(hull)):
        e = hull[(i + 1) % len(hull)] - hull[i]
        n = math.hypot(*e)
        if n == 0:
            continue
        u = e / n
        v = np.array([-u[1], u[0]])
        pu, pv = hull @ u, hull @ v
        area = (pu.max() - pu.min()) * (pv.max() - pv.min())
        if best is None or area < best[0]:
            best = (area, u, v, pu.min(), pu.max(), pv.min(), pv.max())
    _, u, v, a0, a1, b0, b1 = best
    corners = np.array([a0 * u + b0 * v, a1 * u + b0 * v, a1 * u + b1 * v, a0 * u + b1 * v])
    return corners, min(a1 - a0, b1 - b0)


def expand_rect(corners, distance):
    """Grow a rectangle by `distance` on every side (the minimum-area
    rectangle of a round-joined polygon offset of a rectangle)."""
    c = corners.mean(axis=0)
    u = corners[1] - corners[0]
    v = corners[3] - corners[0]
    lu, lv = np.linalg.norm(u), np.linalg.norm(v)
    u = u / lu if lu else np.array([1.0, 0.0])
    v = v / lv if lv else np.array([-u[1], u[0]])
    hu, hv = lu / 2 + distance, lv / 2 + distance
    out = np.array([c - hu * u - hv * v, c + hu * u - hv * v, c + hu * u + hv * v, c - hu * u + hv * v])
    return out, 2 * min(hu, hv)


def order_mini_box(pts):
    """rapidocr's get_mini_boxes order: sort by x; of the two left points the
    upper is first, the lower last; of the two right ones the upper second."""
    p = sorted(pts.tolist(), key=lambda q: q[0])
    i1, i4 = (0, 1) if p[1][1] > p[0][1] else (1, 0)
    i2, i3 = (2, 3) if p[3][1] > p[2][1] else (3, 2)
    return np.array([p[i1], p[i2], p[i3], p[i4]], dtype=np.float64)


def inside_quad_mask(quad, w, h):
    """Pixels (x, y) of a w x h grid inside a convex quad or within half a
    pixel of its edges, measured along each edge's minor axis: the pixels
    that cv2.fillPoly sets (its edges are drawn as lines), to 0.3 %."""
    ys, xs = np.mgrid[0:h, 0:w]
    inside_pos = np.ones((h, w), bool)
    inside_neg = np.ones((h, w), bool)
    for i in range(4):
        a, b = quad[i], quad[(i + 1) % 4]
        dx, dy = b[0] - a[0], b[1] - a[1]
        major = max(abs(dx), abs(dy)) or 1.0
        d = (dx * (ys - a[1]) - dy * (xs - a[0])) / major
        inside_pos &= d >= -0.5
        inside_neg &= d <= 0.5
    return inside_pos | inside_neg


def box_score_pure(pred, box):
    h, w = pred.shape
    xmin = int(np.clip(np.floor(box[:, 0].min()), 0, w - 1))
    xmax = int(np.clip(np.ceil(box[:, 0].max()), 0, w - 1))
    ymin = int(np.clip(np.floor(box[:, 1].min()), 0, h - 1))
    ymax = int(np.clip(np.ceil(box[:, 1].max()), 0, h - 1))
    quad = np.trunc(box) - [xmin, ymin]  # as cv2.fillPoly gets int32 points
    mask = inside_quad_mask(quad, xmax - xmin + 1, ymax - ymin + 1)
    if not mask.any():
        return 0.0
    return float(pred[ymin:ymax + 1, xmin:xmax + 1][mask].mean())


def db_boxes_pure(pred, mask, cfg):
    import cv2  # labelling only
    n, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    boxes, scores = [], []
    min_size = cfg["min_size"]
    # One candidate per component, in label order (raster order of each
    # component's first pixel); at most max_candidates.
    ys, xs = np.nonzero(labels)
    lab = labels[ys, xs]
    order = np.argsort(lab, kind="stable")
    ys, xs, lab = ys[order], xs[order], lab[order]
    starts = np.searchsorted(lab, np.arange(1, n + 1))  # label n: none, = len
    for k in range(min(n - 1, cfg["max_candidates"])):
        a, b = starts[k], starts[k + 1]
        if b - a < 3:
            continue
        cy, cx = ys[a:b], xs[a:b]  # raster order within the component
        # Per row the leftmost and rightmost pixel are enough for the hull.
        first = np.flatnonzero(np.r_[True, cy[1:] != cy[:-1]])
        last = np.r_[first[1:] - 1, len(cy) - 1]
        pts = np.concatenate([np.stack([cx[first], cy[first]], 1), np.stack([cx[last], cy[last]], 1)]).astype(np.float64)
        corners, sside = min_area_rect(convex_hull(pts))
        if sside < min_size:
            continue
        box = order_mini_box(corners)
        score = box_score_pure(pred, box)
        if score < cfg["box_thresh"]:
            continue
        lu = np.linalg.norm(corners[1] - corners[0])
        lv = np.linalg.norm(corners[3] - corners[0])
        distance = lu * lv * cfg["unclip_ratio"] / (2 * (lu + lv))
        # rapidocr hands the corners to pyclipper, which truncates them to
        # integers: grow the least rectangle around the truncated corners.
        corners_t, _ = min_area_rect(convex_hull(np.trunc(corners)))
        grown, sside = expand_rect(corners_t, distance)
        if sside < min_size + 2:
            continue
        boxes.append(order_mini_box(grown))
        scores.append(score)
    return boxes, scores


def db_boxes_opencv(pred, mask, cfg):
    """rapidocr_onnxruntime 1.4.4 DBPostProcess.boxes_from_bitmap, verbatim
    in substance."""
    import cv2
    import pyclipper
    from shapely.geometry import Polygon

    def mini_box(contour):
        rect = cv2.minAreaRect(contour)
        return order_mini_box(cv2.boxPoints(rect)), min(rect[1])

    def score_fast(bitmap, _box):
        h, w = bitmap.shape[:2]
        box = _box.copy()
        xmin = np.clip(np.floor(box[:, 0].min()).astype(np.int32), 0, w - 1)
        xmax = np.clip(np.ceil(box[:, 0].max()).astype(np.int32), 0, w - 1)
        ymin = np.clip(np.floor(box[:, 1].min()).astype(np.int32), 0, h - 1)
        ymax = np.clip(np.ceil(box[:, 1].max()).astype(np.int32), 0, h - 1)
        m = np.zeros((ymax - ymin + 1, xmax - xmin + 1), dtype=np.uint8)
        box[:, 0] -= xmin
        box[:, 1] -= ymin
        cv2.fillPoly(m, box.reshape(1, -1, 2).astype(np.int32), 1)
        return cv2.mean(bitmap[ymin:ymax + 1, xmin:xmax + 1], m)[0]

    contours, _ = cv2.findContours((mask * 255).astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    boxes, scores = [], []
    for contour in contours[: cfg["max_candidates"]]:
        points, sside = mini_box(contour)
        if sside < cfg["min_size"]:
            continue
        score = score_fast(pred, points.reshape(-1, 2))
        if cfg["box_thresh"] > score:
            continue
        poly = Polygon(points)
        distance = poly.area * cfg["unclip_ratio"] / poly.length
        off = pyclipper.PyclipperOffset()
        off.AddPath(points, pyclipper.JT_ROUND, pyclipper.ET_CLOSEDPOLYGON)
        expanded = np.array(off.Execute(distance)).reshape((-1, 1, 2))
        box, sside = mini_box(expanded.astype(np.float32))
        if sside < cfg["min_size"] + 2:
            continue
        boxes.append(box)
        scores.append(score)
    return boxes, scores


def order_clockwise(pts):
    xs = pts[np.argsort(pts[:, 0], kind="stable")]
    left, right = xs[:2], xs[2:]
    tl, bl = left[np.argsort(left[:, 1], kind="stable")]
    tr, br = right[np.argsort(right[:, 1], kind="stable")]
    return np.array([tl, tr, br, bl], dtype=np.float32)


def sort_reading_order(boxes):
    """Top to bottom by the first corner; neighbours whose first corners are
    less than 10 px apart vertically are put left to right (rapidocr's
    sorted_boxes, a single insertion pass)."""
    b = sorted(boxes, key=lambda x: (x[0][1], x[0][0]))
    for i in range(len(b) - 1):
        for j in range(i, -1, -1):
            if abs(b[j + 1][0][1] - b[j][0][1]) < 10 and b[j + 1][0][0] < b[j][0][0]:
                b[j], b[j + 1] = b[j + 1], b[j]
            else:
                break
    return b


def detect(models, img, geometry):
    """img: BGR uint8 (after the global scale guard). Returns the boxes in
    img's pixels, in reading order, and the detector's input size."""
    cfg = models.det_cfg
    pre, post = cfg["preprocess"], cfg["postprocess"]
    h, w = img.shape[:2]
    nh, nw = det_input_size(h, w, pre["limit_side"], pre["limit_type"], pre["multiple"])
    x = normalize_chw(resize(img, nw, nh, geometry), cfg["normalize"]["mean"], cfg["normalize"]["std"])
    t = time.perf_counter()
    pred = models.det.run([cfg["output"]["name"]], {cfg["input"]["name"]: x[None]})[0][0, 0]
    models.infer_ms["det"] += (time.perf_counter() - t) * 1e3
    mask = pred > post["thresh"]
    if post.get("dilate", True):
        mask = dilate_2x2(mask)
    fn = db_boxes_opencv if geometry == "opencv" else db_boxes_pure
    boxes, _ = fn(pred, mask, post)
    out = []
    ph, pw = pred.shape
    for box in boxes:
        box = box.copy()
        box[:, 0] = np.clip(np.round(box[:, 0] / pw * w), 0, w)
        box[:, 1] = np.clip(np.round(box[:, 1] / ph * h), 0, h)
        box = order_clockwise(box.astype(np.int32).astype(np.float32))
        box[:, 0] = np.trunc(np.clip(box[:, 0], 0, w - 1))
        box[:, 1] = np.trunc(np.clip(box[:, 1], 0, h - 1))
        if int(np.linalg.norm(box[0] - box[1])) <= 3 or int(np.linalg.norm(box[0] - box[3])) <= 3:
            continue
        out.append(box)
    return sort_reading_order(out), (nw, nh)


# ----------------------------------------------------------- recognition ---

def perspective_matrix(src, dst):
    """The 3x3 matrix mapping the 4 src points onto the 4 dst points."""
    a, b = [], []
    for (x, y), (u, v) in zip(src, dst):
        a.append([x, y, 1, 0, 0, 0, -u * x, -u * y]); b.append(u)
        a.append([0, 0, 0, x, y, 1, -v * x, -v * y]); b.append(v)
    m = np.linalg.solve(np.array(a, np.float64), np.array(b, np.float64))
    return np.append(m, 1.0).reshape(3, 3)


def cubic_weights(t):
    """OpenCV's bicubic kernel (A = -0.75) for the 4 taps at -1, 0, 1, 2."""
    A = -0.75
    w0 = ((A * (t + 1) - 5 * A) * (t + 1) + 8 * A) * (t + 1) - 4 * A
    w1 = ((A + 2) * t - (A + 3)) * t * t + 1
    w2 = ((A + 2) * (1 - t) - (A + 3)) * (1 - t) * (1 - t) + 1
    w3 = 1 - w0 - w1 - w2
    return np.stack([w0, w1, w2, w3], axis=-1)


def warp_perspective_bicubic(img, m, out_w, out_h):
    """dst(x, y) = src(M^-1 (x, y)), bicubic, edges replicated."""
    h, w = img.shape[:2]
    inv = np.linalg.inv(m)
    ys, xs = np.mgrid[0:out_h, 0:out_w].astype(np.float64)
    den = inv[2, 0] * xs + inv[2, 1] * ys + inv[2, 2]
    sx = (inv[0, 0] * xs + inv[0, 1] * ys + inv[0, 2]) / den
    sy = (inv[1, 0] * xs + inv[1, 1] * ys + inv[1, 2]) / den
    x0, y0 = np.floor(sx).astype(np.int64), np.floor(sy).astype(np.int64)
    wx, wy = cubic_weights(sx - x0), cubic_weights(sy - y0)
    f = img.astype(np.float64)
    out = np.zeros((out_h, out_w, img.shape[2]), np.float64)
    for j in range(4):
        yy = np.clip(y0 + j - 1, 0, h - 1)
        for i in range(4):
            xx = np.clip(x0 + i - 1, 0, w - 1)
            out += (wy[..., j] * wx[..., i])[..., None] * f[yy, xx]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def crop_box(img, box, geometry):
    """Cut the quad out straight; a crop at least 1.5 times as tall as wide is
    turned 90 degrees counter-clockwise (vertical text)."""
    cw = int(max(np.linalg.norm(box[0] - box[1]), np.linalg.norm(box[2] - box[3])))
    ch = int(max(np.linalg.norm(box[0] - box[3]), np.linalg.norm(box[1] - box[2])))
    dst = np.array([[0, 0], [cw, 0], [cw, ch], [0, ch]], np.float32)
    if geometry == "opencv":
        import cv2
        m = cv2.getPerspectiveTransform(box.astype(np.float32), dst)
        crop = cv2.warpPerspective(img, m, (cw, ch), borderMode=cv2.BORDER_REPLICATE, flags=cv2.INTER_CUBIC)
    else:
        crop = warp_perspective_bicubic(img, perspective_matrix(box, dst), cw, ch)
    if crop.shape[0] / crop.shape[1] >= 1.5:
        crop = np.rot90(crop)
    return np.ascontiguousarray(crop)


def ctc_greedy(probs, classes):
    """probs (T, C) softmax output. Best class per step; a repeat of the
    previous step's class and the blank (0) are dropped. Confidence: mean of
    the kept steps' probabilities (0 when nothing is kept)."""
    idx = probs.argmax(axis=1)
    p = probs.max(axis=1)
    keep = np.ones(len(idx), bool)
    keep[1:] = idx[1:] != idx[:-1]
    keep &= idx != 0
    text = "".join(classes[i] for i in idx[keep])
    conf = float(p[keep].mean()) if keep.any() else 0.0
    return text, conf


def recognize(models, crops, geometry, batch):
    cfg = models.rec_cfg
    inp, pre = cfg["input"], cfg["preprocess"]
    H, min_w = inp["height"], inp["min_width"]
    mean, std = cfg["normalize"]["mean"], cfg["normalize"]["std"]
    ratios = [c.shape[1] / c.shape[0] for c in crops]
    order = np.argsort(np.array(ratios), kind="stable")
    results = [("", 0.0)] * len(crops)
    for s in range(0, len(crops), batch):
        ids = order[s:s + batch]
        # The batch is as wide as its widest crop at height H, at least min_w.
        max_ratio = max([min_w / H] + [ratios[i] for i in ids])
        W = int(H * max_ratio)
        if pre.get("max_width"):
            W = min(W, pre["max_width"])
        x = np.full((len(ids), 3, H, W), pre.get("pad_value", 0.0), np.float32)
        for k, i in enumerate(ids):
            c = crops[i]
            rw = min(W, int(math.ceil(H * c.shape[1] / c.shape[0])))
            x[k, :, :, :rw] = normalize_chw(resize(c, rw, H, geometry), mean, std)
        t = time.perf_counter()
        probs = models.rec.run([cfg["output"]["name"]], {inp["name"]: x})[0]
        models.infer_ms["rec"] += (time.perf_counter() - t) * 1e3
        for k, i in enumerate(ids):
            results[i] = ctc_greedy(probs[k], models.classes)
    return results


# --------------------------------------------------------------- pipeline ---

def run_image(models, path, geometry="pure", batch=None):
    det_cfg, rec_cfg = models.det_cfg, models.rec_cfg
    g = det_cfg["preprocess"]
    raw = load_bgr(path)
    models.infer_ms = {"det": 0.0, "rec": 0.0}
    t0 = time.perf_counter()
    img, rh, rw = scale_image(raw, g["max_side"], g["min_side"], g["multiple"], geometry)
    # A very flat or very low image gets black bands above and below.
    h, w = img.shape[:2]
    top = 0
    if h <= g["letterbox_min_height"] or w / h > g["letterbox_max_aspect"]:
        new_h = max(int(w / g["letterbox_max_aspect"]), g["letterbox_min_height"]) * 2
        top = int(abs(new_h - h) / 2)
        img = np.pad(img, ((top, top), (0, 0), (0, 0)))
    boxes, det_size = detect(models, img, geometry)
    t1 = time.perf_counter()
    crops = [crop_box(img, b, geometry) for b in boxes]
    rec = recognize(models, crops, geometry, batch or rec_cfg["preprocess"]["batch"]) if crops else []
    t2 = time.perf_counter()
    found = []
    min_conf = rec_cfg["output"]["min_confidence"]
    H, W = raw.shape[:2]
    for box, (text, conf) in zip(boxes, rec):
        if conf < min_conf or not text:
            continue
        b = (box.astype(np.float64) - [0, top]) * [rw, rh]
        b = np.maximum(b, 0)
        b[:, 0] = np.clip(b[:, 0], 0, W)
        b[:, 1] = np.clip(b[:, 1], 0, H)
        found.append({"text": text, "box": [[int(round(x)), int(round(y))] for x, y in b],
                      "confidence": round(conf, 4)})
    timing = {"det_ms": (t1 - t0) * 1e3, "rec_ms": (t2 - t1) * 1e3, "boxes": len(boxes),
              "det_infer_ms": models.infer_ms["det"], "rec_infer_ms": models.infer_ms["rec"],
              "det_w": det_size[0], "det_h": det_size[1]}
    return found, timing


def normalise(text, lenient=False):
    t = "".join(text.lower().split())
    return "".join(c for c in t if c.isalnum()) if lenient else t


def score(manifest, results, out=sys.stdout):
    """Recall of the rendered details: a detail is found when its text,
    normalised (lower case, white space removed; 'lenient': letters and
    digits only), is a substring of the image's found lines, normalised the
    same way and joined in reading order."""
    import csv
    found = {}
    for r in results:
        found[r["file"]] = [x["text"] for x in r["text_in_image"]]
    per = {}
    misses = []
    with open(manifest, newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            key = next((k for k in found if k == row["file"] or k.endswith("/" + row["file"])), None)
            lines = found.get(key, [])
            hit = []
            for lenient in (False, True):
                hay = normalise("".join(lines), lenient)
                hit.append(normalise(row["text"], lenient) in hay)
            k = per.setdefault(row["kind"], [0, 0, 0])
            k[0] += 1
            k[1] += hit[0]
            k[2] += hit[1]
            if not hit[0]:
                misses.append((row["file"], row["text"], row["size_px"], row["angle_deg"], row["contrast"], " | ".join(lines)))
    tot = [sum(v[i] for v in per.values()) for i in range(3)]
    out.write("kind\tdetails\tfound_strict\tfound_lenient\n")
    for kind, (n, a, b) in sorted(per.items()) + [("all", tot)]:
        out.write(f"{kind}\t{n}\t{a} ({a / n:.0%})\t{b} ({b / n:.0%})\n")
    for m in misses:
        out.write("miss\t" + "\t".join(map(str, m)) + "\n")
    return per


def list_images(args):
    for a in args:
        p = Path(a)
        if p.is_dir():
            yield from sorted(q for q in p.rglob("*") if q.suffix.lower() in IMAGE_EXT)
        else:
            yield p


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("images", nargs="+", help="image files or folders (searched recursively)")
    ap.add_argument("--det", default=ROOT / "models" / "ppocr-det", type=Path)
    ap.add_argument("--rec", default=ROOT / "models" / "ppocr-rec", type=Path)
    ap.add_argument("--geometry", choices=["pure", "opencv"], default="pure")
    ap.add_argument("--batch", type=int, default=None, help="recognition batch (default: model.toml)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--relative-to", type=Path, default=None, help="write file names relative to this folder")
    ap.add_argument("--out", type=Path, default=None, help="JSON lines here instead of stdout")
    ap.add_argument("--timings", type=Path, default=None, help="TSV of det/rec milliseconds per image")
    ap.add_argument("--score", type=Path, default=None, metavar="MANIFEST",
                    help="instead of running: read the JSON lines files given as IMAGES and print the recall "
                         "of the details in MANIFEST (tests/fixtures/ocr/MANIFEST.tsv)")
    args = ap.parse_args()
    if args.score:
        results = [json.loads(line) for p in args.images for line in open(p)]
        score(args.score, results)
        return

    models = Models(args.det, args.rec, args.threads)
    out = open(args.out, "w") if args.out else sys.stdout
    tim = open(args.timings, "w") if args.timings else None
    if tim:
        tim.write("file\tdet_input\tboxes\tdet_onnx_ms\trec_onnx_ms\tdet_total_ms\trec_total_ms\n")
    for path in list_images(args.images):
        found, t = run_image(models, path, args.geometry, args.batch)
        name = str(path.resolve().relative_to(args.relative_to.resolve())) if args.relative_to else str(path)
        out.write(json.dumps({"file": name, "text_in_image": found}, ensure_ascii=False) + "\n")
        out.flush()
        if tim:
            tim.write(f"{name}\t{t['det_w']}x{t['det_h']}\t{t['boxes']}\t{t['det_infer_ms']:.1f}\t"
                      f"{t['rec_infer_ms']:.1f}\t{t['det_ms']:.1f}\t{t['rec_ms']:.1f}\n")
    if args.out:
        out.close()
    if tim:
        tim.close()


if __name__ == "__main__":
    main()
