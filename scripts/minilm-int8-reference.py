#!/usr/bin/env python3
"""Recompute the onnxruntime int8 reference vectors of tests/fixtures/minilm-reference.json
on this machine's kind of CPU, and write them into the fixture.

Not part of the setup. Needs onnxruntime==1.31.1 and numpy (a venv of your own).

Why there are two: onnxruntime's x86 int8 kernels add u8 x s8 products in 16 bits and
saturate on CPUs without VNNI (AVX2 only), and add them exactly with VNNI (AVX-512 VNNI or
AVX-VNNI). The same int8 graph then gives vectors that differ by up to ~0.0012 in cosine,
more than the float summation order between onnxruntime's Python and Rust bindings does
(~0.00001). The parity test (crates/adpipe-tagger/tests/text_model.rs) compares the Rust
embedder with the reference of the kind of CPU it runs on:

  onnxruntime_int8       written by scripts/export-minilm.py on an AVX2 CPU without VNNI
  onnxruntime_int8_vnni  written by this script on a CPU with VNNI

The token ids come from the fixture itself (tokenizer.json, checked by the test), so only
the model runs here: each text alone (batch 1, no padding), as the embedder runs it, with
onnxruntime's default session options, mean pooling over the tokens, L2 normalisation.

    python3 scripts/minilm-int8-reference.py   # with VNNI: writes onnxruntime_int8_vnni
"""

import json
import re
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests/fixtures/minilm-reference.json"
MODEL = ROOT / "models/minilm-l6/model.onnx"


def has_vnni():
    flags = Path("/proc/cpuinfo").read_text()
    return bool(re.search(r"\b(avx512_vnni|avx_vnni)\b", flags))


def embed(session, token_ids):
    ids = np.array([token_ids], dtype=np.int64)
    feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
    if "token_type_ids" in {i.name for i in session.get_inputs()}:
        feeds["token_type_ids"] = np.zeros_like(ids)
    hidden = session.run(None, feeds)[0][0]
    vector = hidden.mean(axis=0)
    return vector / max(np.linalg.norm(vector), 1e-12)


def floats(v):
    return "[" + ",".join(repr(round(float(x), 6)) for x in v) + "]"


def main():
    if ort.__version__ != "1.31.1":
        sys.exit(f"onnxruntime {ort.__version__}: the references are of 1.31.1")
    fixture = json.loads(FIXTURE.read_text(encoding="utf-8"))
    session = ort.InferenceSession(str(MODEL), providers=["CPUExecutionProvider"])
    vectors = [embed(session, s["token_ids"]) for s in fixture["sentences"]]
    worst = min(
        float(np.dot(v, np.array(s["onnxruntime_int8"], dtype=np.float32)))
        for v, s in zip(vectors, fixture["sentences"])
    )
    print(f"{len(vectors)} texts; worst cosine to the AVX2 reference: {worst:.6f}")
    if not has_vnni():
        print("no VNNI here: the AVX2 reference is scripts/export-minilm.py's; nothing written")
        return
    # Add (or replace) the VNNI vectors after each sentence's AVX2 ones, line by line, so
    # the rest of the file stays byte for byte as written.
    out, index = [], -1
    for line in FIXTURE.read_text(encoding="utf-8").split("\n"):
        stripped = line.strip()
        if stripped.startswith('"text": '):
            index += 1
        if stripped.startswith('"onnxruntime_int8_vnni": '):
            continue
        if stripped.startswith('"onnxruntime_int8": '):
            out.append(line.rstrip(",") + ",")
            out.append(f'      "onnxruntime_int8_vnni": {floats(vectors[index])}')
            continue
        out.append(line)
    FIXTURE.write_text("\n".join(out), encoding="utf-8")
    json.loads(FIXTURE.read_text(encoding="utf-8"))  # still well-formed
    print(f"wrote onnxruntime_int8_vnni into {FIXTURE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
