"""report.html: the same facts as report.json, for a person."""
from __future__ import annotations

from html import escape

from flows.units import latency_text

STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}
th{background:#f3f3f3}.passed{color:#176317;font-weight:600}.failed{color:#b00020;font-weight:600}
code{background:#f6f6f6;padding:1px 4px}.muted{color:#666}
"""


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return escape(str(value))


def _signature(specs: list[dict]) -> str:
    return "<br>".join(f"<code>{escape(s['name'])}</code> {escape(str(s['shape']))} {escape(s['dtype'])}"
                       f"{' ' + escape(s['layout']) if s.get('layout') else ''}"
                       f"{' (in the artifact: <code>' + escape(s['name_in_artifact']) + '</code>)' if s.get('name_in_artifact') else ''}"
                       for s in specs)


def _attempts(attempts: list[dict]) -> str:
    return "<br>".join(f"<span class='{'passed' if a['outcome'] == 'passed' else 'muted'}'>{escape(a['outcome'])}</span>: "
                       f"{escape(a['route'])}{' — ' + escape(a['reason']) if a.get('reason') else ''}" for a in attempts)


def _divergence(artifact: dict) -> str:
    d = artifact["divergence"]
    where = f"{escape(artifact['target'])}/{escape(artifact['precision'])}"
    if not d.get("layer"):
        return f"<p>{where}: no single diverging layer: {escape(d.get('why', ''))}</p>"
    after = "no tensor of its size" if d.get("error_after") is None else _fmt(d["error_after"])
    return (f"<p>{where}: first diverging layer <code>{escape(d['layer'])}</code> ({escape(d['op'])}), output "
            f"<code>{escape(d['output'])}</code>: relative error {_fmt(d['error_before'])} on its inputs, {after} on its "
            f"output (nearest tensor in the artifact: <code>{escape(str(d.get('artifact_tensor')))}</code>; "
            f"{d['reproduced']} of {d['compared']} tensors reproduced within {_fmt(d['threshold'])})</p>")


def _latency(latency: dict | None) -> str:
    """Median and p90 of one sample's runs, on how many threads, and the peak memory of the process."""
    if not latency:
        return "–"
    memory = f"; peak memory {latency['peak_rss_mb']:,.0f} MB" if latency.get("peak_rss_mb") else ""
    if "median_ms" not in latency:
        return f"not measured: {escape(latency.get('skipped', ''))}{memory}"
    return (f"{escape(latency_text(latency))}, {latency['runs']} runs on {latency['threads']} "
            f"thread{'s' if latency['threads'] > 1 else ''}{memory}")


def render(report: dict) -> str:
    status = report["status"]
    rows = []
    for a in report["artifacts"]:
        state = "passed" if a["published"] else "failed"
        link = f'<a href="{escape(a["path"])}">{escape(a["path"])}</a>' if a["path"] else "not published"
        p = a.get("parity")
        measured = (f"<td>{a['bytes']:,}</td><td>{_latency(a.get('latency'))}</td>"
                    f"<td>{_signature(a['inputs'])}</td><td>{_signature(a['outputs'])}</td>"
                    f"<td>{_fmt(p['max_abs_err'])}</td><td>{_fmt(p.get('noise_floor', '–'))}</td>"
                    f"<td>{_fmt(p['max_rel_err'])}</td><td>{_fmt(p['cosine'])}</td>"
                    f"<td>{_fmt(p.get('top1_agreement', '–'))}</td><td>{escape(p['gate'])}</td>") if p else \
            f"<td colspan='10'>no route made it: {escape(a.get('reason', ''))}</td>"
        worst = f"<code>{escape(p['worst_output'])}</code>" if p else "–"
        rows.append(
            f"<tr><td>{escape(a['target'])}</td><td>{escape(a['precision'])}</td><td>{link}</td>{measured}"
            f"<td class='{state}'>{state}</td><td>{worst}</td><td>{_attempts(a.get('attempts', []))}</td></tr>")
    located = "".join(_divergence(a) for a in report["artifacts"] if a.get("divergence"))
    stages = "".join(f"<tr><td>{escape(s['stage'])}/{escape(s['impl'])} {escape(s['label'])}</td>"
                     f"<td>{'cached' if s['cached'] else _fmt(s['seconds']) + ' s'}</td></tr>"
                     for s in report["stages"])
    stages += "".join(f"<tr><td>{escape(s['stage'])}/{escape(s['impl'])} {escape(s['label'])}</td><td class='failed'>"
                      f"failed{' (remembered from an earlier run)' if s['cached'] else ''}: {escape(s['reason'])}</td></tr>"
                      for s in report.get("failed_stages", []))
    pre = report.get("preprocess")
    pre_html = (f"<p>Preprocessing stripped from the model — feed <code>(x - {_fmt(pre.get('mean'))}) × "
                f"{_fmt(pre.get('scale'))}</code> (removed: {escape(', '.join(pre.get('removed', [])))})</p>"
                if pre and "mean" in pre else "")
    source = report["source"]
    error = (f"<p class='failed'>The run failed before any artifact was made: {escape(report['error'])}</p>"
             if report.get("error") else "")
    trust = report.get("trust")
    trust_html = (f"<p class='failed'>Custom code trusted (--trust-custom-code): the model's own code ran unchecked"
                  f"{': ' + escape(', '.join(trust.get('let_through', []))) if trust.get('let_through') else ''}</p>"
                  if trust and trust.get("custom_code_trusted") else "")
    return f"""<!doctype html><html><head><meta charset="utf-8">
<title>modelferry: {escape(report['model'])} — {status}</title><style>{STYLE}</style></head><body>
<h1>{escape(report['model'])} <span class="{status}">{status}</span></h1>
<p>Run <code>{escape(report['run_id'])}</code>, {escape(report['created_at'])}. Source: {escape(source['format'])},
sha256 <code>{escape(source['sha256'][:16])}…</code></p>{error}{trust_html}{pre_html}
<p>Samples: {escape((report.get('samples') or {}).get('samples', 'not recorded'))}</p>
<h2>Artifacts</h2>
<table><tr><th>target</th><th>precision</th><th>file</th><th>bytes</th><th>latency on this CPU</th><th>inputs</th><th>outputs</th>
<th>max abs err</th><th>source's noise floor</th><th>max rel err</th><th>cosine</th><th>top-1 agreement</th><th>gate</th><th>parity</th>
<th>worst output</th><th>routes (the first that passed made it)</th></tr>{''.join(rows)}</table>
{('<h2>Where the failed artifacts diverge</h2>' + located) if located else ''}
<h2>Stages</h2><table><tr><th>stage</th><th>time</th></tr>{stages}</table>
</body></html>
"""
