"""Reference inputs: read, check and make the `samples.npz` every stage carries.

The samples come from the user (`--samples`, `--calibration`: an .npz keyed
by input name, or a folder of pictures), else are made to fit what the user
said of each input (`--input-range`, `--mean/--std`, `--channel-order`), else
are synthetic in a plausible range, and the report says which. How samples
are laid out per input (its batch axis) is in stages/feeding.py.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from stages import feeding, pictures
from stages import layout as layouts
from stages.errors import StageError
from stages.pictures import looks_like_image

SAMPLE_COUNT = 8
# What the samples of one input may take in memory: a declared shape far beyond any real input (a
# dimension of 200000 where the model means "dynamic") is refused with its numbers, not met by a
# MemoryError (or, where the kernel overcommits, by the OOM killer).
MAX_SAMPLE_BYTES = 2 << 30


def load_npz(path: Path, what: str) -> dict[str, np.ndarray]:
    """Arrays of an .npz, never unpickled."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {key: npz[key] for key in npz.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise StageError(f"{what} {path.name} is not a readable .npz of arrays: {exc}") from None


def _kind(dtype) -> str:
    """float, int or bool; another dtype's numpy kind letter (U for text, O for objects)."""
    kind = (dtype if isinstance(dtype, np.dtype) else np.dtype(dtype)).kind
    return {"f": "float", "i": "int", "u": "int", "b": "bool"}.get(kind, kind)


def _cast(array: np.ndarray, spec: dict, where: str) -> np.ndarray:
    """The array in the input's dtype; integers from a float file only when they are whole numbers."""
    want = np.dtype(spec["dtype"])
    have = _kind(array.dtype)
    if _kind(want.name) == "float" and have in ("float", "int", "bool"):
        return np.ascontiguousarray(array, dtype=want)
    if _kind(want.name) in ("int", "bool") and have in ("int", "bool"):
        return np.ascontiguousarray(array, dtype=want)
    if _kind(want.name) in ("int", "bool") and have == "float" and np.all(np.mod(array, 1) == 0):
        return np.ascontiguousarray(array, dtype=want)
    raise StageError(f"{where}: {spec['name']!r} holds {array.dtype} values, the model takes {want.name}")


def _fits(array: np.ndarray, spec: dict) -> np.ndarray | None:
    """The array with its samples on the input's batch axis (see feeding.py), None if it does not fit."""
    shape, axis = [int(d) for d in spec["shape"]], spec.get("batch_axis", 0)
    if axis is None:
        if list(array.shape) == shape:
            return array[None]  # one sample
        return array if list(array.shape[1:]) == shape else None
    if array.ndim == len(shape) and all(a == s for i, (a, s) in enumerate(zip(array.shape, shape)) if i != axis):
        return array
    return None


def _expected(spec: dict) -> str:
    shape, axis = [str(d) for d in spec["shape"]], spec.get("batch_axis", 0)
    if axis is None:
        return f"({', '.join(shape)}) or (N, {', '.join(shape)})"
    shape[axis] = "N"
    return f"({', '.join(shape)})"


def check_inputs(arrays: dict[str, np.ndarray], inputs: list[dict], path: Path, what: str) -> dict[str, np.ndarray]:
    """Arrays keyed by input name, shaped and typed as the inputs take them (samples on the batch axis).

    A model with one input takes an .npz of one array whatever its key."""
    names = [spec["name"] for spec in inputs]
    if len(inputs) == 1 and len(arrays) == 1 and names[0] not in arrays:
        arrays = {names[0]: next(iter(arrays.values()))}
    missing = sorted(set(names) - set(arrays))
    if missing:
        raise StageError(
            f"{what} {path.name} has keys {sorted(arrays)} but the model's inputs are "
            f"{sorted(names)}: missing {missing}"
        )
    checked, counts = {}, {}
    for spec in inputs:
        array = _fits(np.asarray(arrays[spec["name"]]), spec)
        if array is None:
            raise StageError(
                f"{what} {path.name}: {spec['name']!r} has shape {tuple(arrays[spec['name']].shape)}, "
                f"the model needs {_expected(spec)}"
            )
        checked[spec["name"]] = _cast(array, spec, f"{what} {path.name}")
        _check_finite(checked[spec["name"]], spec, f"{what} {path.name}")
        counts[spec["name"]] = feeding.name_count(checked[spec["name"]], spec)
    if 0 in counts.values():
        raise StageError(f"{what} {path.name}: {[n for n, c in counts.items() if c == 0]} hold no samples")
    if len(set(counts.values())) > 1:
        raise StageError(f"{what} {path.name}: the inputs hold different numbers of samples {counts}")
    return checked


def _check_finite(array: np.ndarray, spec: dict, where: str) -> None:
    """NaN or Inf in a sample would make every comparison of it pass (NaN == NaN is never checked)."""
    if _kind(array.dtype) != "float" or np.all(np.isfinite(array)):
        return
    axis = spec.get("batch_axis", 0)
    axis = 0 if axis is None else axis
    bad = ~np.isfinite(np.moveaxis(array, axis, 0).reshape(array.shape[axis], -1)).all(axis=1)
    samples = [int(i) for i in np.flatnonzero(bad)]
    what = "NaN" if np.isnan(array).any() else "Inf"
    raise StageError(
        f"{where}: {spec['name']!r} holds {what} in sample{'s' if len(samples) > 1 else ''} "
        f"{', '.join(map(str, samples[:8]))}{' …' if len(samples) > 8 else ''}; samples must be "
        f"finite numbers"
    )


def _gib(count: float) -> str:
    return f"{count / (1 << 30):.3g} GiB" if count >= 1 << 30 else f"{count / (1 << 20):.3g} MiB"


def check_size(name: str, shape: list[int], dtype: str, where: str) -> None:
    """The samples of an input must fit in memory."""
    size = SAMPLE_COUNT * int(np.prod([max(int(d), 1) for d in shape], dtype=np.float64)) * np.dtype(dtype).itemsize
    if size > MAX_SAMPLE_BYTES:
        raise StageError(
            f"input {name!r} of {where} is {dtype}{list(shape)}: its {SAMPLE_COUNT} samples would "
            f"take {_gib(size)}, past the limit of {_gib(MAX_SAMPLE_BYTES)}; pass --input-shape "
            f"{name}:… with the size it really takes"
        )


def input_spec(name: str, dims: list, override: list[int] | None, dtype: str, family: str | None, where: str) -> dict:
    """One input's signature entry: its shape (the user's --input-shape, else the model's, a dynamic
    batch as 1), dtype, layout for its rank, and its batch axis (None when the shape has none)."""
    dims = list(dims)
    dynamic = [i for i, d in enumerate(dims) if d is None]
    if override is not None:
        shape = list(override)
    else:
        if len(dynamic) > 1:
            raise StageError(
                f"input {name!r} of {where} has dynamic dimensions {dims}; "
                f"pass --input-shape {name}:{','.join('1' if d is None else str(d) for d in dims)} "
                f"(its real shape)"
            )
        shape = [1 if d is None else int(d) for d in dims]
    if override is None and 0 in shape:
        raise StageError(
            f"input {name!r} of {where} declares a dimension of size 0 ({dims}): it would hold no "
            f"values, and nothing could be compared; if that dimension is dynamic, pass "
            f"--input-shape {name}:{','.join('1' if d in (None, 0) else str(d) for d in dims)} "
            f"(its real shape)"
        )
    check_size(name, shape, dtype, where)
    # The batch is the first dynamic axis, unless the user sized that axis beyond one sample: an OCR
    # model's [1, 1, 64, 'width'] given as 1,1,64,160 keeps its width (and batches on its static axis 0).
    if dynamic and (dynamic[0] == 0 or override is None or override[dynamic[0]] == 1):
        batch_axis = dynamic[0]
        shape[batch_axis] = 1
    else:
        batch_axis = 0 if shape and shape[0] == 1 else None
    # A tensor whose batch is not its first axis (a recurrent state [2, batch, 128]) has no channel axis
    # to move: converters must keep it as it is.
    # (Converters move integer and boolean tensors channels-last too: the layout is not about dtype.)
    layout = layouts.for_rank(family, len(shape)) if batch_axis in (0, None) else None
    return {
        "name": name,
        "shape": shape,
        "dtype": dtype,
        "layout": layout,
        "source_layout": layout,
        "source_name": name,
        "batch_axis": batch_axis,
    }


def check_shapes_named(shapes: dict, inputs: list[dict], where: str) -> None:
    """--input-shape may only name inputs the model has."""
    unknown = sorted(set(shapes) - {spec["name"] for spec in inputs})
    if unknown:
        raise StageError(
            f"--input-shape names {unknown}, but the inputs of {where} are {[spec['name'] for spec in inputs]}"
        )


def check_described(options: dict, inputs: list[dict], where: str) -> None:
    """--input-range may only name inputs the model has; --mean/--std need an image input."""
    known = {spec["name"] for spec in inputs}
    unknown = sorted(set(options.get("input_ranges") or {}) - known)
    if unknown:
        raise StageError(f"--input-range names {unknown}, but the inputs of {where} are {sorted(known)}")
    if options.get("normalize") and not any(looks_like_image(spec) for spec in inputs):
        raise StageError(
            f"--mean, --std and --channel-order describe image inputs (4-D, 1 or 3 channels); the "
            f"inputs of {where} are {[(s['name'], s['shape']) for s in inputs]}: use --input-range"
        )


def _batched_shape(spec: dict, count: int) -> tuple[int, ...]:
    shape, axis = list(spec["shape"]), spec.get("batch_axis", 0)
    if axis is None:
        return (count, *shape)
    shape[axis] = count
    return tuple(shape)


def synthetic(
    inputs: list[dict], described: dict, count: int = SAMPLE_COUNT, seed: int = 0
) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Inputs made to fit what the user said of them; returns (arrays, what each one is)."""
    rng = np.random.default_rng(seed)
    ranges, norm = described.get("input_ranges") or {}, described.get("normalize") or {}
    arrays, said = {}, {}
    for spec in inputs:
        name, shape, kind = spec["name"], _batched_shape(spec, count), _kind(spec["dtype"])
        span = ranges.get(name)
        if kind == "bool":
            arrays[name], said[name] = rng.integers(0, 2, shape).astype(bool), "random booleans"
        elif kind == "int":
            if span is None:
                raise StageError(
                    f"input {name!r} is {spec['dtype']}: say which values it takes with "
                    f"--input-range {name}:LO,HI, give them with --samples, or fix it with "
                    f"--bind {name}=VALUE"
                )
            lo, hi = int(span[0]), int(span[1])
            arrays[name] = rng.integers(lo, hi + 1, shape).astype(spec["dtype"])
            said[name] = f"random integers in [{lo}, {hi}]"
        elif looks_like_image(spec):
            arrays[name], said[name] = pictures.synthetic(spec, shape, rng, span, norm)
        elif span is not None:
            arrays[name] = rng.uniform(span[0], span[1], shape).astype(spec["dtype"])
            said[name] = f"uniform in [{span[0]:g}, {span[1]:g}]"
        else:
            arrays[name], said[name] = rng.standard_normal(shape).astype(spec["dtype"]), "normal N(0, 1)"
    return arrays, said


def first(arrays: dict[str, np.ndarray], inputs: list[dict], count: int = SAMPLE_COUNT) -> dict[str, np.ndarray]:
    """The first `count` samples of each input."""
    return {
        spec["name"]: arrays[spec["name"]][:count]
        if spec.get("batch_axis", 0) is None
        else feeding.take(arrays[spec["name"]], spec, slice(0, count))
        for spec in inputs
    }


def _user_arrays(source, role: str, inputs: list[dict], described: dict) -> tuple[dict, str]:
    path = source.file(role)
    what = f"{role} file"
    if role in (source.manifest.get("picture_roles") or []):
        made, said = pictures.inputs(load_npz(path, what), inputs, described, path.name)
        rest, rest_said = synthetic(
            [s for s in inputs if s["name"] not in made], described, count=len(next(iter(made.values())))
        )  # pictures are batch-first
        return {**made, **rest}, "; ".join([said, *(f"{n}: {w}" for n, w in rest_said.items())])
    user = (source.manifest.get("user_files") or {}).get(role, path.name)
    return check_inputs(load_npz(path, what), inputs, path, what), f"from {user}"


def reference_inputs(
    source, inputs: list[dict], out: Path, described: dict | None = None
) -> tuple[dict[str, np.ndarray], dict[str, str], dict]:
    """The load stage's samples (SAMPLE_COUNT of them) and the checked calibration set it carries.

    Samples come from the user's samples file, else the calibration file, else
    synthetic data fitted to `described` (input ranges, normalization).
    Returns (samples, files written, what the samples are).
    """
    described = described or {}
    files, calibration = {}, None
    info = {}
    if source.has("calibration"):
        calibration, info["calibration"] = _user_arrays(source, "calibration", inputs, described)
        np.savez(out / "calibration.npz", **calibration)
        files["calibration"] = "calibration.npz"
    if source.has("samples"):
        feeds, info["samples"] = _user_arrays(source, "samples", inputs, described)
        info["synthetic"] = False
    elif calibration is not None:
        feeds, info["samples"], info["synthetic"] = calibration, f"the calibration set ({info['calibration']})", False
    else:
        feeds, said = synthetic(inputs, described)
        info["samples"] = "synthetic: " + "; ".join(f"{name}: {what}" for name, what in said.items())
        info["synthetic"] = True
    return first(feeds, inputs), files, info


def nudged(feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The feeds moved by one float32 ulp (integer inputs unchanged)."""
    return {
        name: np.nextafter(value, np.inf).astype(value.dtype) if _kind(value.dtype) == "float" else value
        for name, value in feeds.items()
    }


def noise_floor(golden: dict[str, np.ndarray], again: dict[str, np.ndarray]) -> dict[str, float]:
    """Per output, how far the source itself moves when its inputs move by one ulp."""
    floor = {}
    for name, value in golden.items():
        other = again.get(name)
        if other is None or other.shape != value.shape or not np.issubdtype(value.dtype, np.number):
            continue
        diff = np.abs(other.astype(np.float64) - value.astype(np.float64))
        floor[name] = float(diff.max()) if diff.size and np.all(np.isfinite(diff)) else 0.0
    return floor


def reference(out: Path, feeds: dict[str, np.ndarray], run, where: str, info: dict) -> tuple[dict, dict, dict]:
    """Golden outputs of the source (`run(feeds)`), its float32 noise floor, and the files written.
    `info`: what the samples are (reference_inputs).

    Returns (golden, files, noise floor per output)."""
    golden, floor = golden_and_floor(feeds, run, where, info)
    return golden, {**write_samples(out, feeds), **write_golden(out, golden)}, floor


def golden_and_floor(feeds: dict[str, np.ndarray], run, where: str, info: dict) -> tuple[dict, dict]:
    """The source's outputs on the samples (`run(feeds)`), checked (check_finite), and its noise floor."""
    golden = run(feeds)
    check_finite(golden, where, made_up=info.get("synthetic", True))
    return golden, noise_floor(golden, run(nudged(feeds)))


def check_finite(golden: dict[str, np.ndarray], where: str, made_up: bool = True) -> None:
    """Outputs that are not finite on made-up samples are refused (samples that do not fit the model, or
    corrupt weights); on the user's own samples they are the model's answer (log of 0, a mask of -inf),
    and the gate holds the target to the same values there."""
    for name, value in golden.items():
        if made_up and np.issubdtype(value.dtype, np.floating) and not np.all(np.isfinite(value)):
            raise StageError(
                f"{where}: output {name!r} is not finite on the samples; the model's weights may "
                f"be corrupt, or the samples do not fit it (see --input-range, --mean/--std)"
            )


def write_samples(out: Path, feeds: dict[str, np.ndarray]) -> dict:
    np.savez(out / "samples.npz", **feeds)
    return {"samples": "samples.npz"}


def write_golden(out: Path, golden: dict[str, np.ndarray]) -> dict:
    np.savez(out / "golden.npz", **golden)
    return {"golden": "golden.npz"}


def output_specs(
    golden: dict[str, np.ndarray], family: str = "channels_first", samples: int | None = None
) -> list[dict]:
    """The outputs' signature: one run's shape (golden joins `samples` runs' outputs on axis 0)."""
    specs = []
    for name, value in golden.items():
        lay = layouts.for_rank(family, value.ndim)
        shape = [int(d) for d in value.shape]
        if shape:
            shape[0] = 1 if samples is None else (shape[0] // samples if shape[0] % samples == 0 else shape[0])
        specs.append(
            {
                "name": name,
                "shape": shape,
                "dtype": str(value.dtype),
                "layout": lay,
                "source_layout": lay,
                "source_name": name,
            }
        )
    return specs


def to_target_layout(x: np.ndarray, spec: dict) -> np.ndarray:
    """A source-layout array as the target tensor `spec` wants it (NCHW sources, NHWC TFLite …)."""
    return layouts.relayout(x, spec.get("source_layout", spec.get("layout")), spec.get("layout"))


def to_source_layout(y: np.ndarray, spec: dict) -> np.ndarray:
    return layouts.relayout(y, spec.get("layout"), spec.get("source_layout", spec.get("layout")))


def apply_preprocess(arrays: dict[str, np.ndarray], preprocess: dict | None) -> dict[str, np.ndarray]:
    """What a caller must now do to raw inputs once surgery stripped the model's own preprocessing."""
    if not preprocess:
        return arrays
    out = dict(arrays)
    for name, step in preprocess.get("inputs", {}).items():
        out[name] = ((arrays[name] - np.float32(step["mean"])) * np.float32(step["scale"])).astype(np.float32)
    return out
