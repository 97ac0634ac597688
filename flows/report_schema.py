"""report.json's contract: the pydantic models of the report every conversion publishes (a run's report.json;
not a batch's, under _batches/, which flows/batch.py writes).

flows/report.py writes the report; `Report.model_validate(report)` checks one against this contract. Every
object of fixed keys forbids keys the contract does not name, and no value is coerced (a count written as
"3" is an error), so a field added to, renamed in or retyped by the writer fails the check until the models
here say so. Objects keyed by the user's names (outputs, inputs, source files) are dicts of models.

`schema_version` says which contract a report was written under: SCHEMA_VERSION, raised when the models
change what a report holds (a reader of the old contract would refuse the new reports, or misread them).

docs/report.schema.json is this contract as JSON Schema, made from the models, never edited by hand:
`.venv/bin/python -m flows.report_schema --write` writes it (without --write it is printed), and
tests/test_report_schema.py fails while the file and the models differ.

Version history:
  1: the first versioned report.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, Strict, StrictFloat, StrictInt, StrictStr, model_validator

SCHEMA_VERSION = 1
SCHEMA_FILE = Path(__file__).resolve().parent.parent / "docs" / "report.schema.json"

Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
# pairs: JSON has them as arrays, so a list is taken for the tuple (its items stay strict)
LayerError = Annotated[tuple[StrictStr, StrictFloat], Strict(False)]  # [layer, relative error]
ValuePair = Annotated[tuple[StrictFloat, StrictFloat], Strict(False)]  # [source's, artifact's]
ShapePair = Annotated[tuple[list[StrictInt], list[StrictInt]], Strict(False)]  # [source's, artifact's]


class Fixed(BaseModel):
    """An object of fixed keys: a key not named here is an error, and values are taken as they are
    (strict: no string read as a number, no number as a bool)."""

    model_config = ConfigDict(extra="forbid", strict=True)


# --- the source --------------------------------------------------------------------------------------------


class SourceFile(Fixed):
    """One file of the source, by its role (model, weights, symbol, params …)."""

    name: str
    sha256: Sha256


class BesideFile(Fixed):
    """A file the model names by a path relative to itself (ONNX external data, TFJS weight shards)."""

    sha256: Sha256


class ReadSavedModel(Fixed):
    """A SavedModel: the serving signature and the tags it was read with."""

    signature: str
    tags: list[str]
    saved_again: str | None = None  # a TF1 SavedModel read with other tags, saved again tagged serve


class ReadCheckpoint(Fixed):
    """A TF1 checkpoint, frozen for its outputs."""

    frozen: Literal["checkpoint"]
    outputs: list[str]
    nodes: int
    checkpoint_nodes: int


class ReadTfjsGraph(Fixed):
    """A TFJS graph model, rebuilt as a frozen GraphDef."""

    rebuilt: str
    golden: str
    nodes: int
    quantized_weights: list[str]


class ReadTfjsLayers(Fixed):
    """A TFJS layers model, rebuilt as a Keras .h5."""

    rebuilt: str
    golden: str
    layers: int
    quantized_weights: list[str]


class Source(Fixed):
    """The user's model: its format, one sha256 over its files, and each file's."""

    format: str
    name: str
    sha256: Sha256
    files: dict[str, SourceFile]  # by role
    beside: dict[str, BesideFile] | None = None  # by path relative to the model file
    read: Union[ReadSavedModel, ReadCheckpoint, ReadTfjsGraph, ReadTfjsLayers] | None = None  # where the load chose


# --- what the run started from -----------------------------------------------------------------------------


class Rename(Fixed):
    """A parameter renamed by surgery, with its node."""

    from_: str = Field(alias="from")
    to: str


class Surgery(Fixed):
    """The edits surgery made to the source (MXNet); empty where no surgery ran."""

    output_layer: str | None = None
    fix_gamma: list[str] | None = None  # BatchNorm nodes rewritten to gamma = 1
    renamed: list[Rename] | None = None


class Trust(Fixed):
    """What the source's allowlist check let through, or only whether --trust-custom-code was given."""

    custom_code_trusted: bool
    let_through: list[str] | None = None


class Samples(Fixed):
    """What the artifacts were compared on: the user's samples, the calibration set, or made-up ones."""

    samples: str
    synthetic: bool
    calibration: str | None = None  # where the calibration set came from, when one was given


class PreprocessStep(Fixed):
    """The scalar chain surgery stripped after an input, applied to the samples instead."""

    mean: float
    scale: float
    removed: list[str]  # its nodes


class PreprocessInput(PreprocessStep):
    """The stripped preprocessing of a model with one input, named."""

    input: str


class PreprocessInputs(Fixed):
    """The stripped preprocessing of several inputs, by input name."""

    inputs: dict[str, PreprocessStep]


# --- stages ------------------------------------------------------------------------------------------------


class Stage(Fixed):
    """A stage the run used, run or taken from the cache."""

    stage: str
    impl: str
    label: str  # what tells runs of one impl apart: fp16, int8 … ("" for none)
    seconds: float  # wall time (0 when cached)
    cached: bool
    started_at: float | None = None  # epoch seconds; absent for a cached stage
    cores: list[int] | None = None  # the CPU cores it ran on; absent for a cached stage


class FailedStage(Fixed):
    """A stage that failed (or whose failure on these inputs was remembered: cached)."""

    stage: str
    impl: str
    label: str
    cached: bool
    reason: str


# --- an artifact -------------------------------------------------------------------------------------------


class Quantization(Fixed):
    """A quantized tensor's scale and zero point."""

    scale: float
    zero_point: int


class Tensor(Fixed):
    """An input or output of the artifact, under the source model's name."""

    name: str
    shape: list[int]
    dtype: str
    layout: str | None  # NCHW, NHWC …; null for a tensor that is not image-like
    batch_axis: int | None = None
    source_dtype: str | None = None  # the source's dtype, where the artifact's differs
    note: str | None = None  # what was done to it on the way
    quantization: Quantization | None = None
    matched_by: str | None = None  # how it was matched to the source's tensor, where not by name
    name_in_artifact: str | None = None  # where the artifact renamed it


class DivergenceFound(Fixed):
    """The first layer where the artifact leaves the ONNX graph of its route."""

    layer: str
    op: str
    output: str  # the layer's output tensor compared
    error_before: float | None  # relative error of its inputs; null where not measurable
    error_after: float | None  # of its output; null where no artifact tensor has its size
    artifact_tensor: str | None  # the artifact's tensor nearest to that output
    compared: int  # ONNX tensors compared
    reproduced: int  # of them, those the artifact reproduces
    threshold: float  # the relative error that counts as reproduced
    method: str
    curve: list[LayerError] | None = None  # each layer's relative error in graph order (absent in older reports)


class DivergenceNotFound(Fixed):
    """Why no diverging layer was named: the comparison found none, failed, or the route has none."""

    layer: None
    why: str
    compared: int | None = None  # absent where no comparison ran
    reproduced: int | None = None
    threshold: float | None = None
    method: str | None = None
    curve: list[LayerError] | None = None


Divergence = Union[DivergenceFound, DivergenceNotFound]


class Attempt(Fixed):
    """One route of the artifact and what became of it (flows/routes.py)."""

    route: str
    outcome: Literal["passed", "stage failed", "missed its gate", "skipped", "not tried"]
    reason: str  # "" for a route that passed
    stage: str | None = None  # the stage that failed ("stage failed")
    divergence: Divergence | None = None  # where it left its ONNX graph ("missed its gate")


class Distribution(Fixed):
    """What report.html plots of one output."""

    points: list[ValuePair]  # [source, artifact] values, evenly spaced over the output
    error_counts: list[int]  # errors of zero, then per decade up to each of `decades`, then above
    decades: list[int]  # the decades' exponents


class OutputParity(Fixed):
    """One output of the artifact against the source's golden output."""

    max_abs_err: float  # 1e300 where not measurable (shapes differ, not finite)
    max_rel_err: float
    cosine: float
    passed: bool
    gate: str  # the gate it was held to
    top1_agreement: float | None = None  # a classifier-like output [samples, classes]
    noise_floor: float | None = None  # how far the source moves under a one-ulp nudge of its inputs
    distribution: Distribution | None = None
    shape_mismatch: ShapePair | None = None  # where the shapes differ
    non_finite: bool | None = None  # the artifact's output is not finite where the source's is


class ClassifyAgreement(Fixed):
    """--task classify on one output."""

    top1_agreement: float
    top5_agreement: float
    samples: int
    source_accuracy: float | None = None  # with --labels
    artifact_accuracy: float | None = None
    why_no_accuracy: str | None = None  # labels that do not fit the samples


class EmbedAgreement(Fixed):
    """--task embed on one output: the cosine of each sample's embeddings."""

    cosine_min: float
    cosine_median: float
    cosine_mean: float
    samples: int


class SegmentAgreement(Fixed):
    """--task segment on one output: the masks' intersection over union per sample."""

    mask_iou_min: float
    mask_iou_mean: float
    samples: int
    foreground: float | None = None  # the source's share of pixels not in class 0 (absent in older reports)


class SegmentBackground(Fixed):
    """--task segment where the source's masks are all background."""

    foreground: float
    why: str


class DetectAgreement(Fixed):
    """--task detect on one output: the source's boxes matched to the artifact's."""

    boxes: int
    boxes_matched: float
    score_delta_mean: float | None  # null where no box matched
    score_delta_max: float | None
    samples: int


class DetectNoBoxes(Fixed):
    """--task detect where the source scores no box."""

    boxes: int
    why: str


class NotMeasured(Fixed):
    """Why the task's agreement was not measured on an output (its shape does not fit the task)."""

    why: str


TASK_MEASURES = {
    "classify": (ClassifyAgreement,),
    "embed": (EmbedAgreement,),
    "segment": (SegmentAgreement, SegmentBackground),
    "detect": (DetectAgreement, DetectNoBoxes),
}


class TaskAgreement(Fixed):
    """Agreement on the task the user named (--task), per output."""

    task: Literal["classify", "embed", "segment", "detect"]
    outputs: dict[
        str,
        Union[
            ClassifyAgreement,
            EmbedAgreement,
            SegmentAgreement,
            SegmentBackground,
            DetectAgreement,
            DetectNoBoxes,
            NotMeasured,
        ],
    ]

    @model_validator(mode="after")
    def _of_the_task(self) -> TaskAgreement:
        """Each output measured by the task named, not another's."""
        fits = (*TASK_MEASURES[self.task], NotMeasured)
        wrong = [name for name, found in self.outputs.items() if not isinstance(found, fits)]
        if wrong:
            raise ValueError(f"outputs {wrong} are not measured as {self.task!r} measures them")
        return self


class Parity(Fixed):
    """The artifact against the source: its worst output's errors, and every output's."""

    max_abs_err: float
    max_rel_err: float
    cosine: float
    passed: bool
    worst_output: str
    gate: str  # the worst output's gate
    outputs: dict[str, OutputParity]  # by the source's output name
    top1_agreement: float | None = None
    noise_floor: float | None = None
    validator: str | None = None  # what ran the artifact, where its runner says
    task: TaskAgreement | None = None  # with --task


class LatencyMeasured(Fixed):
    """How fast the artifact ran on this CPU (batch 1), with its process's peak memory."""

    runs: int
    median_ms: float
    p90_ms: float
    threads: int
    peak_rss_mb: float | None  # null where the platform does not say


class LatencySkipped(Fixed):
    """Why the artifact was not timed here."""

    skipped: str
    peak_rss_mb: float | None


class Artifact(Fixed):
    """One target and precision: published or not, and why; the fields from `sha256` on are absent where no
    route made the artifact."""

    target: str
    precision: str
    path: str | None  # its name in the store; null where not published
    published: bool
    route: str | None  # the route that made it; null where none did
    attempts: list[Attempt]
    reason: str | None = None  # why not published
    divergence: Divergence | None = None  # where it left its ONNX graph, when it missed its gate
    sha256: Sha256 | None = None
    bytes: int | None = None
    inputs: list[Tensor] | None = None
    outputs: list[Tensor] | None = None
    parity: Parity | None = None
    legalized: dict[str, int] | None = None  # nodes each ONNX legalization pass rewrote
    latency: Union[LatencyMeasured, LatencySkipped] | None = None  # with --profile


# --- the report --------------------------------------------------------------------------------------------


class Report(Fixed):
    """report.json: what was converted, how close each artifact is to the source, what was published."""

    schema_version: int
    status: Literal["passed", "failed"]
    run_id: str
    created_at: str  # UTC, ISO 8601 to the second
    model: str  # its name in the store
    source: Source
    artifacts: list[Artifact]
    failed_targets: list[str]  # target/precision of each artifact not published
    surgery: Surgery
    stages: list[Stage]
    failed_stages: list[FailedStage]
    trust: Trust
    error: str | None = None  # why the whole run failed (nothing published)
    samples: Samples | None = None  # absent where the run failed before its samples were made
    preprocess: Union[PreprocessInput, PreprocessInputs] | None = None  # stripped by surgery


def schema_text() -> str:
    """docs/report.schema.json's text."""
    return json.dumps(Report.model_json_schema(), indent=2, sort_keys=True) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Print report.json's JSON Schema (--write: to docs/report.schema.json)."
    )
    parser.add_argument("--write", action="store_true", help=f"write it to {SCHEMA_FILE.name} in docs/")
    args = parser.parse_args()
    if args.write:
        SCHEMA_FILE.write_text(schema_text())
        print(f"wrote {SCHEMA_FILE}")
    else:
        print(schema_text(), end="")


if __name__ == "__main__":
    main()
