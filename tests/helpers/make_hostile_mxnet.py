"""Test helper (mxnet runtime): hostile MXNet symbols, built at test time (see make_hostile_tf.py).

python make_hostile_mxnet.py OUT MARKERS CANARY
"""

import json
import sys
from pathlib import Path

import mxnet as mx

out, markers, canary = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
out.mkdir(parents=True, exist_ok=True)
data = mx.sym.Variable("data")
net = mx.sym.FullyConnected(data, num_hidden=4, name="fc")
module = mx.mod.Module(net, data_names=["data"], label_names=None)
module.bind(data_shapes=[("data", (1, 4))], for_training=False)
module.init_params(mx.init.Xavier())
arg, aux = module.get_params()
cases = []
for op, attrs, name in (
    ("Custom", {"op_type": "evil"}, "evil_custom"),
    ("_cvimread", {"filename": str(canary)}, "evil_imread"),
):
    graph = json.loads(net.tojson())
    fc = next(i for i, node in enumerate(graph["nodes"]) if node["name"] == "fc")
    graph["nodes"].append({"op": op, "name": name, "attrs": attrs, "inputs": [[fc, 0, 0]] if op == "Custom" else []})
    prefix = out / f"mxnet_{op.strip('_').lower()}"
    mx.model.save_checkpoint(str(prefix), 0, net, arg, aux)
    Path(f"{prefix}-symbol.json").write_text(json.dumps(graph))
    cases.append(
        {
            "file": f"{prefix}-symbol.json",
            "expect": [op, name],
            "args": ["--input-shape", "data:1,4"],
            "what": f"an MXNet symbol with {op}",
        }
    )
(out / "cases-mxnet.json").write_text(json.dumps(cases, indent=2))
print(f"{len(cases)} hostile models")
