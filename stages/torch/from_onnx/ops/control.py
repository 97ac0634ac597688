"""ONNX's If, where its condition is known when the graph is built (an input bound with --bind, a shape):
the branch it takes is converted in its place. A condition computed from the data is refused: a torch.fx
graph is straight-line, and both branches under torch.cond would be another program than the one traced."""

from __future__ import annotations

import numpy as np

from stages.onnx.emitter import Unsupported, attrs
from stages.torch.from_onnx.table import OPS


@OPS.handles("If")
def if_(g, node):
    from onnx import numpy_helper

    condition = node.input[0]
    if condition not in g.constants and condition not in g.sizes:
        raise Unsupported(
            f"the PyTorch emitter has no conversion for If (node {node.name!r}) whose condition "
            f"({condition}) is computed from the data: a torch.fx graph holds one branch"
        )
    taken = bool(np.asarray(g.constant(condition, node, "condition")).reshape(-1)[0])
    branch = attrs(node)["then_branch" if taken else "else_branch"]
    for weight in branch.initializer:
        g.set_constant(weight.name, numpy_helper.to_array(weight))
    g.convert_nodes(branch.node)
    made = []
    for name, output in zip(node.output, branch.output, strict=True):  # what the branch knows stays known
        if output.name in g.constants:
            g.set_constant(name, g.constants[output.name])
        elif output.name in g.sizes:
            g.set_sizes(name, g.sizes[output.name])
        made.append(None if g.is_known(output.name) else g.tensor(output.name))
    return made
