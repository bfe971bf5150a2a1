#!/usr/bin/python3
"""Give models/efficientnet-lite0/model.onnx its pooled features as a second output.

adpipe's trained heads (`kind = "image_head"`, `adpipe train`) sit on a backbone's
feature vector: EfficientNet-Lite0's global-average-pooled 1280 numbers, the
input of its last layer (the Gemm that makes the 1000 ImageNet logits). The
exported graph already computes that vector (`/Reshape_output_0`); this script
names it as a second graph output, `embedding` ([batch, 1280], float32), through
an Identity node. No weight and no other node changes, so the logits are the
same bits as before (checked below), and the model costs nothing more to run.

Run after scripts/export_efficientnet.py (which writes the logits-only graph):

    python3 -m pip install onnx==1.23.2 onnxruntime==1.31.1
    python3 scripts/add-embedding-output.py models/efficientnet-lite0/model.onnx

It rewrites the file in place, is idempotent (a graph that already has the
output is left as it is), and checks with onnxruntime that the logits of a
random batch are bit-identical to the input graph's and that `embedding`
times the last layer's weights gives them back.
"""

import hashlib
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper

OUTPUT = "embedding"


def pooled_features(graph: onnx.GraphProto) -> tuple[str, onnx.NodeProto]:
    """The tensor the final Gemm reads, and that Gemm."""
    producers = {output: node for node in graph.node for output in node.output}
    logits = graph.output[0].name
    last = producers[logits]
    if last.op_type != "Gemm":
        sys.exit(f"the node that makes {logits!r} is a {last.op_type}, not a Gemm")
    return last.input[0], last


def main(path: str) -> None:
    model = onnx.load(path)
    graph = model.graph
    if any(output.name == OUTPUT for output in graph.output):
        print(f"{path}: already has an {OUTPUT!r} output")
        return
    before = model.SerializeToString()
    features, gemm = pooled_features(graph)
    weights = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    width = weights[gemm.input[1]].shape[1]
    graph.node.append(helper.make_node("Identity", [features], [OUTPUT], name="/embedding"))
    graph.output.append(
        helper.make_tensor_value_info(OUTPUT, onnx.TensorProto.FLOAT, ["batch", width])
    )
    onnx.checker.check_model(model)
    after = model.SerializeToString()

    batch = np.random.default_rng(7).standard_normal((3, 3, 224, 224)).astype(np.float32)
    old = ort.InferenceSession(before, providers=["CPUExecutionProvider"])
    new = ort.InferenceSession(after, providers=["CPUExecutionProvider"])
    (old_logits,) = old.run(None, {"input": batch})
    new_logits, embedding = new.run(None, {"input": batch})
    if not np.array_equal(old_logits, new_logits):
        sys.exit("the logits changed")
    again = embedding @ weights[gemm.input[1]].T + weights[gemm.input[2]]
    if np.abs(again - new_logits).max() > 1e-3:
        sys.exit("embedding x the last layer does not give the logits back")

    with open(path, "wb") as file:
        file.write(after)
    print(f"{path}: output {OUTPUT!r} [batch, {width}] added; sha256 {hashlib.sha256(after).hexdigest()}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
