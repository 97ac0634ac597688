"""The MIL op handlers, one module per group; importing this package registers them all."""
from stages.coreml.mil.ops import (activation, control, conv, elementwise, linear, normalization, pool,  # noqa: F401
                                   recurrent, reduction, resize, scatter, shape, unary)
from stages.coreml.mil.ops.registry import HANDLERS  # noqa: F401
