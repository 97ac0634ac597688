"""A source is one folder: each framework's registry declares how its files are recognised (stages/sources.py),
and flows/source.py, flows/remote.py and flows/mlflow_registry.py read only that (no framework runs here)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flows.errors import ConversionError
from flows.mlflow_registry import find_model
from flows.source import resolve
from stages import catalog, sources
from stages.sources import Found, Source


def touch(path: Path, text: str = "x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "name, fmt",
    [
        ("m.onnx", "onnx"),
        ("m.keras", "keras"),
        ("m.h5", "keras"),
        ("m.hdf5", "keras"),
        ("frozen.pb", "graphdef"),
        ("m.tflite", "tflite"),
        ("m.pt", "torchscript"),
        ("m.pth", "torchscript"),
        ("m.jit", "torchscript"),
        ("m.torchscript", "torchscript"),
        ("m.pt2", "torch-export"),
    ],
)
def test_a_files_suffix_names_its_format(tmp_path, name, fmt):
    found = resolve(touch(tmp_path / name))
    assert found.format == fmt and found.files == {"model": tmp_path / name}


def test_a_savedmodel_is_its_folder_or_its_saved_model_pb(tmp_path):
    touch(tmp_path / "sm" / "saved_model.pb")
    for pointed in (tmp_path / "sm", tmp_path / "sm" / "saved_model.pb"):
        found = resolve(pointed)
        assert (found.format, found.files, found.name) == ("savedmodel", {"model": tmp_path / "sm"}, "sm")
    with pytest.raises(ConversionError, match="neither TF1 checkpoint .* nor TF SavedModel"):
        resolve(touch(tmp_path / "empty" / "notes.txt").parent)


def test_an_mxnet_checkpoint_from_its_symbol_its_params_or_its_prefix(tmp_path):
    symbol = touch(tmp_path / "r50-symbol.json", json.dumps({"nodes": [], "heads": []}))
    touch(tmp_path / "r50-0003.params")
    touch(tmp_path / "r50-0007.params")
    want = {"symbol": symbol, "params": tmp_path / "r50-0007.params"}
    assert resolve(tmp_path / "r50-0007.params").files == want
    assert resolve(tmp_path / "r50", {"epoch": 7}).files == want
    assert resolve(symbol, {"epoch": 7}).name == "r50"
    with pytest.raises(ConversionError, match=r"several epochs \(r50-0003.params, r50-0007.params\); pick one"):
        resolve(symbol)
    mxnet = next(s for s in catalog.SOURCE_KINDS if s.format == "mxnet")
    assert mxnet.needs(symbol) == ("r50-[0-9][0-9][0-9][0-9].params",)


def test_an_unknown_file_is_refused_naming_what_is_read(tmp_path):
    with pytest.raises(ConversionError) as caught:
        resolve(touch(tmp_path / "model.caffemodel2"))
    assert "modelferry does not read '.caffemodel2' files; sources are" in str(caught.value)
    assert "ONNX (.onnx)" in str(caught.value) and "TF SavedModel (a folder with saved_model.pb)" in str(caught.value)


def sniffing_sources():
    """Two formats answering one suffix, told apart by content, as an MXNet symbol and a TFJS model.json are."""
    symbol = Source("sym", "sym-file", "symbol", ("*.json",), sniff=lambda p: b'"nodes"' in sources.head(p))
    graph = Source(
        "graph",
        "graph-file",
        "graph model",
        ("*.json",),
        sniff=lambda p: b'"modelTopology"' in sources.head(p),
        resolve=lambda p, o: Found({"model": p, "weights": p.with_name("w.bin")}, "g"),
    )
    return (symbol, graph)


def test_where_suffixes_collide_the_content_tells(tmp_path):
    both = sniffing_sources()
    assert sources.choose(touch(tmp_path / "a.json", '{"nodes": []}'), both).format == "sym"
    assert sources.choose(touch(tmp_path / "b.json", '{"modelTopology": {}}'), both).format == "graph"
    with pytest.raises(sources.SourceError, match="it is neither symbol .* nor graph model"):
        sources.choose(touch(tmp_path / "c.json", '{"other": 1}'), both)


def test_a_file_no_format_recognises_goes_to_the_one_whose_name_it_has(tmp_path):
    """`model-symbol.json` that is no symbol is MXNet's to refuse (its load names what is wrong), not a
    guess between MXNet and TFJS."""
    symbol, graph = sniffing_sources()
    named = Source("sym", "sym-file", "symbol", ("*-symbol.json",), sniff=symbol.sniff)
    assert sources.choose(touch(tmp_path / "m-symbol.json", '{"model": 1}'), (named, graph)).format == "sym"


def test_a_registry_version_holds_one_model_found_by_the_declarations(tmp_path):
    root = tmp_path / "version"
    touch(root / "model" / "saved_model.pb")
    touch(root / "model" / "variables" / "variables.index")
    touch(root / "MLmodel")
    touch(root / "requirements.txt")
    assert find_model(root, "models:/m/1") == root / "model"
    touch(root / "extra" / "net-symbol.json", '{"nodes": []}')
    touch(root / "extra" / "net-0000.params")
    with pytest.raises(ConversionError, match="several model files"):
        find_model(root, "models:/m/1")
