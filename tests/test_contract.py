"""The manifest contract (stages/contract.py): what a stage writes carries its schema version, a bundle of
another version or of the wrong shape is refused by name, and the cache never finds one across versions."""

from __future__ import annotations

import json

import pytest

from flows.cache import BundleCache, stage_key
from stages import contract
from stages.bundle import MANIFEST, Bundle
from tests.conftest import REPO

SPEC = {"name": "x", "shape": [1, 3, 8, 8], "dtype": "float32", "source_name": "x", "layout": "NCHW"}


def _bundle(path, manifest: dict):
    path.mkdir()
    (path / MANIFEST).write_text(json.dumps(manifest))
    return path


def test_a_bundle_of_this_version_is_read(tmp_path):
    manifest = contract.stamped({"format": "onnx", "files": {"model": "m.onnx"}, "inputs": [SPEC], "outputs": []})
    assert manifest["schema_version"] == contract.SCHEMA_VERSION
    assert Bundle.read(_bundle(tmp_path / "b", manifest)).manifest["inputs"] == [SPEC]


@pytest.mark.parametrize(
    "manifest, said",
    [
        ({"format": "onnx", "files": {}}, "no schema version (before versions)"),
        ({"format": "onnx", "files": {}, "schema_version": contract.SCHEMA_VERSION + 1}, "written with schema 2"),
        (contract.stamped({"files": {}}), "has no 'format'"),
        (
            contract.stamped({"format": "onnx", "files": {}, "inputs": [{"name": "x", "dtype": "float32"}]}),
            "inputs[0] is not a tensor spec (name, shape, dtype)",
        ),
        (
            contract.stamped({"format": "onnx", "files": {}, "outputs": [{**SPEC, "shape": "1,3,8,8"}]}),
            "outputs[0]: 'shape' is str, not list",
        ),
        (contract.stamped({"format": "onnx", "files": ["m.onnx"]}), "'files' is list, not dict"),
    ],
)
def test_a_bundle_not_of_this_contract_is_refused_by_name(tmp_path, manifest, said):
    path = _bundle(tmp_path / "old", manifest)
    with pytest.raises(contract.ManifestError) as refused:
        Bundle.read(path)
    assert str(refused.value).startswith(f"bundle {path}") and said in str(refused.value)


def test_the_cache_key_holds_the_version(tmp_path, monkeypatch):
    """Bundles cached under another contract are not found: the stage runs anew instead of misreading them."""
    source = BundleCache(tmp_path / "bundles").put_source({"model": REPO / "README.md"}, {"format": "onnx"})
    key = stage_key("load", "onnx", {}, [source], "venv:x")
    monkeypatch.setattr("flows.cache.SCHEMA_VERSION", contract.SCHEMA_VERSION + 1)
    assert stage_key("load", "onnx", {}, [source], "venv:x") != key
    assert json.loads((source / MANIFEST).read_text())["schema_version"] == contract.SCHEMA_VERSION


def test_a_stage_reads_an_options_default_from_its_declaration(tmp_path):
    """The ONNX opset every export writes is declared once (stages/onnx/registry.py): a stage given no value
    reads the declaration's, not a copy of it."""
    from stages import catalog
    from stages.context import StageContext

    declared = next(d.option.default for d in catalog.OPTIONS if d.option.name == "opset")
    ctx = StageContext(impl=catalog.get("export", "keras"), config={}, inputs=[], out=tmp_path)
    assert ctx.option("opset") == declared == 13
    assert StageContext(impl=ctx.impl, config={"opset": 17}, inputs=[], out=tmp_path).option("opset") == 17
    assert ctx.option("no-such-option") is None and ctx.option("no-such-option", 3) == 3
