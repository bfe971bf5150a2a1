#!/usr/bin/env python3
"""Render contact details (phone numbers, e-mail addresses, handles, URLs) onto
real photos, for measuring the OCR path (issue 34).

    python3 scripts/make-ocr-fixtures.py            # writes tests/fixtures/ocr/
    python3 scripts/make-ocr-fixtures.py --check    # re-renders to a temp dir, compares

Deterministic: a fixed seed picks base photo, text, font, size, angle,
contrast and position; the same Pillow and the same fonts give the same JPEGs.
Needs Pillow and the Debian font packages fonts-dejavu-core,
fonts-liberation and fonts-freefont-ttf (`apt-get install -y ...`).

Output:
  tests/fixtures/ocr/rendered/NN_<base>.jpg   640 px long side, JPEG quality 85
  tests/fixtures/ocr/MANIFEST.tsv             one row per rendered detail
  tests/fixtures/ocr/LICENSES.tsv             one row per image (inherits the
                                              base photo's licence line)

Every detail uses reserved or fictional numbers and domains (".example",
Ofcom's drama ranges, 555-01xx) except the URL shortener form "bit.ly/..."
that the issue names; nothing here is a real person's contact.
"""
import argparse
import csv
import hashlib
import math
import random
import shutil
import sys
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageStat

ROOT = Path(__file__).resolve().parent.parent
PHOTOS = ROOT / "tests" / "fixtures" / "photos"
OUT = ROOT / "tests" / "fixtures" / "ocr"
SEED = 34
LONG_SIDE = 640
QUALITY = 85

FONTS = {
    "DejaVuSans": "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "DejaVuSans-Bold": "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "DejaVuSerif": "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
    "DejaVuSansMono": "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
    "LiberationSans-Regular": "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "LiberationSans-Bold": "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
    "LiberationSerif-Italic": "/usr/share/fonts/truetype/liberation/LiberationSerif-Italic.ttf",
    "LiberationMono-Regular": "/usr/share/fonts/truetype/liberation/LiberationMono-Regular.ttf",
    "FreeSans": "/usr/share/fonts/truetype/freefont/FreeSans.ttf",
    "FreeSerifBold": "/usr/share/fonts/truetype/freefont/FreeSerifBold.ttf",
}

# (kind, text). A handle is anything that names an account on a messenger or
# social network, WhatsApp numbers included (the issue lists them as handles).
DETAILS = {
    "phone": [
        "+44 20 7946 0958",
        "0176 1234 5678",
        "(555) 010-2368",
        "Tel. +49 30 901820",
        "+1 (202) 555-0143",
        "07700 900123",
        "+33 6 12 34 56 78",
        "Call 555-0199",
        "0151/2345 6789",
        "+39 347 123 4567",
    ],
    "email": [
        "seller.joe@example.com",
        "cars4you@mail.example",
        "info@cheap-cars.example",
        "j.smith+ads@example.org",
        "kontakt@autohaus-mueller.example",
        "deals_2024@example.net",
        "mail: bob@shop.example",
        "anna.k@example.de",
        "sales@quick-sale.example",
    ],
    "handle": [
        "@seller_joe",
        "t.me/xyz_deals",
        "WhatsApp +49 170 1234567",
        "IG: @autohaus.mueller",
        "Snapchat: quick_sale99",
        "Telegram @fastcars",
        "wa.me/4915112345678",
        "@bikes.for.less",
        "DM @cheap_phones_uk",
    ],
    "url": [
        "www.cheap-cars.example",
        "https://bit.ly/x",
        "https://bit.ly/3xYz9Q",
        "shop.example.com/deal",
        "http://best-deals.example/offer",
        "www.bikes-4-less.example",
        "example.org/sale?id=42",
        "WWW.MEGA-DEALS.EXAMPLE",
        "https://tinyurl.example/ab12",
    ],
}

CONTRASTS = [
    "dark_on_light",     # dark text on an opaque light label
    "light_on_dark",     # light text on an opaque dark label
    "semi_transparent",  # text at 55-70 % opacity over a 35 % label
    "plain_outline",     # white or black text with a 1-2 px outline, no label
    "plain",             # text straight on the photo, contrasting colour
    "low_contrast",      # text about 70 grey levels off the local background
]
SIZES = [14, 16, 20, 24, 28, 34, 40]
N_IMAGES = 24


def load_licences():
    rows = {}
    with open(PHOTOS / "LICENSES.tsv", newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            rows[row["filename"]] = row
    return rows


def resize_long(img, long_side):
    w, h = img.size
    s = long_side / max(w, h)
    if s >= 1:
        return img.copy()
    return img.resize((round(w * s), round(h * s)), Image.LANCZOS)


def luminance(rgb):
    r, g, b = rgb[:3]
    return 0.299 * r + 0.587 * g + 0.114 * b


def render_detail(img, text, font_name, size, angle, contrast, rng, taken):
    """Draws one detail onto img (RGB, modified in place); returns its box."""
    font = ImageFont.truetype(FONTS[font_name], size)
    pad = max(3, size // 3)
    l, t, r, b = font.getbbox(text)
    tw, th = r - l, b - t
    layer = Image.new("RGBA", (tw + 2 * pad, th + 2 * pad), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)

    # Place first (the colour depends on the background under the text).
    W, H = img.size
    rot_w = int(abs(layer.size[0] * math.cos(math.radians(angle))) + abs(layer.size[1] * math.sin(math.radians(angle)))) + 2
    rot_h = int(abs(layer.size[0] * math.sin(math.radians(angle))) + abs(layer.size[1] * math.cos(math.radians(angle)))) + 2
    if rot_w >= W - 8 or rot_h >= H - 8:
        raise ValueError(f"{text!r} at {size}px does not fit {W}x{H}")
    for _ in range(200):
        x = rng.randint(4, W - rot_w - 4)
        y = rng.randint(4, H - rot_h - 4)
        box = (x, y, x + rot_w, y + rot_h)
        if all(box[2] < o[0] or box[0] > o[2] or box[3] < o[1] or box[1] > o[3] for o in taken):
            break
    else:
        raise ValueError("no free place")
    bg = ImageStat.Stat(img.crop(box)).mean
    bg_l = luminance(bg)

    origin = (pad - l, pad - t)
    stroke = 0
    stroke_fill = None
    if contrast == "dark_on_light":
        label = (rng.randint(225, 255), rng.randint(225, 255), rng.randint(200, 255), 255)
        fill = (rng.randint(0, 40), rng.randint(0, 40), rng.randint(0, 60), 255)
    elif contrast == "light_on_dark":
        label = (rng.randint(0, 40), rng.randint(0, 40), rng.randint(0, 50), 255)
        fill = rng.choice([(255, 255, 255, 255), (255, 230, 0, 255), (240, 240, 200, 255)])
    elif contrast == "semi_transparent":
        a = rng.randint(140, 180)
        if bg_l > 128:
            label, fill = (255, 255, 255, 90), (0, 0, 0, a)
        else:
            label, fill = (0, 0, 0, 90), (255, 255, 255, a)
    elif contrast == "plain_outline":
        label = None
        if rng.random() < 0.5:
            fill, stroke_fill = (255, 255, 255, 255), (0, 0, 0, 255)
        else:
            fill, stroke_fill = (0, 0, 0, 255), (255, 255, 255, 255)
        stroke = 1 if size < 24 else 2
    elif contrast == "plain":
        label = None
        fill = (250, 250, 250, 255) if bg_l < 128 else (10, 10, 10, 255)
    elif contrast == "low_contrast":
        label = None
        d = 70 if bg_l < 128 else -70
        fill = tuple(int(max(0, min(255, c + d))) for c in bg[:3]) + (255,)
    else:
        raise ValueError(contrast)
    if label is not None:
        draw.rectangle([0, 0, layer.size[0] - 1, layer.size[1] - 1], fill=label)
    draw.text(origin, text, font=font, fill=fill, stroke_width=stroke, stroke_fill=stroke_fill)
    rotated = layer.rotate(angle, resample=Image.BICUBIC, expand=True)
    img.paste(rotated, (x, y), rotated)
    return (x, y, x + rotated.size[0], y + rotated.size[1])


def plan(licences, seed=SEED, n_images=N_IMAGES):
    """The deterministic list of images and the details on each."""
    rng = random.Random(seed)
    bases = sorted(licences)
    # Every base photo once before any twice.
    order = bases[:]
    rng.shuffle(order)
    while len(order) < n_images:
        order += rng.sample(bases, len(bases))
    order = order[:n_images]
    pools = {k: v[:] for k, v in DETAILS.items()}
    for v in pools.values():
        rng.shuffle(v)
    kinds = list(DETAILS)
    fonts = list(FONTS)
    images = []
    k = 0
    for i, base in enumerate(order):
        n = 1 if i % 3 == 0 else 2 if i % 3 == 1 else 1
        if i % 8 == 7:
            n = 3
        details = []
        for _ in range(n):
            kind = kinds[k % len(kinds)]
            k += 1
            text = pools[kind].pop() if pools[kind] else rng.choice(DETAILS[kind])
            angle = 0 if rng.random() < 0.35 else rng.choice([-1, 1]) * rng.randint(3, 15)
            details.append({
                "kind": kind,
                "text": text,
                "font": fonts[(i * 3 + len(details)) % len(fonts)],
                "size": rng.choice(SIZES),
                "angle": angle,
                "contrast": CONTRASTS[(i + len(details) * 2) % len(CONTRASTS)],
            })
        images.append((i, base, details))
    return images, rng


def render_all(out, seed=SEED, n_images=N_IMAGES):
    licences = load_licences()
    images, rng = plan(licences, seed, n_images)
    (out / "rendered").mkdir(parents=True, exist_ok=True)
    manifest = []
    lic_rows = []
    for i, base, details in images:
        src = Image.open(PHOTOS / base).convert("RGB")
        img = resize_long(src, LONG_SIDE)
        taken = []
        for d in details:
            size = d["size"]
            while True:
                try:
                    taken.append(render_detail(img, d["text"], d["font"], size, d["angle"], d["contrast"], rng, taken))
                    break
                except ValueError:
                    size -= 2  # too wide for a small photo: shrink
                    if size < 12:
                        raise
            d["size"] = size
        name = f"rendered/{i:02d}_{Path(base).stem}.jpg"
        img.save(out / name, "JPEG", quality=QUALITY, optimize=True)
        for d in details:
            manifest.append([name, base, d["text"], d["kind"], d["font"], d["size"], d["angle"], d["contrast"]])
        lic = licences[base]
        lic_rows.append([name, base, lic["source_package"], lic["source_version"], lic["path_in_package"],
                         lic["license"], "%dx%d" % img.size,
                         "contact details rendered by scripts/make-ocr-fixtures.py; inherits the base photo's licence"])
    with open(out / "MANIFEST.tsv", "w", newline="") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        w.writerow(["file", "base_photo", "text", "kind", "font", "size_px", "angle_deg", "contrast"])
        w.writerows(manifest)
    write_licences(out, lic_rows)


def write_licences(out, rendered_rows):
    """LICENSES.tsv holds the rendered images' rows and keeps any rows for
    real/ (added by hand, see the README) that are already there."""
    path = out / "LICENSES.tsv"
    keep = []
    if path.exists():
        with open(path, newline="") as f:
            for row in csv.reader(f, delimiter="\t"):
                if row and row[0].startswith("real/"):
                    keep.append(row)
    with open(path, "w", newline="") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        w.writerow(["file", "base_photo", "source_package", "source_version", "path_in_package", "license", "pixels", "notes"])
        w.writerows(rendered_rows)
        w.writerows(keep)


def digest(p):
    return hashlib.sha256(p.read_bytes()).hexdigest()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--check", action="store_true", help="render to a temporary folder and compare with --out")
    ap.add_argument("--seed", type=int, default=SEED, help="another seed gives another set (for larger evaluations)")
    ap.add_argument("--count", type=int, default=N_IMAGES, help="number of images")
    args = ap.parse_args()
    for name, path in FONTS.items():
        if not Path(path).exists():
            sys.exit(f"missing font {name}: {path} (apt-get install fonts-dejavu-core fonts-liberation fonts-freefont-ttf)")
    if not args.check:
        if (args.out / "rendered").exists():
            shutil.rmtree(args.out / "rendered")
        render_all(args.out, args.seed, args.count)
        files = sorted((args.out / "rendered").glob("*.jpg"))
        print(f"{len(files)} images, {sum(f.stat().st_size for f in files)} bytes in {args.out / 'rendered'}")
        return
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        render_all(tmp)
        bad = 0
        for f in sorted((tmp / "rendered").glob("*.jpg")):
            mine = args.out / "rendered" / f.name
            if not mine.exists() or digest(mine) != digest(f):
                print("differs:", f.name)
                bad += 1
        if (tmp / "MANIFEST.tsv").read_bytes() != (args.out / "MANIFEST.tsv").read_bytes():
            print("differs: MANIFEST.tsv")
            bad += 1
        print("ok" if not bad else f"{bad} differ")
        sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
