"""The MIL op handlers, one module per group; importing this package registers them all."""
from stages.coreml.mil.ops import (activation, conv, elementwise, linear, normalization, pool, reduction,  # noqa: F401
                                   resize, shape, unary)
from stages.coreml.mil.ops.registry import HANDLERS  # noqa: F401
