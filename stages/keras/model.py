"""Open Keras files safely: no Lambda, no custom classes, unless the user trusts the file.

The config is read and checked before Keras sees the file, so the refusal
does not depend on which Keras version enforces safe mode for which format.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from stages.errors import StageError

SUFFIXES = (".keras", ".h5", ".hdf5")


def model_config(path: Path, name: str) -> dict:
    try:
        if path.suffix == ".keras":
            with zipfile.ZipFile(path) as archive:
                escaping = [
                    n
                    for n in archive.namelist()
                    if n.startswith(("/", "\\")) or ".." in n.replace("\\", "/").split("/") or ":" in n
                ]
                if escaping:  # Keras skips them today; a file that holds them was made to write elsewhere
                    raise StageError(
                        f"{name} holds zip members that point outside it ({', '.join(escaping[:3])}); refused"
                    )
                return json.loads(archive.read("config.json"))
        import h5py

        with h5py.File(path, "r") as handle:
            raw = handle.attrs.get("model_config")
            if raw is None:
                raise StageError(f"{name} is an HDF5 file without a Keras model (weights only?)")
            return json.loads(raw.decode() if isinstance(raw, bytes) else raw)
    except StageError:
        raise
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise StageError(
            f"{name} is not a readable Keras {path.suffix} file (truncated or another format): {exc}"
        ) from None


def unsafe_layers(config) -> list[str]:
    """Layers that would run code from the file: Lambda layers and classes outside Keras."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            cls, module = node.get("class_name"), node.get("module")
            name = (node.get("config") or {}).get("name", "?") if isinstance(node.get("config"), dict) else "?"
            if cls == "Lambda":
                found.append(f"{name} (Lambda)")
                return  # its function is the Lambda's own code, named once
            if cls == "__lambda__":  # a Python lambda stored as bytecode (an activation, say)
                found.append(f"{name} (a Python lambda)")
            elif cls and module and not str(module).startswith(("keras", "tf_keras", "builtins")):
                found.append(f"{name} ({module}.{cls})")
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(config)
    return found


def refuse_unsafe(config, name: str, trust_custom_code: bool) -> list[str]:
    """The layers that would run code from the file (unsafe_layers), refused unless the user trusts it."""
    risky = unsafe_layers(config)
    if risky and not trust_custom_code:
        raise StageError(
            f"{name} holds code that loading would run: {', '.join(risky[:5])}; refused in "
            f"safe mode. Pass --trust-custom-code only for files you trust"
        )
    return risky


def load(path: Path, name: str, trust_custom_code: bool):
    import keras

    refuse_unsafe(model_config(path, name), name, trust_custom_code)
    try:
        return keras.models.load_model(path, compile=False, safe_mode=not trust_custom_code)
    except (ValueError, TypeError, OSError) as exc:
        raise StageError(f"{name} does not load in Keras {keras.__version__}: {str(exc).splitlines()[0]}") from None
