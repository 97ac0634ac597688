"""load/mxnet: read a checkpoint, record its signature, write samples and golden outputs."""

from __future__ import annotations

import ast
import shutil

from stages import samples as samples_lib
from stages.context import StageContext
from stages.errors import StageError
from stages.mxnet import allowlist, checkpoint
from stages.trust.policy import verdict

TOOLS = ("mxnet", "numpy")


def _declared_shape(graph: dict, name: str) -> list[int] | None:
    """The `__shape__` a symbol may carry on its input variable (mx.sym.var(shape=…))."""
    for node in graph["nodes"]:
        if node["op"] == "null" and node["name"] == name:
            shape = (node.get("attrs") or node.get("attr") or {}).get("__shape__")
            if shape:
                dims = list(ast.literal_eval(shape))
                if dims and all(isinstance(d, int) and d > 0 for d in dims):
                    return dims
    return None


def _signature(graph, symbol, arg, aux, shapes: dict, symbol_name: str) -> list[dict]:
    inputs = []
    for name in checkpoint.data_names(symbol, arg, aux):
        shape = shapes.get(name) or _declared_shape(graph, name)
        if shape is None:
            raise StageError(
                f"cannot tell the shape of input {name!r} from {symbol_name}; "
                f"pass --input-shape {name}:1,3,112,112 (your model's shape)"
            )
        inputs.append(samples_lib.input_spec(name, shape, None, "float32", "channels_first", symbol_name))
    samples_lib.check_shapes_named(shapes, inputs, symbol_name)
    return inputs


def run(ctx: StageContext) -> dict:
    source = ctx.source
    symbol_path, params_path = source.file("symbol"), source.file("params")
    graph = checkpoint.read_symbol_json(symbol_path)
    trust = verdict(allowlist.check(graph), ctx.user_file_name("symbol"), bool(ctx.option("trust_custom_code")))
    symbol = checkpoint.symbol_from_json(graph, symbol_path)
    arg, aux = checkpoint.read_params(params_path)

    inputs = _signature(graph, symbol, arg, aux, ctx.option("input_shapes", {}), symbol_path.name)
    samples_lib.check_described(ctx.config, inputs, symbol_path.name)
    feeds, files, info = samples_lib.reference_inputs(source, inputs, ctx.out, ctx.config)
    golden, written, floor = samples_lib.reference(
        ctx.out, feeds, lambda f: checkpoint.run(symbol, arg, aux, f, where=symbol_path.name), symbol_path.name, info
    )
    files.update(written)
    shutil.copyfile(symbol_path, ctx.out / "model-symbol.json")
    shutil.copyfile(params_path, ctx.out / "model-0000.params")
    files.update(symbol="model-symbol.json", params="model-0000.params")
    outputs = samples_lib.output_specs(golden)
    return {
        "format": "mxnet",
        "files": files,
        "inputs": inputs,
        "outputs": outputs,
        "source": source.manifest.get("source", {}),
        "precision": "fp32",
        "metrics": {"samples": len(next(iter(feeds.values()))), "trust": trust},
        "noise_floor": floor,
        "samples_info": info,
    }
