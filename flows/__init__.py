"""The orchestrator: Prefect flows, runtimes, the bundle cache and object storage.

Never imports a deep-learning framework; stages run in their own runtimes.
"""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
STAGES_ROOT = REPO_ROOT  # the directory that holds the `stages` package
IMAGES_ROOT = REPO_ROOT / "images"
