"""An OpenVINO IR folder (model.xml + model.bin), converted, saved and run."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from stages.errors import StageError

XML = "model.xml"
# OpenVINO's messages: where in its sources, then the node (an ONNX one while converting, its own while
# validating the IR), then why
NOISE = re.compile(
    r"Exception from |Check '.*' failed at |FrontEnd API failed|Errors during ONNX translation|"
    r"\[ONNX Frontend\] Conversion failed"
)
ONNX_NODE = re.compile(r"While validating ONNX node '<Node\((?P<op>\w+)\): (?P<name>[^>]+)>'")
VALIDATING = re.compile(r"While validating node '\w+::(?P<op>\w+) (?P<name>[^ ']+)")


def size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir() if p.is_file())


def save(model, folder: Path, fp16_weights: bool) -> None:
    """IR with fp32 weights, or fp16-compressed weights (decompressed to f32 when it runs). Its runtime
    options turn off the CPU plugin's dynamic quantization, which by default quantizes the activations that
    meet int8 weights (a model quantized dynamically, its weights int8 and a Cast): an int8 MiniLM missed the
    fp32 gate by 0.05. compile_model reads the option from the IR, so every user's runtime runs it so too."""
    import openvino as ov

    folder.mkdir(parents=True)
    model.set_rt_info("0", ["runtime_options", "DYNAMIC_QUANTIZATION_GROUP_SIZE"])
    ov.save_model(model, str(folder / XML), compress_to_fp16=fp16_weights)


def check_names(model, manifest: dict, what: str) -> None:
    """The IR keeps the ONNX tensor names; say which ones it lost rather than guess among tensors."""
    have = {name for port in (*model.inputs, *model.outputs) for name in port.get_names()}
    lost = [spec["name"] for spec in (*manifest["inputs"], *manifest["outputs"]) if spec["name"] not in have]
    if lost:
        raise StageError(
            f"{what}: OpenVINO's IR lost the tensor name(s) {', '.join(lost)}; it names them {', '.join(sorted(have))}"
        )


def reason(exc: BaseException) -> str:
    """OpenVINO's cause, past the lines that only say where in its sources it was raised; where it names the
    node it was converting or validating, that node and its op first."""
    text = str(exc)
    said = [line.strip() for line in text.splitlines() if line.strip() and not NOISE.match(line.strip())]
    node = ONNX_NODE.search(text) or VALIDATING.search(text)
    if node:
        op, name = node.group("op"), node.group("name")
        why = next((line for line in said if not line.startswith("While validating")), "")
        return f"node {name} ({op}): {why[:300]}" if why else f"node {name} ({op})"
    return " ".join(said[:2])[:400] if said else type(exc).__name__


class IRModel:
    """Called with {input name: array}, returns {output name: array}; CPU, f32 inference precision."""

    def __init__(self, folder: Path):
        import openvino as ov

        core = ov.Core()
        try:
            model = core.read_model(str(folder / XML))
            self.compiled = core.compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
        except Exception as exc:  # OpenVINO raises RuntimeError with a multi-line message
            raise StageError(f"OpenVINO cannot load the IR in {folder.name}/: {reason(exc)}") from None
        self.batched = all(
            port.get_partial_shape().rank.get_length() > 0 and port.get_partial_shape()[0].is_dynamic
            for port in model.inputs
        )

    def __call__(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        result = self.compiled(inputs)
        return {name: np.asarray(result[port]) for port in self.compiled.outputs for name in port.get_names()}
