"""The support matrix of docs/formats.md: current with the registry, and true of real conversions.

Its routes are checked against real runs where they happen: each source's end-to-end test compares the
route that made every fp32 artifact with the matrix's cell (`routes_as_documented`, tests/conftest.py):
test_onnx_source_to_tflite, the Keras, SavedModel, MXNet, GraphDef, TFLite, TorchScript and torch.export
source tests, and the Caffe LeNet to every target."""

from __future__ import annotations

from flows.matrix import doc_copy, support_matrix
from stages import catalog
from tests.conftest import documented_routes, routes_as_documented


def test_the_docs_support_matrix_is_current():
    assert doc_copy() == support_matrix(), (
        "docs/formats.md's support matrix is stale: run `modelferry support-matrix --write`"
    )


def test_the_docs_matrix_has_a_cell_for_every_source_and_target():
    cells = documented_routes()
    assert set(cells) == {(source, target) for source in catalog.SOURCES for target in catalog.TARGETS}
    assert cells[("onnx", "onnx")] == ("", 0)  # the source itself


def _report(route: str, attempts: int, published: bool = True, quantized: bool = False) -> dict:
    artifact = {
        "target": "tflite",
        "precision": "fp32",
        "published": published,
        "route": route,
        "attempts": [{"route": route, "outcome": "passed", "reason": ""}] * attempts,
    }
    return {
        "source": {"format": "mxnet"},
        "artifacts": [artifact] + ([{**artifact, "precision": "int8"}] if quantized else []),
    }


def test_a_real_runs_route_that_is_not_the_documented_one_is_named():
    route, fallbacks = documented_routes()[("mxnet", "tflite")]
    assert routes_as_documented(_report(f"load/mxnet → surgery/mxnet → {route}", fallbacks + 1)) == []
    fallback = "load/mxnet → surgery/mxnet → export/mxnet → emit/onnx2tf → emit/savedmodel-tflite"
    (wrong,) = routes_as_documented(_report(fallback, fallbacks + 1))
    assert wrong.startswith("tflite: made by 'export/mxnet → emit/onnx2tf → emit/savedmodel-tflite'") and route in wrong
    assert routes_as_documented(_report(fallback, fallbacks + 1, quantized=True)) == []  # its quantizer's route
    assert routes_as_documented(_report(f"load/mxnet → {route}", fallbacks))  # a route more or less
    assert routes_as_documented(_report(f"load/mxnet → {route}", fallbacks + 1, published=False))
