"""The real-model zoo: trained models that ship inside PyPI wheels, pinned by version and sha256."""
