"""Test helper (mxnet runtime): small MXNet checkpoints for the bad-input tests."""

import argparse

import mxnet as mx

parser = argparse.ArgumentParser()
parser.add_argument("kind", choices=["unsupported-op"])
parser.add_argument("prefix")
args = parser.parse_args()

data = mx.sym.Variable("data")
x = mx.sym.Convolution(data, num_filter=4, kernel=(3, 3), name="conv0")
x = mx.sym.cbrt(x, name="cube_root")  # no ONNX translation in mx2onnx
x = mx.sym.FullyConnected(x, num_hidden=3, name="fc")
module = mx.mod.Module(x, data_names=["data"], label_names=None)
module.bind(data_shapes=[("data", (1, 3, 8, 8))], for_training=False)
module.init_params(mx.init.Xavier())
arg, aux = module.get_params()
mx.model.save_checkpoint(args.prefix, 0, x, arg, aux)
