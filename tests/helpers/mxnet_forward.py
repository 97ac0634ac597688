"""Test helper (mxnet runtime): MXNet's own outputs for a checkpoint, optionally at an internal layer."""

import argparse

import mxnet as mx
import numpy as np

parser = argparse.ArgumentParser()
parser.add_argument("prefix")
parser.add_argument("inputs")
parser.add_argument("out")
parser.add_argument("--layer")
parser.add_argument("--print-param")
args = parser.parse_args()

symbol, arg, aux = mx.model.load_checkpoint(args.prefix, 0)
if args.layer:
    symbol = symbol.get_internals()[f"{args.layer}_output"]
with np.load(args.inputs, allow_pickle=False) as npz:
    feeds = {k: npz[k] for k in npz.files}
module = mx.mod.Module(symbol, data_names=list(feeds), label_names=None, context=mx.cpu())
module.bind(data_shapes=[(k, v.shape) for k, v in feeds.items()], for_training=False)
module.set_params(arg, aux, allow_missing=False, allow_extra=True)
module.forward(mx.io.DataBatch([mx.nd.array(v) for v in feeds.values()]), is_train=False)
outputs = {name: out.asnumpy() for name, out in zip(symbol.list_outputs(), module.get_outputs(), strict=True)}
extra = {"param": arg[args.print_param].asnumpy()} if args.print_param else {}
np.savez(args.out, **outputs, **extra)
