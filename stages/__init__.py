"""Stage implementations. Each runs as a process inside its own runtime:

    python -m stages <stage> <impl> --config config.json --in DIR ... --out DIR

Nothing here imports from `flows/`; the orchestrator reads `catalog.py`
(pure Python, no framework imports) to know what exists and where it runs.
"""
