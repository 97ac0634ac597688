"""The MIL op handlers, one module per group; importing this package registers them all."""

from stages.coreml.mil.ops import (  # noqa: F401
    activation,
    control,
    conv,
    elementwise,
    linear,
    normalization,
    pool,
    recurrent,
    reduction,
    resize,
    scatter,
    shape,
    unary,
)
from stages.coreml.mil.ops.registry import HANDLERS  # noqa: F401
