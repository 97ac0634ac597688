"""Open a TF SavedModel's serving signature."""
from __future__ import annotations

from stages.errors import StageError


def signature(path, name: str, key: str):
    import tensorflow as tf

    try:
        loaded = tf.saved_model.load(str(path))
    except (OSError, ValueError, RuntimeError) as exc:
        raise StageError(f"{name} is not a readable TF SavedModel: {str(exc).splitlines()[0]}") from None
    if key not in loaded.signatures:
        raise StageError(f"{name} has no signature {key!r}; it has {sorted(loaded.signatures)} "
                         f"(choose one with --signature)")
    return loaded, loaded.signatures[key]
