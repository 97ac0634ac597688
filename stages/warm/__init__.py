"""Warm runtime workers: a runtime's frameworks imported once, each stage run in a forked child."""
