"""The one registry of stage implementations.

Each entry says which stage of the DAG an implementation serves, which
runtime image it runs in, which module holds its `run()` and which bundle
formats it reads and writes. The CLI's --help, the planner and the stage
entry point all read this table; adding a framework is adding rows here.

Pure Python on purpose: the orchestrator imports it without any framework.
"""
from __future__ import annotations

from dataclasses import dataclass, field

STAGES = ("load", "surgery", "export", "emit", "quantize", "validate", "diagnose")


@dataclass(frozen=True)
class Impl:
    """A stage implementation. For converters (export, emit): `preference` orders the routes to a target
    (lower first; the planner sums it over a route), `settings` are fixed options the row passes to its
    module (one module, several rows: onnx2tf with other options is another route), and `takes` names
    what the planner may add from the request (`portable`: the output may go on to TFJS). `quantizable`:
    whether the target's quantize stage can start from what this converter makes."""
    stage: str
    name: str
    image: str
    module: str
    consumes: tuple[str, ...]
    produces: str
    summary: str
    options: tuple[str, ...] = field(default=())
    preference: int = 0
    settings: tuple[tuple[str, object], ...] = field(default=())
    takes: tuple[str, ...] = field(default=())
    quantizable: bool = True

    @property
    def key(self) -> tuple[str, str]:
        return (self.stage, self.name)

    def settings_dict(self) -> dict:
        return {key: list(value) if isinstance(value, tuple) else value for key, value in self.settings}


IMPLS: tuple[Impl, ...] = (
    Impl("load", "mxnet", "mxnet", "stages.mxnet.load", ("mxnet-checkpoint",), "mxnet",
         "MXNet checkpoint (prefix-symbol.json + prefix-NNNN.params)"),
    Impl("load", "onnx", "tf", "stages.onnx.load", ("onnx-file",), "onnx",
         "ONNX model (.onnx), checked; --simplify runs onnxsim"),
    Impl("load", "keras", "tf", "stages.keras.load", ("keras-file",), "keras",
         "Keras model (.keras, legacy .h5), safe mode unless --trust-custom-code"),
    Impl("load", "savedmodel", "tf", "stages.savedmodel.load", ("savedmodel-dir",), "savedmodel",
         "TF SavedModel directory (--signature, default serving_default)"),
    Impl("surgery", "mxnet", "mxnet", "stages.mxnet.surgery", ("mxnet",), "mxnet",
         "strip baked-in preprocessing, rename params, cut at a layer, fix_gamma"),
    Impl("export", "mxnet", "mxnet", "stages.mxnet.export", ("mxnet",), "onnx",
         "MXNet -> ONNX with the exporter's known faults repaired"),
    Impl("export", "keras", "tf", "stages.keras.export", ("keras",), "onnx",
         "Keras -> ONNX (tf2onnx)"),
    Impl("emit", "keras-tflite", "tf", "stages.keras.tflite", ("keras",), "tflite",
         "Keras -> TFLite fp32 with TF's TFLiteConverter (no ONNX detour)"),
    Impl("export", "savedmodel", "tf", "stages.savedmodel.export", ("savedmodel",), "onnx",
         "TF SavedModel -> ONNX (tf2onnx)"),
    Impl("emit", "savedmodel-tflite", "tf", "stages.savedmodel.tflite", ("savedmodel",), "tflite",
         "TF SavedModel -> TFLite fp32 with TF's TFLiteConverter (no ONNX detour)"),
    Impl("load", "torchscript", "torch", "stages.torch.load", ("torchscript-file",), "torchscript",
         "TorchScript archive (.pt, .pth from torch.jit.save); pickled modules are refused"),
    Impl("load", "torch-export", "torch", "stages.torch.load", ("torch-export-file",), "torch-export",
         "torch.export archive (.pt2 from torch.export.save)"),
    Impl("export", "torch", "torch", "stages.torch.export", ("torchscript", "torch-export"), "onnx",
         "PyTorch -> ONNX (torch.onnx.export, dynamo)"),
    Impl("load", "graphdef", "tf", "stages.graphdef.load", ("graphdef-file",), "graphdef",
         "frozen TF GraphDef (.pb); --inputs/--outputs, else found in the graph"),
    Impl("emit", "graphdef-savedmodel", "tf", "stages.graphdef.savedmodel", ("graphdef",), "savedmodel",
         "frozen GraphDef -> TF SavedModel (its TFLite then comes from TF's converter)"),
    Impl("export", "graphdef", "tf", "stages.graphdef.export", ("graphdef",), "onnx",
         "frozen GraphDef -> ONNX (tf2onnx)"),
    Impl("load", "tflite", "tf", "stages.tflite_source.load", ("tflite-file",), "tflite-source",
         "float TFLite file (.tflite); LiteRT computes golden"),
    Impl("export", "tflite", "tf", "stages.tflite_source.export", ("tflite-source",), "onnx",
         "TFLite -> ONNX (tf2onnx)"),
    Impl("emit", "tflite-as-is", "tf", "stages.tflite_source.as_is", ("tflite-source",), "tflite",
         "a TFLite source as the TFLite artifact, validated, not converted", quantizable=False),
    Impl("emit", "keras-savedmodel", "tf", "stages.keras.savedmodel", ("keras",), "savedmodel",
         "Keras -> TF SavedModel with Keras' export()"),
    # ONNX -> TF: onnx2tf first (channels-last graphs, as phones run them); where it fails or misses the
    # gate, modelferry's own op-by-op translation (ONNX's layouts kept, nothing guessed), then onnx2tf
    # without onnxsim and strict mode, and onnx-tf. (onnx2tf keeping the inputs' layouts was a route too:
    # on real models its files crashed LiteRT or diverged at the first Conv, and it rescued none.)
    Impl("emit", "onnx2tf", "tf", "stages.onnx2tf.emit", ("onnx",), "savedmodel",
         "ONNX -> TF SavedModel, channels-last (onnx2tf); TFLite and TFJS come from it", takes=("portable",)),
    Impl("emit", "onnx-tfops", "tf", "stages.tfops.emit", ("onnx",), "savedmodel",
         "ONNX -> TF SavedModel op by op with TF's own ops (modelferry), ONNX's layouts kept", preference=1),
    Impl("emit", "onnx2tf-plain", "tf", "stages.onnx2tf.emit", ("onnx",), "savedmodel",
         "ONNX -> TF SavedModel with onnx2tf, without onnxsim and strict mode", preference=2,
         settings=(("not_use_onnxsim", True), ("disable_strict_mode", True)), takes=("portable",)),
    # onnx-tf: ONNX's semantics op for op, no layout guesses; it reads opset 11, in TF 2.15.1 of its own
    Impl("emit", "onnx-opset11", "tf", "stages.onnx.downgrade", ("onnx",), "onnx-opset11",
         "ONNX -> ONNX at opset 11, op by op (inputs back to attributes, newer ops expanded), for onnx-tf"),
    Impl("emit", "onnx-tf", "onnxtf", "stages.onnx_tf.emit", ("onnx-opset11",), "savedmodel",
         "ONNX (opset 11) -> TF SavedModel with onnx-tf 1.10, channels-first kept", preference=3),
    Impl("quantize", "tflite", "tf", "stages.tflite.quantize", ("tflite",), "tflite",
         "TFLite fp16, dynamic-range and full-int8", options=("fp16", "dynamic", "int8")),
    Impl("emit", "tfjs", "tfjs", "stages.tfjs.emit", ("savedmodel",), "tfjs",
         "TF SavedModel -> TFJS graph model (tensorflowjs_converter)"),
    Impl("quantize", "tfjs", "tfjs", "stages.tfjs.quantize", ("tfjs",), "tfjs",
         "TFJS fp16 and uint8 (dynamic) weight quantization", options=("fp16", "dynamic")),
    Impl("emit", "openvino", "openvino", "stages.openvino.emit", ("onnx",), "openvino",
         "ONNX -> OpenVINO IR (.xml + .bin, fp32 weights) with openvino.convert_model"),
    Impl("quantize", "openvino", "openvino", "stages.openvino.quantize", ("openvino",), "openvino",
         "OpenVINO IR with fp16-compressed weights, or int8 with NNCF calibrated on --calibration",
         options=("fp16", "int8")),
    Impl("validate", "onnx", "tf", "stages.validate.stage", ("onnx",), "parity",
         "ONNX in ONNX Runtime against the source's golden outputs"),
    Impl("validate", "tflite", "tf", "stages.validate.stage", ("tflite",), "parity",
         "TFLite in LiteRT against the source's golden outputs"),
    Impl("validate", "savedmodel", "tf", "stages.validate.stage", ("savedmodel",), "parity",
         "TF SavedModel in TensorFlow against the source's golden outputs"),
    Impl("validate", "tfjs", "tfjs", "stages.validate.stage", ("tfjs",), "parity",
         "TFJS graph model in Node.js (pure-JS @tensorflow/tfjs) against the source's golden outputs"),
    Impl("validate", "openvino", "openvino", "stages.validate.stage", ("openvino",), "parity",
         "OpenVINO IR on CPU, inference precision pinned to f32, against the source's golden outputs"),
    # Run only when an artifact misses its gate: the first layer where it leaves its route's ONNX graph.
    Impl("diagnose", "tflite", "tf", "stages.diagnose.stage", ("tflite",), "divergence",
         "TFLite (every tensor LiteRT keeps) layer by layer against the ONNX graph in ONNX Runtime"),
    Impl("diagnose", "savedmodel", "tf", "stages.diagnose.stage", ("savedmodel",), "divergence",
         "TF SavedModel (every tensor of its frozen graph) layer by layer against the ONNX graph in ONNX Runtime"),
)

_BY_KEY = {impl.key: impl for impl in IMPLS}

# What a user names with --to, and the bundle format that answers it.
TARGETS = {"onnx": "onnx", "tflite": "tflite", "savedmodel": "savedmodel", "tfjs": "tfjs", "openvino": "openvino"}
SOURCES = {"mxnet": "mxnet-checkpoint", "onnx": "onnx-file", "keras": "keras-file",
           "savedmodel": "savedmodel-dir", "graphdef": "graphdef-file", "tflite": "tflite-file",
           "torchscript": "torchscript-file", "torch-export": "torch-export-file"}


def get(stage: str, name: str) -> Impl:
    try:
        return _BY_KEY[(stage, name)]
    except KeyError:
        known = ", ".join(f"{s}/{n}" for s, n in _BY_KEY)
        raise KeyError(f"no stage implementation {stage}/{name}; known: {known}") from None


# Every --quantize mode some target offers (fp16, dynamic, int8 …), in registry order.
QUANTIZE_MODES = tuple(dict.fromkeys(mode for impl in IMPLS if impl.stage == "quantize" for mode in impl.options))


def quantize_modes(target: str) -> tuple[str, ...]:
    """The --quantize modes a target offers: the options of the quantize stage for its format."""
    for impl in IMPLS:
        if impl.stage == "quantize" and TARGETS[target] in impl.consumes:
            return impl.options
    return ()


def images() -> list[str]:
    return sorted({impl.image for impl in IMPLS})


def find(stage: str, consumes: str, produces: str | None = None) -> Impl:
    """The implementation of `stage` that reads `consumes` bundles (and makes `produces`)."""
    for impl in IMPLS:
        if impl.stage == stage and consumes in impl.consumes and produces in (None, impl.produces):
            return impl
    raise KeyError(f"no {stage} stage reads {consumes!r} bundles"
                   + (f" and makes {produces!r}" if produces else ""))
