"""ONNX -> torch.fx, modelferry's own emitter: one handler per ONNX op (ops/), the graph's state shared by
them (graph.py), the walk over the nodes (build.py). Used by emit/pytorch (stages/torch/emit.py)."""
