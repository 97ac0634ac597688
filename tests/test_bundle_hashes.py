"""A finished bundle keeps its files' sha256 beside it (written once, when it is committed): a report names its
artifacts' hashes from them, the same as hashing the files again would give, for a file and for a folder."""

from __future__ import annotations

from flows.cache import FILES, BundleCache, bundle_sha256, content_sha256_in
from stages.bundle import MANIFEST, content_sha256


def test_a_bundle_answers_for_its_files_hashes_as_the_files_would(tmp_path):
    cache = BundleCache(tmp_path / "bundles")
    scratch = cache.scratch("k" * 64)
    (scratch / MANIFEST).write_text("{}")
    (scratch / "model.tflite").write_bytes(b"\x00tflite")
    for relative in ("saved/saved_model.pb", "saved/variables/variables.index", "saved/variables/v-1", "saved-x/y"):
        (scratch / relative).parent.mkdir(parents=True, exist_ok=True)
        (scratch / relative).write_bytes(relative.encode() * 3)
    bundle = cache.commit(scratch, "k" * 64)
    assert bundle.with_name(bundle.name + FILES).is_file()
    for inside in ("model.tflite", "saved", "saved/variables", "saved-x"):
        assert content_sha256_in(bundle, bundle / inside) == content_sha256(bundle / inside), inside
    assert bundle_sha256(bundle) == content_sha256(bundle)
    (bundle.with_name(bundle.name + FILES)).unlink()  # a bundle committed before the sidecar existed
    assert content_sha256_in(bundle, bundle / "saved") == content_sha256(bundle / "saved")
