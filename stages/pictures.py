"""Image inputs: pictures resized and normalized to the model's input, and image-like synthetic samples.

The orchestrator decodes a folder of JPEG/PNG files into an .npz of uint8 RGB
arrays (flows/picture_folder.py); here they are resized to the input's
height and width (bilinear, numpy only: every runtime has numpy), put in the
channel order the model expects, normalized as `(pixel - mean) / std` with
the user's --mean/--std (in 0-255 pixel units) and laid out as the input is.
"""

from __future__ import annotations

import numpy as np

from stages.errors import StageError

LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def resize(picture: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinear resize of an HxWxC float array (pixel centres aligned, as OpenCV and PIL do)."""
    h, w = picture.shape[:2]
    ys = np.clip((np.arange(height) + 0.5) * h / height - 0.5, 0, h - 1)
    xs = np.clip((np.arange(width) + 0.5) * w / width - 0.5, 0, w - 1)
    y0, x0 = np.floor(ys).astype(int), np.floor(xs).astype(int)
    y1, x1 = np.minimum(y0 + 1, h - 1), np.minimum(x0 + 1, w - 1)
    wy, wx = (ys - y0)[:, None, None], (xs - x0)[None, :, None]
    top = picture[y0][:, x0] * (1 - wx) + picture[y0][:, x1] * wx
    bottom = picture[y1][:, x0] * (1 - wx) + picture[y1][:, x1] * wx
    return top * (1 - wy) + bottom * wy


def channel_axis(spec: dict) -> int | None:
    """The channel axis of an image-like input (4-D float, batch first, 1 or 3 channels), else None."""
    lay = spec.get("source_layout") or spec.get("layout")
    if len(spec["shape"]) != 4 or not lay or np.dtype(spec["dtype"]).kind != "f" or spec.get("batch_axis", 0) != 0:
        return None
    axis = lay.index("C")
    return axis if spec["shape"][axis] in (1, 3) else None


def looks_like_image(spec: dict) -> bool:
    return channel_axis(spec) is not None


def _geometry(spec: dict) -> tuple[int, int, int, int]:
    """(channel axis, channels, height, width) of a 4-D image input, in its source layout."""
    axis = channel_axis(spec)
    if axis is None:
        raise StageError(f"input {spec['name']!r} {spec['shape']} is not an image input (4-D with 1 or 3 channels)")
    spatial = [d for i, d in enumerate(spec["shape"]) if i not in (0, axis)]
    return axis, spec["shape"][axis], spatial[0], spatial[1]


def _channels(pixels: np.ndarray, channels: int, order: str = "rgb") -> np.ndarray:
    """HxWx3 RGB pixels as the input's channels: grey (luma), RGB or BGR."""
    if channels == 1:
        return (pixels @ LUMA)[..., None]
    return pixels[..., ::-1] if order == "bgr" else pixels


def _laid_out(pixels: np.ndarray, axis: int) -> np.ndarray:
    """HxWxC -> CxHxW where the input is channels-first."""
    return np.moveaxis(pixels, -1, 0) if axis == 1 else pixels


def _normalized(pixels: np.ndarray, spec: dict, norm: dict) -> np.ndarray:
    """HxWx3 RGB pixels (0-255) -> the input's channels, order, normalization and layout (C first or last)."""
    axis, channels, _, _ = _geometry(spec)
    pixels = _channels(pixels, channels, norm.get("channel_order", "rgb"))
    mean = np.asarray(norm.get("mean") or [0.0], dtype=np.float32)
    std = np.asarray(norm.get("std") or [1.0], dtype=np.float32)
    for values, what in ((mean, "--mean"), (std, "--std")):
        if values.size not in (1, channels):
            raise StageError(f"{what} has {values.size} values; input {spec['name']!r} has {channels} channels")
    return _laid_out((pixels - mean) / std, axis)


def described(norm: dict) -> str:
    parts = []
    if norm.get("mean") or norm.get("std"):
        parts.append(f"(pixel - {norm.get('mean') or [0]}) / {norm.get('std') or [1]}")
    if norm.get("channel_order") == "bgr":
        parts.append("BGR")
    return ", ".join(parts)


def inputs(
    arrays: dict[str, np.ndarray], specs: list[dict], described_inputs: dict, where: str
) -> tuple[dict[str, np.ndarray], str]:
    """The pictures of a folder as the model's one image input; returns ({name: samples}, what they are)."""
    images = [spec for spec in specs if looks_like_image(spec)]
    if len(images) != 1:
        raise StageError(
            f"a folder of pictures fits a model with one image input (4-D, 1 or 3 channels); "
            f"{where} gives pictures, and the model's inputs are "
            f"{[(s['name'], s['shape']) for s in specs]}"
        )
    spec = images[0]
    norm = described_inputs.get("normalize") or {}
    _, _, height, width = _geometry(spec)
    pictures = [arrays[key].astype(np.float32) for key in sorted(arrays)]
    if not pictures:
        raise StageError(f"{where} holds no pictures")
    span = _span(spec, described_inputs)
    batch = np.stack([_prepared(resize(p, height, width), spec, norm, span) for p in pictures]).astype(spec["dtype"])
    how = _how(norm, span)
    return {spec["name"]: batch}, f"{len(pictures)} pictures resized to {height}x{width}" + (f", {how}" if how else "")


def _span(spec: dict, described_inputs: dict) -> tuple[float, float] | None:
    """The input's --input-range, where the user gave no --mean/--std: pixels are then scaled into it."""
    return _scaled_into(
        described_inputs.get("normalize") or {}, (described_inputs.get("input_ranges") or {}).get(spec["name"])
    )


def _scaled_into(norm: dict, span) -> tuple[float, float] | None:
    """The range pixels are scaled into: the --input-range, unless --mean/--std say how to normalize them."""
    return None if span is None or norm.get("mean") or norm.get("std") else (float(span[0]), float(span[1]))


def _prepared(pixels: np.ndarray, spec: dict, norm: dict, span: tuple[float, float] | None) -> np.ndarray:
    """HxWx3 RGB pixels (0-255) as the input takes them: scaled into `span`, else normalized (--mean/--std)."""
    if span is None:
        return _normalized(pixels, spec, norm)
    axis, channels, _, _ = _geometry(spec)
    lo, hi = span
    return lo + _laid_out(_channels(pixels, channels, norm.get("channel_order", "rgb")), axis) / 255.0 * (hi - lo)


def _how(norm: dict, span: tuple[float, float] | None) -> str:
    if span is None:
        return described(norm)
    bgr = ["BGR"] if norm.get("channel_order") == "bgr" else []
    return ", ".join([f"scaled to [{span[0]:g}, {span[1]:g}]", *bgr])


def synthetic(spec: dict, shape: tuple[int, ...], rng, span, norm: dict) -> tuple[np.ndarray, str]:
    """Smooth random pictures (low-frequency colour fields, as natural images are) in 0-255, then
    normalized like real pictures; or scaled into the user's --input-range."""
    axis, channels, height, width = _geometry(spec)
    count = shape[0]
    made = []
    for _ in range(count):
        coarse = rng.uniform(0, 255, (4, 4, 3)).astype(np.float32)
        picture = resize(coarse, height, width) + rng.normal(0, 8, (height, width, 3)).astype(np.float32)
        made.append(np.clip(picture, 0, 255))
    span = _scaled_into(norm, span)
    batch = np.stack([_prepared(p, spec, norm, span) for p in made]).astype(spec["dtype"])
    how = _how(norm, span)
    if span is not None:
        return batch, f"smooth synthetic pictures {how}"
    return batch, "smooth synthetic pictures, 0-255" + (f", {how}" if how else "")
