"""Zoo build step (tfjs runtime): nsfwjs' models as the model.json + weight shards their users once loaded.

    python bench/zoo/build_nsfwjs.py NSFWJS.tgz FOLDER

nsfwjs 4 ships each TFJS model as JavaScript modules (dist/models/<model>/model.min.js exports the
model.json object, each group1-shardNofM.min.js one shard as a base64 string) so that bundlers can carry
them. This evaluates each module in a bare Node.js `vm` context (no require, no process, no file access:
its value only) and writes FOLDER/nsfwjs/<model>/model.json and its shards under the names the manifest
gives them. The tarball is pinned by sha256 (bench/zoo/catalog.py); nothing of it is installed or run
otherwise.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

MODELS = ("mobilenet_v2", "mobilenet_v2_mid", "inception_v3")
VALUE = r"""
const fs = require('fs'), vm = require('vm');
const box = {module: {exports: {}}};
box.exports = box.module.exports;
vm.runInNewContext(fs.readFileSync(process.argv[2], 'utf8'), box, {timeout: 60000});
const value = box.module.exports;
if (typeof value === 'string') fs.writeFileSync(process.argv[3], Buffer.from(value, 'base64'));
else fs.writeFileSync(process.argv[3], JSON.stringify(value));
"""


def value_of(module: bytes, out: Path) -> None:
    """What a UMD module exports (an object as JSON, a string as the bytes it encodes in base64)."""
    with tempfile.TemporaryDirectory() as tmp:
        script, source = Path(tmp) / "value.js", Path(tmp) / "module.js"
        script.write_text(VALUE)
        source.write_bytes(module)
        subprocess.run(["node", str(script), str(source), str(out)], check=True, stdin=subprocess.DEVNULL)


def main() -> None:
    archive, folder = Path(sys.argv[1]), Path(sys.argv[2])
    with tarfile.open(archive) as tar:
        for name in MODELS:
            where = f"package/dist/models/{name}"
            target = folder / "nsfwjs" / name
            target.mkdir(parents=True, exist_ok=True)
            value_of(tar.extractfile(f"{where}/model.min.js").read(), target / "model.json")
            model = json.loads((target / "model.json").read_text())
            for shard in (p for group in model["weightsManifest"] for p in group["paths"]):
                value_of(tar.extractfile(f"{where}/{shard}.min.js").read(), target / shard)
            print(f"nsfwjs {name}: {target / 'model.json'}")


if __name__ == "__main__":
    main()
