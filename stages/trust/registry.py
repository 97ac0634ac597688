"""The trust policy's option: every source's graph is checked against its format's allowlist before any
framework runs it; this flag is the one way past, and the report says it was used."""

from stages.options import ANY, Option

IMPLS = ()
OPTIONS = (
    Option(
        "trust_custom_code",
        "flag",
        "Run what the model file holds without checking it: Keras Lambda layers "
        "and custom objects, and graph ops outside the format's allowlist (files, network, processes, Python "
        "callbacks). Only for files you trust; the report records it.",
        stages=("load", "export", "emit"),
        formats=ANY,
    ),
)
