"""The support matrix of docs/formats.md is the registry's: regenerated, it is the same text."""
from __future__ import annotations

from flows.matrix import doc_copy, support_matrix


def test_the_docs_support_matrix_is_current():
    assert doc_copy() == support_matrix(), \
        "docs/formats.md's support matrix is stale: run `modelferry support-matrix --write`"


def test_the_matrix_names_every_source_target_and_stage_implementation():
    from stages import catalog

    text = support_matrix()
    assert all(f"| {source} |" in text for source in catalog.SOURCES)
    assert all(f"| {impl.stage} | {impl.name} | {impl.image} |" in text for impl in catalog.IMPLS)
    assert "| tflite | fp16, dynamic, int8 |" in text
