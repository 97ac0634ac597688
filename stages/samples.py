"""Reference inputs: read, check and make the `samples.npz` every stage carries."""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from stages.errors import StageError

SAMPLE_COUNT = 8


def load_npz(path: Path, what: str) -> dict[str, np.ndarray]:
    """Arrays of an .npz, never unpickled."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {key: npz[key] for key in npz.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise StageError(f"{what} {path.name} is not a readable .npz of arrays: {exc}") from None


def check_inputs(arrays: dict[str, np.ndarray], inputs: list[dict], path: Path, what: str) -> dict[str, np.ndarray]:
    """Arrays keyed by input name, with each input's per-sample shape; float32."""
    expected = {spec["name"]: tuple(spec["shape"][1:]) for spec in inputs}
    missing = sorted(set(expected) - set(arrays))
    if missing:
        raise StageError(f"{what} {path.name} has keys {sorted(arrays)} but the model's inputs are "
                         f"{sorted(expected)}: missing {missing}")
    checked = {}
    for name, shape in expected.items():
        array = arrays[name]
        if array.ndim != len(shape) + 1 or tuple(array.shape[1:]) != shape:
            raise StageError(f"{what} {path.name}: {name!r} has shape {tuple(array.shape)}, the model "
                             f"needs (N, {', '.join(map(str, shape))})")
        if len(array) == 0:
            raise StageError(f"{what} {path.name}: {name!r} holds no samples")
        checked[name] = np.ascontiguousarray(array, dtype=np.float32)
    return checked


def input_spec(name: str, dims: list, override: list[int] | None, dtype: str, layout4d: str | None,
               where: str) -> dict:
    """One input's signature entry: the user's --input-shape, else the model's (a dynamic batch as 1)."""
    shape = override or [1 if i == 0 and d is None else d for i, d in enumerate(dims)]
    if any(d is None for d in shape):
        raise StageError(f"input {name!r} of {where} has dynamic dimensions {dims}; "
                         f"pass --input-shape {name}:1,…")
    layout = layout4d if len(shape) == 4 else None
    return {"name": name, "shape": [1, *shape[1:]], "dtype": dtype, "layout": layout, "source_layout": layout,
            "source_name": name}


def check_shapes_named(shapes: dict, inputs: list[dict], where: str) -> None:
    """--input-shape may only name inputs the model has."""
    unknown = sorted(set(shapes) - {spec["name"] for spec in inputs})
    if unknown:
        raise StageError(f"--input-shape names {unknown}, but the inputs of {where} are "
                         f"{[spec['name'] for spec in inputs]}")


def synthetic(inputs: list[dict], count: int = SAMPLE_COUNT, seed: int = 0) -> dict[str, np.ndarray]:
    """Realistic-range inputs when the user gave none: 0-255 for images, N(0,1) otherwise."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for spec in inputs:
        shape = (count, *spec["shape"][1:])
        if looks_like_image(spec):
            arrays[spec["name"]] = rng.uniform(0, 255, shape).astype(np.float32)
        else:
            arrays[spec["name"]] = rng.standard_normal(shape).astype(np.float32)
    return arrays


def looks_like_image(spec: dict) -> bool:
    shape = spec["shape"]
    return len(shape) == 4 and (shape[1] in (1, 3) or shape[3] in (1, 3))


def take(arrays: dict[str, np.ndarray], count: int = SAMPLE_COUNT) -> dict[str, np.ndarray]:
    return {name: array[:count] for name, array in arrays.items()}


def reference_inputs(source, inputs: list[dict], out: Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The load stage's samples (batch SAMPLE_COUNT) and the checked calibration set it carries.

    Samples come from the user's samples file, else the calibration file, else
    synthetic data in a realistic range. Returns (samples, files written).
    """
    files = {}
    calibration = None
    if source.has("calibration"):
        path = source.file("calibration")
        calibration = check_inputs(load_npz(path, "calibration file"), inputs, path, "calibration file")
        np.savez(out / "calibration.npz", **calibration)
        files["calibration"] = "calibration.npz"
    if source.has("samples"):
        path = source.file("samples")
        feeds = check_inputs(load_npz(path, "samples file"), inputs, path, "samples file")
    else:
        feeds = calibration if calibration is not None else synthetic(inputs)
    return take(feeds), files


def write_reference(out: Path, feeds: dict[str, np.ndarray], golden: dict[str, np.ndarray], where: str) -> dict:
    """samples.npz and golden.npz, refusing outputs that are not finite."""
    for name, value in golden.items():
        if not np.all(np.isfinite(value)):
            raise StageError(f"{where}: output {name!r} is not finite on the samples; "
                             f"the model's weights may be corrupt")
    np.savez(out / "samples.npz", **feeds)
    np.savez(out / "golden.npz", **golden)
    return {"samples": "samples.npz", "golden": "golden.npz"}


def output_specs(golden: dict[str, np.ndarray], layout4d: str = "NCHW") -> list[dict]:
    specs = []
    for name, value in golden.items():
        layout = layout4d if value.ndim == 4 else None
        specs.append({"name": name, "shape": [1, *value.shape[1:]], "dtype": str(value.dtype),
                      "layout": layout, "source_layout": layout, "source_name": name})
    return specs


PERMUTATIONS = {("NCHW", "NHWC"): (0, 2, 3, 1), ("NHWC", "NCHW"): (0, 3, 1, 2)}


def relayout(x: np.ndarray, src: str | None, dst: str | None) -> np.ndarray:
    perm = PERMUTATIONS.get((src, dst))
    return x.transpose(perm) if perm and x.ndim == 4 else x


def to_target_layout(x: np.ndarray, spec: dict) -> np.ndarray:
    """A source-layout array as the target tensor `spec` wants it (NCHW sources, NHWC TFLite …)."""
    return relayout(x, spec.get("source_layout", spec.get("layout")), spec.get("layout"))


def to_source_layout(y: np.ndarray, spec: dict) -> np.ndarray:
    return relayout(y, spec.get("layout"), spec.get("source_layout", spec.get("layout")))


def apply_preprocess(arrays: dict[str, np.ndarray], preprocess: dict | None) -> dict[str, np.ndarray]:
    """What a caller must now do to raw inputs once surgery stripped the model's own preprocessing."""
    if not preprocess:
        return arrays
    out = dict(arrays)
    for name, step in preprocess.get("inputs", {}).items():
        out[name] = ((arrays[name] - np.float32(step["mean"])) * np.float32(step["scale"])).astype(np.float32)
    return out
