"""The README's support matrix is the registry's: regenerated, it is the same text."""
from __future__ import annotations

from flows.matrix import readme_copy, support_matrix


def test_the_readmes_support_matrix_is_current():
    assert readme_copy() == support_matrix(), \
        "README.md's support matrix is stale: run `modelferry support-matrix --write`"


def test_the_matrix_names_every_source_target_and_stage_implementation():
    from stages import catalog

    text = support_matrix()
    assert all(f"| {source} |" in text for source in catalog.SOURCES)
    assert all(f"| {impl.stage} | {impl.name} | {impl.image} |" in text for impl in catalog.IMPLS)
    assert "| tflite | fp16, dynamic, int8 |" in text
