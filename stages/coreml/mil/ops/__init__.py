"""The MIL op handlers, one module per group; importing this package registers them all."""
from stages.coreml.mil.ops import (activation, conv, elementwise, linear, normalization, pool, recurrent,  # noqa: F401
                                   reduction, resize, shape, unary)
from stages.coreml.mil.ops.registry import HANDLERS  # noqa: F401
