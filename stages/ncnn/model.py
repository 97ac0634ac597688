"""An ncnn model (.param + .bin), loaded and run with the ncnn Python binding, its tensors named by blob.

fp32: fp16 storage, packing and arithmetic off (on x86 with F16C, ncnn otherwise stores InnerProduct
weights as fp16), bf16 off. fp16: all three on, as a phone runs it. Set before load_param, or they do
not apply. Mats are CHW without the batch dimension: the batch-1 axis is dropped on the way in and put
back on the way out (an input the batch-axis pass marks `unbatched` is one blob as it is).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np

from stages.errors import StageError
from stages.ncnn.files import BIN, PARAM, layers
from stages.ncnn.logs import stderr_lines

# ncnn's loader names a layer it refuses by its index: "layer load_param 1 lstm_0 failed",
# "invalid bottom_count or top_count for one_blob_only layer 23"
REFUSED = re.compile(r"\blayer (?:load_param |load_model )?(\d+)\b")


def check_layers(folder: Path, what: str, ignored: list[str]) -> None:
    """Every layer type of the param file is one ncnn has: what pnnx could not convert stays under its
    own type (ONNX's, torch's or pnnx's name), and ncnn would refuse the file (or crash) when loading it.
    `ignored`: pnnx's own "ignore <op> <node> param …" lines, which say why."""
    import ncnn

    unknown = [(kind, name) for kind, name, _, _ in layers(folder / PARAM) if ncnn.layer_to_index(kind) < 0]
    if unknown:
        listed = ", ".join(f"{kind} ({name})" for kind, name in unknown[:5])
        why = next((line for line in ignored if unknown[0][1] in line.split()), "")
        raise StageError(
            f"{what}: pnnx left op(s) ncnn has no layer for: {listed}"
            + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
            + (f" (pnnx: {why})" if why else "")
        )


def refusal(folder: Path, said: list[str], writer: str = "pnnx") -> str:
    """Why ncnn would not load the files: the layer its loader names by index (looked up in the param file
    for its name and type), and its own words."""
    for line in said:
        match = REFUSED.search(line)
        if match:
            found = layers(folder / PARAM)
            index = int(match.group(1))
            if index < len(found):
                kind, name, _, _ = found[index]
                return f'ncnn cannot load the files {writer} wrote: layer {name} ({kind}): ncnn says "{line}"'
    last = said[-1] if said else "no reason given"
    return f"ncnn cannot load the files {writer} wrote ({folder.name}): {last}"


class NcnnModel:
    """Called with {input blob: array} (batch 1), returns {output blob: array} shaped as `outputs` say."""

    def __init__(self, folder: Path, inputs: list[dict], outputs: list[dict], fp16: bool, writer: str = "pnnx"):
        import ncnn

        # an input the batch-axis pass took with a batch axis of its own (stages/onnx/legalize): its whole array
        self.unbatched = {spec["name"] for spec in inputs if spec.get("unbatched")}
        self.ids = {spec["name"] for spec in outputs if spec.get("int32_bits")}  # token ids passed on
        self.shapes = {spec["name"]: [1 if not isinstance(d, int) else d for d in spec["shape"]] for spec in outputs}
        net = ncnn.Net()
        for option in ("use_fp16_storage", "use_fp16_packed", "use_fp16_arithmetic"):
            setattr(net.opt, option, fp16)
        net.opt.use_bf16_storage = False
        net.opt.num_threads = 1
        with stderr_lines() as said:
            loaded = net.load_param(str(folder / PARAM)) == 0 and net.load_model(str(folder / BIN)) == 0
        if not loaded:
            raise StageError(refusal(folder, said, writer))
        self.net, self.folder = net, folder

    def __call__(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        results = {}
        with self.net.create_extractor() as ex:
            held = self._feed(ex, inputs)  # noqa: F841 - the extractor reads them until the outputs are out
            for name in self.shapes:
                ret, mat = ex.extract(name)
                if ret != 0:
                    raise StageError(f"ncnn could not compute output blob {name}: {self._failing(inputs, ret)}")
                value = np.array(mat)
                results[name] = self._shaped(name, value.view(np.int32) if name in self.ids else value)
        return results

    def _feed(self, ex, inputs: dict[str, np.ndarray]) -> list:
        """Each input into the extractor. A Mat made from an array only points at the array's memory (ncnn's
        layers may want their own, aligned): each is cloned into ncnn's memory, and must be held until every
        output is extracted, since the extractor keeps only a reference to it."""
        import ncnn

        held = []
        for name, array in inputs.items():
            if name not in self.unbatched and array.shape[0] != 1:
                raise StageError(f"input {name} has batch {array.shape[0]}; ncnn runs batch 1")
            blob = array if name in self.unbatched else array[0]
            # int32 token ids stay int32: ncnn's Embed reads the blob's bits as int32 (stages/ncnn/pnnx.py)
            data = np.ascontiguousarray(blob, dtype=np.int32 if array.dtype == np.int32 else np.float32)
            held.append(ncnn.Mat(data).clone())
            ex.input(name, held[-1])
        return held

    def _failing(self, inputs: dict[str, np.ndarray], ret: int) -> str:
        """The first layer, in the param file's order, whose output ncnn cannot compute, and its error."""
        for kind, name, _, tops in layers(self.folder / PARAM):
            for top in tops:
                with self.net.create_extractor() as ex:
                    held = self._feed(ex, inputs)  # noqa: F841
                    code, _ = ex.extract(top)
                if code != 0:
                    return f"layer {name} ({kind}) fails with error {code}" + (
                        " (ncnn's code for a blob it could not make: an empty crop, shapes that do not fit)"
                        if code == -100
                        else ""
                    )
        return f"error {ret}"

    def _shaped(self, name: str, value: np.ndarray) -> np.ndarray:
        shape = self.shapes[name]
        if value.size != math.prod(shape):
            raise StageError(
                f"ncnn's output blob {name} has shape {list(value.shape)}, {value.size} values; the model's is {shape}"
            )
        return value.reshape(shape)
