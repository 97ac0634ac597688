"""load/caffe: read a prototxt + caffemodel in pycaffe (BVLC Caffe 1.0, TEST phase), record its signature,
write samples and golden outputs, and the net as the export stage reads it: net.json (layers in order,
with their parameters, and every blob's shape) and weights.npz (each layer's blobs as Caffe holds them
after upgrading an old file)."""

from __future__ import annotations

import json

import numpy as np

from stages import samples as samples_lib
from stages.caffe import allowlist, read
from stages.caffe.model import caffe
from stages.context import StageContext
from stages.errors import StageError
from stages.trust.policy import verdict

TOOLS = ("numpy",)
NET, WEIGHTS = "net.json", "weights.npz"


def _unknown(layers: list, known: frozenset, where: str) -> None:
    odd = [(read.type_of(layer), layer.name) for layer in layers if read.type_of(layer) not in known]
    if odd:
        listed = "; ".join(f"{kind} (layer {name!r})" for kind, name in odd[:4])
        raise StageError(
            f"{where} has layer types BVLC Caffe 1.0 does not have: {listed}. They come from a fork "
            f"of Caffe (SSD, PSPNet, …), which modelferry does not run"
        )


def _signature(declared: dict, shapes: dict, where: str) -> list[dict]:
    inputs = []
    for name, dims in declared.items():
        if not dims and name not in shapes:
            raise StageError(
                f"{where} declares no shape for input {name!r}; pass --input-shape "
                f"{name}:1,3,224,224 (your model's shape)"
            )
        # Caffe batches every blob on axis 0, whatever batch the prototxt was written for.
        inputs.append(
            samples_lib.input_spec(
                name, [None, *dims[1:]] if dims else [], shapes.get(name), "float32", "channels_first", where
            )
        )
    samples_lib.check_shapes_named(shapes, inputs, where)
    return inputs


class Net:
    """The pycaffe net, run one sample at a time (a Reshape may have its batch of 1 written in).

    Caffe copies weights by layer name and aborts (or crashes) on a blob of the wrong size, and keeps a
    layer the weights file lacks at its random initial values: the weights are read here, checked layer
    by layer against the net Caffe built, and copied in."""

    def __init__(self, prototxt, caffemodel, where: str, weights_name: str):
        pycaffe = caffe()
        trained = read.weights(caffemodel, weights_name)
        try:
            self.net = pycaffe.Net(str(prototxt), pycaffe.TEST)
        except Exception as exc:  # pycaffe raises few errors: most of Caffe's checks abort the process
            raise StageError(f"{where}: Caffe cannot build the net: {exc}") from None
        for layer, blobs in self.net.params.items():
            if layer not in trained:
                raise StageError(
                    f"{weights_name} has no weights for layer {layer!r} of {where}: is it the model's own .caffemodel?"
                )
            if len(trained[layer]) != len(blobs):
                raise StageError(
                    f"{weights_name} has {len(trained[layer])} blobs for layer {layer!r}; {where} "
                    f"makes it with {len(blobs)}"
                )
            for index, (blob, values) in enumerate(zip(blobs, trained[layer])):
                if values.size != blob.data.size:
                    raise StageError(
                        f"{weights_name}: layer {layer!r} blob {index} holds {values.size} values; "
                        f"{where} makes it {list(blob.data.shape)}"
                    )
                blob.data[...] = values.reshape(blob.data.shape)

    def __call__(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        count = len(next(iter(feeds.values())))
        parts: dict[str, list] = {name: [] for name in self.net.outputs}
        for index in range(count):
            for name, array in feeds.items():
                blob = self.net.blobs[name]
                blob.reshape(1, *array.shape[1:])
                blob.data[...] = array[index : index + 1]
            self.net.forward()
            for name in parts:
                parts[name].append(self.net.blobs[name].data.copy())
        return {name: np.concatenate(values) for name, values in parts.items()}

    def dump(self, layers: list, out) -> dict:
        """net.json and weights.npz: the layers Caffe built (its auto-inserted Splits left out)."""
        built = set(self.net._layer_names)
        kept = [read.describe(layer) for layer in layers if layer.name in built]
        weights = {
            f"{name}#{index}": blob.data.astype(np.float32)
            for name, blobs in self.net.params.items()
            for index, blob in enumerate(blobs)
        }
        np.savez(out / WEIGHTS, **weights)
        shapes = {name: list(blob.data.shape) for name, blob in self.net.blobs.items()}
        (out / NET).write_text(
            json.dumps(
                {"layers": kept, "shapes": shapes, "inputs": list(self.net.inputs), "outputs": list(self.net.outputs)}
            )
        )
        return {"net": NET, "weights": WEIGHTS}


def run(ctx: StageContext) -> dict:
    source = ctx.source
    prototxt, caffemodel = source.file("prototxt"), source.file("caffemodel")
    where = ctx.user_file_name("prototxt")
    definition = read.parse(prototxt, where)
    layers = read.every_layer(definition)
    known = frozenset(caffe().layer_type_list())
    trust = verdict(allowlist.check(definition, known), where, bool(ctx.option("trust_custom_code")), "layer")
    _unknown(layers, known, where)
    inputs = _signature(
        read.inputs(definition, [layer for layer in layers if read.in_test(layer)]),
        ctx.option("input_shapes", {}),
        where,
    )
    samples_lib.check_described(ctx.config, inputs, where)

    net = Net(prototxt, caffemodel, where, ctx.user_file_name("caffemodel"))
    feeds, files, info = samples_lib.reference_inputs(source, inputs, ctx.out, ctx.config)
    golden, written, floor = samples_lib.reference(ctx.out, feeds, net, where, info)
    files.update(written)
    files.update(net.dump(layers, ctx.out))
    return {
        "format": "caffe-source",
        "files": files,
        "inputs": inputs,
        "outputs": samples_lib.output_specs(golden),
        "source": source.manifest.get("source", {}),
        "precision": "fp32",
        "metrics": {"samples": len(next(iter(feeds.values()))), "trust": trust, "layers": len(layers)},
        "noise_floor": floor,
        "samples_info": info,
    }
