"""The MXNet checkpoint made by emit/mxnet, run in MXNet (inference mode, batch 1 as it was built)."""

from __future__ import annotations

import numpy as np

from stages.bundle import Bundle
from stages.validate.runners import run_samples as feed


def run_samples(bundle: Bundle, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    from stages.mxnet import checkpoint

    symbol_path, params_path = bundle.file("symbol"), bundle.file("params")
    symbol = checkpoint.symbol_from_json(checkpoint.read_symbol_json(symbol_path), symbol_path)
    arg, aux = checkpoint.read_params(params_path)
    return feed(
        lambda inputs: checkpoint.run(symbol, arg, aux, inputs, where=symbol_path.name), bundle, feeds, batched=False
    )
