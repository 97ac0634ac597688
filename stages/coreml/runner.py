"""The Core ML folder made by emit/coreml or quantize/coreml, run for validation by modelferry's MIL
interpreter (stages/coreml/mil): Core ML itself exists only on macOS. One sample per call, as the program's
shapes are fixed at one."""

from __future__ import annotations

import numpy as np

from stages.bundle import Bundle
from stages.coreml.mil.program import Program
from stages.validate.runners import run_samples as feed

VALIDATOR = "modelferry MIL interpreter (numpy, fp32 math)"
LATENCY_SKIPPED = "Core ML runs only on Apple's systems: modelferry's MIL interpreter's speed says nothing of theirs"


def run_samples(bundle: Bundle, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    program = Program(bundle.file("package"))

    def call(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return program.run(inputs)

    return feed(call, bundle, feeds, batched=False)
