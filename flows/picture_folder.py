"""A folder of pictures (JPEG, PNG) given as --samples or --calibration, decoded for the load stage.

Pictures are decoded here, in the orchestrator (Pillow), into an .npz of uint8
RGB arrays at their own sizes; the load stage resizes and normalizes them to
the model's input (stages/pictures.py), which only it knows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flows.errors import ConversionError

SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
LIMIT = 512  # pictures read from one folder (samples use 8; calibration rarely needs more)


def files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)[:LIMIT]


def decode(folder: Path, role: str, out: Path) -> Path:
    """`folder`'s pictures as `out` (.npz of HxWx3 uint8 RGB arrays, in file-name order)."""
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    found = files(folder)
    if not found:
        raise ConversionError("load", f"the {role} folder holds no pictures ({', '.join(SUFFIXES)})", file=str(folder))
    arrays: dict[str, Any] = {}
    for index, path in enumerate(found):
        try:
            with Image.open(path) as picture:
                arrays[f"picture_{index:04d}"] = np.asarray(picture.convert("RGB"), dtype=np.uint8)
        except (UnidentifiedImageError, OSError) as exc:
            raise ConversionError(
                "load", f"{path.name} in the {role} folder is not a readable picture: {exc}", file=str(path)
            ) from None
    np.savez(out, **arrays)
    return out
