"""Elementwise ONNX ops: unary maths, binary arithmetic with broadcasting, comparisons, activations."""

from __future__ import annotations

import tensorflow as tf

from stages.tfops.table import op

UNARY = {
    "Abs": tf.abs,
    "Neg": tf.negative,
    "Exp": tf.exp,
    "Log": tf.math.log,
    "Sqrt": tf.sqrt,
    "Reciprocal": tf.math.reciprocal,
    "Floor": tf.floor,
    "Ceil": tf.math.ceil,
    "Round": tf.round,
    "Sign": tf.sign,
    "Sin": tf.sin,
    "Cos": tf.cos,
    "Tan": lambda v: tf.sin(v) / tf.cos(v),
    "Asin": tf.asin,
    "Acos": tf.acos,
    "Atan": tf.atan,
    "Tanh": tf.tanh,
    "Sigmoid": tf.sigmoid,
    "Relu": tf.nn.relu,
    "Erf": tf.math.erf,
    "Softsign": tf.nn.softsign,
    "Not": tf.logical_not,
    "IsNaN": tf.math.is_nan,
    "Identity": tf.identity,
}


def _unary(fn):
    return lambda node, x: fn(x[0])


for _name, _fn in UNARY.items():
    op(_name)(_unary(_fn))


# Inverse hyperbolics and friends, in ops TFLite has as builtins
op("Sinh")(lambda node, x: (tf.exp(x[0]) - tf.exp(-x[0])) / 2)
op("Cosh")(lambda node, x: (tf.exp(x[0]) + tf.exp(-x[0])) / 2)
op("Asinh")(lambda node, x: tf.math.log(x[0] + tf.sqrt(x[0] * x[0] + 1)))
op("Acosh")(lambda node, x: tf.math.log(x[0] + tf.sqrt(x[0] * x[0] - 1)))
op("Atanh")(lambda node, x: 0.5 * tf.math.log((1 + x[0]) / (1 - x[0])))
op("Softplus")(lambda node, x: tf.math.log(tf.exp(x[0]) + 1))


def _same(a, b):
    """Two operands of one dtype (ONNX requires it; constants folded from numpy may be wider)."""
    return a, tf.cast(b, a.dtype) if b.dtype != a.dtype else b


# Element types TFLite's arithmetic and comparison kernels lack: computed in a wider type, cast back.
WIDER = {
    tf.uint8: tf.int32,
    tf.uint16: tf.int32,
    tf.uint32: tf.int64,
    tf.uint64: tf.int64,
    tf.int8: tf.int32,
    tf.int16: tf.int32,
    tf.float16: tf.float32,
    tf.float64: tf.float32,
}
LOGICAL = (tf.logical_and, tf.logical_or, tf.math.logical_xor)


# uint64 has no wider type and TFLite cannot cast it: its bits are read as int64 (TFLite's BITCAST). Adding,
# subtracting and multiplying give the same bits modulo 2**64; an order comparison flips where the signs differ.
MODULAR = (tf.add, tf.subtract, tf.multiply, tf.equal, tf.not_equal)
ORDERS = (tf.greater, tf.less, tf.greater_equal, tf.less_equal)


def _unsigned64(fn, a, b):
    ia, ib = tf.bitcast(a, tf.int64), tf.bitcast(b, tf.int64)
    if fn in ORDERS:
        return tf.math.logical_xor(fn(ia, ib), tf.math.logical_xor(ia < 0, ib < 0))
    result = fn(ia, ib)
    return tf.bitcast(result, tf.uint64) if result.dtype == tf.int64 else result


def widened(fn, keep_type: bool = True):
    """`fn` on operands widened where TFLite has no kernel for their type; the result in the operands'
    type again (`keep_type`), or as `fn` makes it (comparisons: bool)."""

    def wrapped(*operands):
        dtype = operands[0].dtype
        if dtype == tf.uint64 and len(operands) == 2 and fn in MODULAR + ORDERS:
            return _unsigned64(fn, *operands)
        wide = WIDER.get(dtype)
        if wide is None:
            return fn(*operands)
        result = fn(*[tf.cast(v, wide) for v in operands])
        return tf.cast(result, dtype) if keep_type else result

    return wrapped


def _binary(fn, keep_type: bool = True):
    call = fn if fn in LOGICAL else widened(fn, keep_type)

    def handler(node, x):
        a, b = _same(x[0], x[1])
        return call(a, b)

    return handler


BINARY = {
    "Add": tf.add,
    "Sub": tf.subtract,
    "Mul": tf.multiply,
    "And": tf.logical_and,
    "Or": tf.logical_or,
    "Xor": tf.math.logical_xor,
    "BitwiseXor": tf.bitwise.bitwise_xor,
}
for _name, _fn in BINARY.items():
    op(_name)(_binary(_fn))
COMPARISONS = {
    "Equal": tf.equal,
    "Greater": tf.greater,
    "Less": tf.less,
    "GreaterOrEqual": tf.greater_equal,
    "LessOrEqual": tf.less_equal,
}
for _name, _fn in COMPARISONS.items():
    op(_name)(_binary(_fn, keep_type=False))


@op("Div")
def div(node, x):
    a, b = _same(x[0], x[1])
    if not a.dtype.is_integer:
        return tf.divide(a, b)
    if a.dtype in (tf.int64, tf.uint32):
        return _divide_int64(a, b)
    return widened(lambda p, q: tf.raw_ops.Div(x=p, y=q))(a, b)  # TFLite's DIV: int32, truncating like ONNX


def _divide_int64(a, b):
    """a / b truncated, exact, for 64-bit integers: TFLite divides int64 in no kernel, but has int64 FLOOR_MOD,
    MUL and SUB. The remainder (truncated, the dividend's sign) is exact; the quotient of the exact multiple
    that is left is estimated in float32 and corrected with the exact error three times (each pass leaves
    2**-24 of the error: after three, under 1 for any int64)."""
    dtype = a.dtype
    if dtype != tf.int64:
        a, b = tf.cast(a, tf.int64), tf.cast(b, tf.int64)
    remainder = _truncated_mod(a, b)
    multiple = a - remainder
    quotient = tf.zeros_like(multiple)
    divisor = tf.cast(b, tf.float32)
    for _ in range(3):
        error = multiple - quotient * b
        quotient = quotient + tf.cast(tf.round(tf.cast(error, tf.float32) / divisor), tf.int64)
    return quotient if dtype == tf.int64 else tf.cast(quotient, dtype)


@op("Pow")
def power(node, x):
    base, exponent = x
    if base.dtype.is_floating:
        return tf.pow(base, tf.cast(exponent, base.dtype))
    return tf.cast(tf.pow(tf.cast(base, tf.float64), tf.cast(exponent, tf.float64)), base.dtype)


@op("Mod")
def mod(node, x):
    a, b = _same(x[0], x[1])
    if node.attr("fmod", 0):  # the sign of the dividend, like C's fmod
        return widened(_truncated_mod)(a, b)
    return widened(tf.math.floormod)(a, b)  # the sign of the divisor, like Python's %


def _truncated_mod(a, b):
    """C's fmod from the floored remainder (TFLite has FloorMod, not TruncateMod): where the floored one
    is not zero and its sign is not the dividend's, it is one divisor off."""
    floored = tf.math.floormod(a, b)
    zero = tf.zeros_like(floored)
    off = tf.logical_and(tf.not_equal(floored, zero), tf.not_equal(floored < zero, a < zero))
    return tf.where(off, floored - b, floored)


@op("BitwiseAnd", "BitwiseOr")
def bitwise_and_or(node, x):
    """From XOR, the one bitwise kernel TFLite has: a + b = (a ^ b) + 2 (a & b) and a | b = (a & b) + (a ^ b),
    exact in int32 for 8- and 16-bit types (wider ones keep TF's own op: TFLite divides no int64)."""
    a, b = _same(x[0], x[1])
    if a.dtype.size > 2:
        return (tf.bitwise.bitwise_and if node.op == "BitwiseAnd" else tf.bitwise.bitwise_or)(a, b)
    either = tf.cast(tf.bitwise.bitwise_xor(a, b), tf.int32)
    both = tf.math.floordiv(tf.cast(a, tf.int32) + tf.cast(b, tf.int32) - either, 2)
    return tf.cast(both if node.op == "BitwiseAnd" else both + either, a.dtype)


@op("BitwiseNot")
def bitwise_not(node, x):
    """~a as arithmetic (TFLite has no bitwise invert): -a - 1 for signed types, the type's largest value
    minus a for unsigned ones; exact, computed in int64."""
    a = x[0]
    if a.dtype == tf.uint64:
        return tf.bitwise.invert(a)
    value = tf.cast(a, tf.int64)
    inverted = (a.dtype.max - value) if a.dtype.is_unsigned else (-value - 1)
    return tf.cast(inverted, a.dtype)


@op("BitShift")
def bit_shift(node, x):
    """Unsigned shifts as arithmetic, which TFLite has kernels for: a << b = a * 2^b, a >> b = a // 2^b,
    wrapping to the type's width as ONNX does."""
    a, b = _same(x[0], x[1])
    wide = tf.int64
    power = tf.cast(tf.pow(2.0, tf.cast(b, tf.float32)), wide)  # powers of two are exact in float32
    value = tf.cast(a, wide)
    shifted = value * power if node.attr("direction") == "LEFT" else tf.math.floordiv(value, power)
    bits = a.dtype.size * 8
    return tf.cast(tf.math.floormod(shifted, tf.constant(2**bits, wide)) if bits < 64 else shifted, a.dtype)


def _variadic(fn):
    def handler(node, x):
        result = x[0]
        for other in x[1:]:
            result = fn(*_same(result, other))
        return result

    return handler


op("Max")(_variadic(widened(tf.maximum)))
op("Min")(_variadic(widened(tf.minimum)))
op("Sum")(_variadic(widened(tf.add)))


@op("Mean")
def mean(node, x):
    return _variadic(tf.add)(node, x) / tf.cast(len(x), x[0].dtype)


@op("IsInf")
def is_inf(node, x):
    """Beyond the type's largest finite value: TFLite's converter turns IsInf, and comparisons with an
    infinite constant, into ops that are false everywhere (seen with TF 2.21)."""
    value = x[0]
    largest = value.dtype.max
    positive, negative = node.attr("detect_positive", 1), node.attr("detect_negative", 1)
    if positive and negative:
        return tf.abs(value) > largest
    if positive:
        return value > largest
    return value < -largest if negative else tf.zeros_like(value, tf.bool)


@op("Clip")
def clip(node, x):
    value = x[0]
    low = x[1] if len(x) > 1 and x[1] is not None else node.attr("min")
    high = x[2] if len(x) > 2 and x[2] is not None else node.attr("max")
    if low is not None:
        value = tf.maximum(value, tf.cast(low, value.dtype))
    if high is not None:
        value = tf.minimum(value, tf.cast(high, value.dtype))
    return value


@op("LeakyRelu")
def leaky_relu(node, x):
    return tf.nn.leaky_relu(x[0], alpha=node.attr("alpha", 0.01))


@op("PRelu")
def prelu(node, x):
    a, slope = _same(x[0], x[1])
    return tf.where(a < 0, a * slope, a)


@op("Elu")
def elu(node, x):
    alpha = node.attr("alpha", 1.0)
    return tf.where(x[0] < 0, alpha * (tf.exp(x[0]) - 1), x[0])


@op("Celu")
def celu(node, x):
    alpha = node.attr("alpha", 1.0)
    return tf.maximum(x[0], 0.0) + tf.minimum(0.0, alpha * (tf.exp(x[0] / alpha) - 1))


@op("Selu")
def selu(node, x):
    alpha, gamma = node.attr("alpha", 1.67326319217681884765625), node.attr("gamma", 1.05070102214813232421875)
    return gamma * tf.where(x[0] > 0, x[0], alpha * (tf.exp(x[0]) - 1))


@op("ThresholdedRelu")
def thresholded_relu(node, x):
    return tf.where(x[0] > node.attr("alpha", 1.0), x[0], tf.zeros_like(x[0]))


@op("HardSigmoid")
def hard_sigmoid(node, x):
    return tf.clip_by_value(node.attr("alpha", 0.2) * x[0] + node.attr("beta", 0.5), 0.0, 1.0)


@op("HardSwish")
def hard_swish(node, x):
    return x[0] * tf.clip_by_value(x[0] / 6 + 0.5, 0.0, 1.0)


@op("Mish")
def mish(node, x):
    return x[0] * tf.tanh(tf.math.log(tf.exp(x[0]) + 1))


@op("Gelu", "com.microsoft:Gelu")
def gelu(node, x):
    """In the forms TFLite's converter fuses into its GELU builtin (Erf alone has none): tf.nn.gelu's for
    tanh, and ½x(1 + erf(x·(1/√2))) for the exact one (tf.nn.gelu's exact form uses Erfc, which TFJS
    lacks). com.microsoft's Gelu (ONNX Runtime's contrib op, in graphs ORT has optimized) is the exact one."""
    v = x[0]
    if node.attr("approximate", "none") == "tanh":
        return tf.nn.gelu(v, approximate=True)
    return 0.5 * v * (1 + tf.math.erf(v * tf.cast(0.7071067811865476, v.dtype)))


@op("Shrink")
def shrink(node, x):
    bias, lambd = node.attr("bias", 0.0), node.attr("lambd", 0.5)
    v = x[0]
    return tf.where(
        v < -lambd, v + tf.cast(bias, v.dtype), tf.where(v > lambd, v - tf.cast(bias, v.dtype), tf.zeros_like(v))
    )


@op("Where")
def where(node, x):
    a, b = _same(x[1], x[2])
    return tf.where(x[0], a, b)


@op("Cast")
def cast(node, x):
    from stages.tfops.ops.types import tf_dtype

    return tf.cast(x[0], tf_dtype(node.attr("to")))


@op("CastLike")
def cast_like(node, x):
    return tf.cast(x[0], x[1].dtype)
