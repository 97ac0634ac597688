"""ONNX legalization: passes that rewrite a graph into the forms a converter or emitter takes, each exact
(the same function of the inputs, op for op as ONNX defines them), run on the converter's private copy of
the graph, never on the bundle's. A converter names the passes it wants (`apply(model, ("gelu", …))`);
what each pass changed is returned, and the stage records it in its manifest as `legalized`.

    gelu            GELU (Gelu, or its Erf or tanh formula) in the form TFLite fuses into its GELU builtin
    reduce-l2       ReduceL2 as Sqrt(ReduceSumSquare)
    strided-slice   a Slice with a step as Reshape, a Slice without one, and Reshape
    pad-as-concat   a constant Pad as Concat with constant blocks
    constant-if     an If whose condition is known when the graph is built, as the branch it takes
    einsum          a two-operand Einsum as Transpose, Reshape and a batched MatMul
    embedding       an embedding Gather's explicit axis=0 dropped (the form pnnx makes ncnn's Embed of)
    clip-bounds     a Clip with a bound the graph computes as Max and Min
    sum-axes        a one-axis ReduceSum (rank <= 4) over that axis and a new trailing one of size 1
    static-shapes   the graph at the signature's shapes, its shape computations folded into constants
    conv1d          a 1-d Conv or ConvTranspose as the 2-d one over a map of height 1
    int-inputs      an integer input taken as float32 and cast to its type inside (float-only targets)
    batch-axis      an input whose first axis is not a batch of one taken with one, squeezed inside (ncnn)
    transpose-as-reshape  a Transpose that moves only axes of size one as a Reshape
    reduce-axes     a ReduceMin or ReduceMax over several axes as one reduction per axis
    div-no-nan      TensorFlow's div_no_nan (Where(Equal(d, 0), 0, x / d)) without a comparison
    loop-unroll     a Loop whose trip count and conditions are known when the graph is built, unrolled
    gather-transpose  a Gather of one index from a Transpose's output as one from its input
    split-sizes     a Split into equal parts with its sizes spelt out
    transpose-flatten  a Transpose before a Flatten into a dense layer, as the dense layer's rows reordered
    transpose-pairs Transposes that undo each other around layout-free ops (Softmax, activations) taken out
    recurrent       LSTM, GRU and RNN in pnnx's form: weights as initializers, no zero states, Y through Squeeze
"""

from __future__ import annotations

from stages.onnx.legalize import (
    batch_axis,
    clip_bounds,
    constant_if,
    conv1d,
    div_no_nan,
    einsum,
    embedding,
    gather_transpose,
    gelu,
    int_inputs,
    loop_unroll,
    pad_concat,
    recurrent,
    reduce_axes,
    reduce_l2,
    split_sizes,
    static_shapes,
    strided_slice,
    sum_axes,
    transpose_flatten,
    transpose_pairs,
    transpose_reshape,
)
from stages.onnx.legalize.graph import Graph

PASSES = {
    "gelu": gelu.run,
    "reduce-l2": reduce_l2.run,
    "strided-slice": strided_slice.run,
    "pad-as-concat": pad_concat.run,
    "constant-if": constant_if.run,
    "einsum": einsum.run,
    "int-inputs": int_inputs.run,
    "conv1d": conv1d.run,
    "embedding": embedding.run,
    "clip-bounds": clip_bounds.run,
    "static-shapes": static_shapes.run,
    "sum-axes": sum_axes.run,
    "recurrent": recurrent.run,
    "batch-axis": batch_axis.run,
    "transpose-as-reshape": transpose_reshape.run,
    "reduce-axes": reduce_axes.run,
    "div-no-nan": div_no_nan.run,
    "loop-unroll": loop_unroll.run,
    "gather-transpose": gather_transpose.run,
    "split-sizes": split_sizes.run,
    "transpose-pairs": transpose_pairs.run,
    "transpose-flatten": transpose_flatten.run,
}


def apply(model, passes: tuple[str, ...], inputs: list[dict] | None = None) -> dict[str, int]:
    """Run `passes` on `model` in place, in the order given; {pass: nodes it rewrote} for those that did.
    `inputs`: the manifest's input specs, for the passes that need shapes."""
    changed = {}
    for name in passes:
        graph = Graph(model, inputs)
        count = PASSES[name](graph)
        if count:
            graph.index()  # a pass may have rebuilt the node list itself
            graph.prune()
            changed[name] = count
    return changed
