"""A stage's cache key and its image's tag hash the stage's own code and what it imports, not all of
stages/: editing one framework's folder leaves the other frameworks' bundles and images as they were."""

from __future__ import annotations

import ast

from flows import STAGES_ROOT
from flows.code import closure, image_files
from flows.images import image_code
from stages import catalog


def names(files) -> set[str]:
    return {p.relative_to(STAGES_ROOT).as_posix() for p in files}


def test_a_stage_hashes_its_own_folder_and_what_it_imports_only():
    mxnet = names(closure("stages.mxnet.load"))
    assert "stages/mxnet/load.py" in mxnet and "stages/__main__.py" in mxnet and "stages/bundle.py" in mxnet
    assert not any(n.startswith(("stages/tfops/", "stages/tfjs/", "stages/onnx2tf/", "stages/torch/")) for n in mxnet)
    tfops = names(closure("stages.tfops.emit"))
    assert {"stages/tfops/ops/quantized.py", "stages/tfops/graph.py"} <= tfops  # registered on import
    tfjs = names(image_files(catalog.get("validate", "tfjs").modules))
    assert "stages/tfjs/run.js" in tfjs  # the JavaScript the TFJS runner starts comes with it
    openvino = names(image_files(catalog.get("validate", "openvino").modules))
    assert "stages/openvino/model.py" in openvino and "stages/validate/compare.py" in openvino
    assert not any(n.startswith(("stages/tfjs/", "stages/tflite/", "stages/savedmodel/")) for n in openvino)


def test_every_stages_import_in_an_images_code_is_in_that_image():
    """What an image copies is enough to import each of its stages: every `stages.…` module its files
    import is among them (checked by reading the files)."""
    for image in catalog.images():
        files = image_code(image)
        have = {
            p.relative_to(STAGES_ROOT).with_suffix("").as_posix().replace("/", ".").removesuffix(".__init__")
            for p in files
            if p.suffix == ".py"
        }
        for path in files:
            if path.suffix != ".py":
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("stages"):
                    assert node.module in have, f"{image}: {path} imports {node.module}, not in the image"
        declared = {f"stages/{catalog.home(i).split('.')[1]}/registry.py" for i in catalog.IMPLS if i.image == image}
        assert declared <= names(files), f"{image}: the registries of its stages are not all in it"
    assert not any(n.startswith("stages/tfops/") for n in names(image_code("mxnet")))


def test_what_a_file_imports_is_parsed_once_and_kept_by_its_content(tmp_path):
    """Each CLI call would parse every stage module (0.1 s): what a file imports is kept by its bytes'
    sha256 in MODELFERRY_HOME. A process with the kept answers finds the same code as one that parses; an
    answer kept for other bytes (the file as it was before an edit) is never used."""
    import hashlib
    import json
    import os
    import subprocess
    import sys

    every = (
        "import json; from flows.code import closure; "
        "print(json.dumps(sorted(str(p) for p in closure('stages.mxnet.load'))))"
    )
    env = {**os.environ, "MODELFERRY_HOME": str(tmp_path)}
    kept_path = tmp_path / "code-imports.json"

    def files() -> set[str]:
        return set(
            json.loads(
                subprocess.run(
                    [sys.executable, "-c", every], env=env, capture_output=True, text=True, check=True
                ).stdout
            )
        )

    parsed = files()
    kept = json.loads(kept_path.read_text())
    load = STAGES_ROOT / "stages" / "mxnet" / "load.py"
    key = f"{hashlib.sha256(load.read_bytes()).hexdigest()}:stages.mxnet"
    assert "stages.errors" in kept[key]
    assert files() == parsed  # from what was kept
    tfops = str(STAGES_ROOT / "stages" / "tfops" / "emit.py")
    kept_path.write_text(json.dumps({**kept, key: [*kept[key], "stages.tfops.emit"]}))
    assert tfops in files() - parsed  # it is read: a kept answer for these very bytes is believed
    other = {
        f"{'f' if name[0] != 'f' else 'e'}{name[1:]}": modules + ["stages.tfops.emit"] for name, modules in kept.items()
    }  # answers for other bytes only
    kept_path.write_text(json.dumps(other))
    assert files() == parsed
