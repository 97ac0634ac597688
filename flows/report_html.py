"""report.html: the same facts as report.json, for a person."""

from __future__ import annotations

from html import escape

from flows import report_svg as svg
from flows.units import latency_text, task_text

STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;padding:1.5em;max-width:1180px;color:#222}
h1{margin:.2em 0}h2{margin-top:1.6em;border-bottom:1px solid #ddd;padding-bottom:.2em}
table{border-collapse:collapse;margin:1em 0;width:100%;table-layout:fixed}
td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{background:#f3f3f3}.passed{color:#176317;font-weight:600}.failed{color:#b00020;font-weight:600}
code{background:#f6f6f6;padding:1px 4px;overflow-wrap:anywhere}.muted{color:#666}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(250px,1fr));gap:12px}
.card{border:1px solid #ccc;border-left:6px solid #2e7d32;border-radius:6px;padding:10px 12px}
.card.failed-card{border-left-color:#c62828}.card h3{margin:0 0 .3em;font-size:15px}
.card dl{margin:0;display:grid;grid-template-columns:auto 1fr;gap:2px 10px}.card dt{color:#666}.card dd{margin:0}
.plots{display:flex;flex-wrap:wrap;gap:12px;margin-top:12px}.plots svg{max-width:100%;height:auto;border:1px solid #eee}
details{margin:.3em 0}summary{cursor:pointer;color:#444}
"""


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return escape(str(value))


def _signature(specs: list[dict]) -> str:
    return "<br>".join(
        f"<code>{escape(s['name'])}</code> {escape(str(s['shape']))} {escape(s['dtype'])}"
        f"{' ' + escape(s['layout']) if s.get('layout') else ''}"
        + (
            " (in the artifact: <code>" + escape(s["name_in_artifact"]) + "</code>)"
            if s.get("name_in_artifact")
            else ""
        )
        for s in specs
    )


def _attempts(attempts: list[dict]) -> str:
    return "<br>".join(
        f"<span class='{'passed' if a['outcome'] == 'passed' else 'muted'}'>"
        f"{escape(a['outcome'])}</span>: "
        f"{escape(a['route'])}{' — ' + escape(a['reason']) if a.get('reason') else ''}"
        for a in attempts
    )


def _divergence(artifact: dict) -> str:
    d = artifact["divergence"]
    where = f"{escape(artifact['target'])}/{escape(artifact['precision'])}"
    if not d.get("layer"):
        return f"<p>{where}: no single diverging layer: {escape(d.get('why', ''))}</p>"
    after = "no tensor of its size" if d.get("error_after") is None else _fmt(d["error_after"])
    return (
        f"<p>{where}: first diverging layer <code>{escape(d['layer'])}</code> ({escape(d['op'])}), output "
        f"<code>{escape(d['output'])}</code>: relative error {_fmt(d['error_before'])} on its inputs, {after} "
        f"on its output (nearest tensor in the artifact: <code>{escape(str(d.get('artifact_tensor')))}</code>; "
        f"{d['reproduced']} of {d['compared']} tensors reproduced within {_fmt(d['threshold'])})</p>"
        + (
            f"<div class='plots'>{svg.curve(d['curve'], d['threshold'], where + ': relative error per layer')}</div>"
            if d.get("curve")
            else ""
        )
    )


def _latency(latency: dict | None) -> str:
    """Median and p90 of one sample's runs, on how many threads, and the peak memory of the process."""
    if not latency:
        return "–"
    memory = f"; peak memory {latency['peak_rss_mb']:,.0f} MB" if latency.get("peak_rss_mb") else ""
    if "median_ms" not in latency:
        return f"not measured: {escape(latency.get('skipped', ''))}{memory}"
    return (
        f"{escape(latency_text(latency))}, {latency['runs']} runs on {latency['threads']} "
        f"thread{'s' if latency['threads'] > 1 else ''}{memory}"
    )


def _card(a: dict) -> str:
    """One artifact at a glance: verdict, size, latency, its error against its gate."""
    p = a.get("parity")
    state = "passed" if a["published"] else "failed"
    facts = [("size", f"{a['bytes']:,} bytes" if "bytes" in a else "–"), ("latency", _latency(a.get("latency")))]
    if p:
        facts += [
            ("max abs err", f"{_fmt(p['max_abs_err'])} (gate: {escape(p['gate'])})"),
            ("cosine", _fmt(p["cosine"])),
        ]
        if p.get("task"):
            facts.append(("task", escape(task_text(p["task"]))))
    else:
        facts.append(("why", escape(a.get("reason", ""))))
    link = f'<a href="{escape(a["path"])}">{escape(a["path"])}</a>' if a["path"] else "not published"
    return (
        f"<div class='card{'' if a['published'] else ' failed-card'}'><h3>{escape(a['target'])} "
        f"{escape(a['precision'])} <span class='{state}'>{state}</span></h3><dl>"
        + "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in facts)
        + f"</dl><p>{link}</p></div>"
    )


def _size_and_latency(artifacts: list[dict]) -> str:
    made = [a for a in artifacts if a.get("parity")]
    names = [f"{a['target']} {a['precision']}" for a in made]
    size = svg.bars(
        [(n, a.get("bytes", 0) / 1e6, None, a["published"]) for n, a in zip(names, made, strict=True)], "size", "MB"
    )
    timed = [
        (n, a["latency"]["median_ms"], a["latency"]["p90_ms"], a["published"])
        for n, a in zip(names, made, strict=True)
        if (a.get("latency") or {}).get("median_ms") is not None
    ]
    latency = svg.bars(timed, "latency on this CPU (median, p90)", "ms")
    return f"<div class='plots'>{size}{latency}</div>" if size or latency else ""


def _output_plots(a: dict) -> str:
    """Per output: the artifact's values against the source's, and its errors' spread."""
    p = a.get("parity") or {}
    plots = []
    for name, output in (p.get("outputs") or {}).items():
        spread = output.get("distribution")
        if not spread:
            continue
        title = f"{a['target']} {a['precision']}: {name}"
        plots.append(svg.scatter(spread["points"], f"{title}, artifact against source", output.get("passed", False)))
        plots.append(svg.histogram(spread["error_counts"], spread["decades"], f"{title}, absolute errors"))
    return "".join(plots)


def _details(a: dict) -> str:
    """The rest of an artifact: signatures, every error measure, and its routes, folded."""
    p = a.get("parity")
    if not p:
        return ""
    rows = [
        ("inputs", _signature(a["inputs"])),
        ("outputs", _signature(a["outputs"])),
        ("max rel err", _fmt(p["max_rel_err"])),
        ("source's noise floor", _fmt(p.get("noise_floor", "–"))),
        ("top-1 agreement", _fmt(p.get("top1_agreement", "–"))),
        ("worst output", f"<code>{escape(p['worst_output'])}</code>"),
    ]
    table = "".join(f"<tr><th style='width:22%'>{name}</th><td>{value}</td></tr>" for name, value in rows)
    return (
        f"<details><summary>{escape(a['target'])} {escape(a['precision'])}: signature, errors, routes "
        f"({len(a.get('attempts', []))})</summary><table>{table}</table>"
        f"{_attempts(a.get('attempts', []))}</details>"
    )


def render(report: dict) -> str:
    status = report["status"]
    artifacts = report["artifacts"]
    located = "".join(_divergence(a) for a in artifacts if a.get("divergence"))
    stages = "".join(
        f"<tr><td>{escape(s['stage'])}/{escape(s['impl'])} {escape(s['label'])}</td>"
        f"<td>{'cached' if s['cached'] else _fmt(s['seconds']) + ' s'}</td></tr>"
        for s in report["stages"]
    )
    stages += "".join(
        f"<tr><td>{escape(s['stage'])}/{escape(s['impl'])} {escape(s['label'])}</td><td class='failed'>"
        f"failed{' (remembered from an earlier run)' if s['cached'] else ''}: "
        f"{escape(s['reason'])}</td></tr>"
        for s in report.get("failed_stages", [])
    )
    pre = report.get("preprocess")
    pre_html = (
        f"<p>Preprocessing stripped from the model — feed <code>(x - {_fmt(pre.get('mean'))}) × "
        f"{_fmt(pre.get('scale'))}</code> (removed: {escape(', '.join(pre.get('removed', [])))})</p>"
        if pre and "mean" in pre
        else ""
    )
    source = report["source"]
    error = (
        f"<p class='failed'>The run failed before any artifact was made: {escape(report['error'])}</p>"
        if report.get("error")
        else ""
    )
    trust = report.get("trust")
    trust_html = (
        f"<p class='failed'>Custom code trusted (--trust-custom-code): the model's own code ran unchecked"
        f"{': ' + escape(', '.join(trust.get('let_through', []))) if trust.get('let_through') else ''}</p>"
        if trust and trust.get("custom_code_trusted")
        else ""
    )
    outputs = "".join(_output_plots(a) for a in artifacts)
    return f"""<!doctype html><html><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>modelferry: {escape(report["model"])} — {status}</title><style>{STYLE}</style></head><body>
<h1>{escape(report["model"])} <span class="{status}">{status}</span></h1>
<p>Run <code>{escape(report["run_id"])}</code>, {escape(report["created_at"])}. Source: {escape(source["format"])},
sha256 <code>{escape(source["sha256"][:16])}…</code></p>{error}{trust_html}{pre_html}
<p>Samples: {escape((report.get("samples") or {}).get("samples", "not recorded"))}</p>
<h2>Artifacts</h2><div class="cards">{"".join(_card(a) for a in artifacts)}</div>
{_size_and_latency(artifacts)}
{('<h2>Outputs: the artifact against the source</h2><div class="plots">' + outputs + "</div>") if outputs else ""}
{("<h2>Where the failed artifacts diverge</h2>" + located) if located else ""}
<h2>Details</h2>{"".join(_details(a) for a in artifacts)}
<h2>Stages</h2><table><tr><th>stage</th><th>time</th></tr>{stages}</table>
</body></html>
"""
