"""all-MiniLM-L6-v2 written as an ONNX graph, straight from its safetensors (no torch).

The model is BERT (6 layers, 12 heads, d=384) followed by sentence-transformers' pooling:

    x_0  = LayerNorm(E_word[ids] + E_pos[0..T-1] + E_type[type_ids])            (B, T, 384)
    per layer:
      a   = softmax(Q K^T / sqrt(32) + mask) V        per head, Q = x Wq^T + bq   (B, 12, T, 32)
      x   = LayerNorm(x + a Wo^T + bo)
      x   = LayerNorm(x + gelu(x Wi^T + bi) Wo2^T + bo2)
    e    = sum_t mask_t x_t / sum_t mask_t  ->  e / |e|                           (B, 384)

which is what ``SentenceTransformer.encode(..., normalize_embeddings=True)`` computes; a test
proves the two agree to 1e-5. Building the graph takes about a second and needs only ``numpy``,
``onnx`` and ``safetensors``; ONNX Runtime then fuses attention, GELU and LayerNorm itself.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

HIDDEN, HEADS, LAYERS, EPS = 384, 12, 6, 1e-12


def build_minilm_graph(weights_path: Path):
    """An ``onnx.ModelProto``: (input_ids, attention_mask, token_type_ids) -> embedding (B, 384)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    from safetensors.numpy import load_file

    w = load_file(str(weights_path))
    nodes, inits = [], []
    counter = [0]

    def const(name: str, array: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def op(kind: str, inputs: list[str], **attrs) -> str:
        counter[0] += 1
        out = f"{kind.lower()}_{counter[0]}"
        nodes.append(helper.make_node(kind, inputs, [out], **attrs))
        return out

    def linear(x: str, prefix: str) -> str:  # x W^T + b, W stored (out, in) like torch
        wt = const(prefix + ".weight_t", w[prefix + ".weight"].T.copy())
        return op("Add", [op("MatMul", [x, wt]), const(prefix + ".bias", w[prefix + ".bias"])])

    def layer_norm(x: str, prefix: str) -> str:
        return op(
            "LayerNormalization",
            [x, const(prefix + ".weight", w[prefix + ".weight"]), const(prefix + ".bias", w[prefix + ".bias"])],
            axis=-1,
            epsilon=EPS,
        )

    # embeddings
    seq_len = op("Gather", [op("Shape", ["input_ids"]), const("one_i", np.array(1, np.int64))], axis=0)
    positions = op("Range", [const("zero_i", np.array(0, np.int64)), seq_len, "one_i"])  # (T,)
    x = op(
        "Add",
        [
            op("Gather", [const("word", w["embeddings.word_embeddings.weight"]), "input_ids"]),
            op("Gather", [const("pos", w["embeddings.position_embeddings.weight"]), positions]),
        ],
    )
    x = op("Add", [x, op("Gather", [const("type", w["embeddings.token_type_embeddings.weight"]), "token_type_ids"])])
    x = layer_norm(x, "embeddings.LayerNorm")  # (B, T, 384)

    # additive attention mask: 0 where a token is real, a very negative number on padding
    maskf = op("Cast", ["attention_mask"], to=TensorProto.FLOAT)  # (B, T)
    bias = op(
        "Mul",
        [
            op("Sub", [const("one_f", np.array(1.0, np.float32)), maskf]),
            const("neg", np.array(np.finfo(np.float32).min, np.float32)),
        ],
    )
    bias = op("Unsqueeze", [bias, const("axes_12", np.array([1, 2], np.int64))])  # (B, 1, 1, T)

    split_heads = const("split_heads", np.array([0, 0, HEADS, HIDDEN // HEADS], np.int64))
    merge_heads = const("merge_heads", np.array([0, 0, HIDDEN], np.int64))
    scale = const("scale", np.array(1.0 / np.sqrt(HIDDEN // HEADS), np.float32))
    sqrt_half = const("sqrt_half", np.array(1.0 / np.sqrt(2.0), np.float32))
    half = const("half", np.array(0.5, np.float32))

    for i in range(LAYERS):
        p = f"encoder.layer.{i}."
        q = op("Transpose", [op("Reshape", [linear(x, p + "attention.self.query"), split_heads])], perm=[0, 2, 1, 3])
        k = op("Transpose", [op("Reshape", [linear(x, p + "attention.self.key"), split_heads])], perm=[0, 2, 3, 1])
        v = op("Transpose", [op("Reshape", [linear(x, p + "attention.self.value"), split_heads])], perm=[0, 2, 1, 3])
        scores = op("Add", [op("Mul", [op("MatMul", [q, k]), scale]), bias])  # (B, 12, T, T)
        ctx = op("MatMul", [op("Softmax", [scores], axis=-1), v])  # (B, 12, T, 32)
        ctx = op("Reshape", [op("Transpose", [ctx], perm=[0, 2, 1, 3]), merge_heads])  # (B, T, 384)
        x = layer_norm(op("Add", [x, linear(ctx, p + "attention.output.dense")]), p + "attention.output.LayerNorm")
        h = linear(x, p + "intermediate.dense")  # (B, T, 1536)
        h = op("Mul", [op("Mul", [h, half]), op("Add", [op("Erf", [op("Mul", [h, sqrt_half])]), "one_f"])])  # gelu
        x = layer_norm(op("Add", [x, linear(h, p + "output.dense")]), p + "output.LayerNorm")

    # mean pooling over real tokens, then L2 normalisation
    m = op("Unsqueeze", [maskf, const("axis_2", np.array([2], np.int64))])  # (B, T, 1)
    summed = op("ReduceSum", [op("Mul", [x, m]), "one_i_1d"], keepdims=0)
    inits.append(numpy_helper.from_array(np.array([1], np.int64), "one_i_1d"))
    count = op("Max", [op("ReduceSum", [m, "one_i_1d"], keepdims=0), const("tiny", np.array(1e-9, np.float32))])
    pooled = op("Div", [summed, count])  # (B, 384)
    norm = op("Max", [op("ReduceL2", [pooled], axes=[1], keepdims=1), const("eps_n", np.array(1e-12, np.float32))])
    nodes.append(helper.make_node("Div", [pooled, norm], ["embedding"]))

    ints = [
        helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "seq"])
        for n in ("input_ids", "attention_mask", "token_type_ids")
    ]
    out = helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", HIDDEN])
    graph = helper.make_graph(nodes, "all-MiniLM-L6-v2", ints, [out], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="pizarra")
    onnx.checker.check_model(model, full_check=False)
    return model
