"""bench/pairs: the markdown table and its footnotes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Pair:
    """One row: a source -> target pair, its times and its parity (or why it has none)."""

    source: str
    target: str
    route: str
    modelferry_s: float | None
    bare_s: float | None
    parity: dict | None
    error: str = ""
    stages: str = ""  # the converter stages that made it (emit/onnx2tf → emit/savedmodel-tflite)


HEADER = (
    "source",
    "target",
    "route (stages)",
    "modelferry s",
    "bare converter s",
    "× bare",
    "max abs err",
    "cosine",
    "parity",
)


def _cosine(value: float) -> str:
    """Cosines this close to 1 print as 1.000000 whatever they are: show the distance from 1."""
    gap = 1.0 - value
    if gap <= 1e-15:
        return "1"
    return f"1 − {gap:.0e}" if gap < 1e-6 else f"{value:.6f}"


def _row(pair: Pair, notes: list[str]) -> list[str]:
    converters = pair.route.count("→")
    route = f"{pair.route} ({pair.stages})" if converters else f"{pair.route} (as loaded)"
    mf = f"{pair.modelferry_s:.1f}" if pair.modelferry_s is not None else "—"
    if not converters:
        bare = "— (none)"
    elif pair.bare_s is None:
        bare = "—"
    else:
        bare = f"{pair.bare_s:.1f}"
    ratio = f"{pair.modelferry_s / pair.bare_s:.1f}×" if pair.modelferry_s and pair.bare_s else "—"
    parity = pair.parity
    if parity:
        verdict = "pass" if parity.get("passed") else "FAIL"
        cells = [f"{parity['max_abs_err']:.1e}", _cosine(parity["cosine"])]
    else:
        verdict, cells = "error", ["—", "—"]
    if pair.error:
        notes.append(f"{pair.source} → {pair.target}: {pair.error}")
        verdict += f" [{len(notes)}]"
    return [pair.source, pair.target, route, mf, bare, ratio, *cells, verdict]


def _against_keras(pairs: list[Pair]) -> list[str]:
    """The issue's yardstick: modelferry's ONNX -> TFLite route against TF's own converter, by hand, on the
    same network from Keras."""
    by = {(p.source, p.target): p for p in pairs}
    onnx, keras = by.get(("onnx", "tflite")), by.get(("keras", "tflite"))
    if not (onnx and keras and onnx.modelferry_s and keras.bare_s):
        return []
    return [
        "",
        f"**ONNX → TFLite against TF's own converter:** modelferry's whole ONNX → TFLite route (load, "
        f"converters, validation) took {onnx.modelferry_s:.1f} s; TF's TFLiteConverter on the same network "
        f"from Keras, called by hand, {keras.bare_s:.1f} s: {onnx.modelferry_s / keras.bare_s:.1f}× "
        f"(issue 22's goal: at most 1.0×).",
    ]


def render(
    pairs: list[Pair],
    walls: dict[str, float],
    stages: dict[str, dict[str, float]],
    runtime: str,
    total_s: float,
    build_s: float,
    skipped: list[str],
) -> str:
    notes: list[str] = []
    rows = [_row(pair, notes) for pair in pairs]
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "|".join(" --- " for _ in HEADER) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    lines += [
        "",
        f"MobileNetV2 (224×224, random weights), fp32 targets only, `--runtime {runtime}`, a cold bundle cache per "
        f"source; 8 noise images (0–255) as reference inputs. Whole bench: {total_s / 60:.1f} min"
        + (f" (building the models: {build_s / 60:.1f} min)." if build_s else " (models built earlier)."),
        "",
        "**modelferry s** is the sum of the wall times of the stage processes on the target's route: load "
        "(process start, framework import, reading the model, the source framework's golden outputs on the 8 "
        "images), each converter stage, and the fp32 validation (the artifact run on the same images in its own "
        "runtime and compared with golden). Under the venv runtime each stage is a fork of its runtime's warm "
        "worker (MODELFERRY_WARM=off: a process of its own): a runtime's first stage in a run pays its framework "
        "import, the later ones do not. Steps shared between targets (load; e.g. the ONNX export that TFLite, "
        "SavedModel and TFJS go through) count in every pair that uses them, so a row is what converting to that "
        "target alone costs. "
        "Prefect's start-up and the flow's own bookkeeping are not in it; the convert run's wall time per "
        "source (all targets, orchestration included) was: "
        + ", ".join(f"{source} {seconds:.0f} s" for source, seconds in walls.items())
        + ".",
        "",
        "**bare converter s** is the sum over the route's hops of the same converter called once by hand "
        "(bench/bare/), in the same runtime, on the same input file the stage read; timed after imports and "
        "model loading, except the tf2onnx and tensorflowjs_converter command lines, timed as whole processes "
        "(their TF import included). onnx2tf.convert by hand writes the SavedModel and the TFLite file in one "
        "call: it is the bare converter of emit/onnx2tf, and of the TF converter that modelferry runs after it. "
        "“— (none)”: the target is the source's own format. "
        "**× bare** = modelferry s / bare converter s. Every number is one cold run, not a mean: onnx2tf's "
        "time alone varies by several seconds between runs, so ratios near 1 are within the noise.",
        "",
        "Parity: fp32 gate max abs err ≤ 1e-4 × max(1, max|golden|), worst output, against the source "
        "framework's outputs on the same 8 images.",
    ]
    lines += _against_keras(pairs)
    lines += ["", "Stage seconds per source (cold, in plan order):", ""]
    lines += [
        f"- {source}: " + ", ".join(f"{name} {seconds:.1f}" for name, seconds in times.items())
        for source, times in stages.items()
    ]
    if skipped:
        lines += ["", f"Not run: {', '.join(skipped)} (no stages/torch in this tree)."]
    if notes:
        lines += [""] + [f"[{index}] {note}" for index, note in enumerate(notes, 1)]
    return "\n".join(lines)
