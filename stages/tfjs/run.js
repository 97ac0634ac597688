// Run a TFJS graph model in Node.js with @tensorflow/tfjs on its WebAssembly backend (XNNPACK, the .wasm
// files from the npm package, read from disk), else its pure-JS CPU backend.
//
//   node run.js REQUEST.json
//
// REQUEST.json: {"model": "<dir with model.json>", "json": "<its name, default model.json>", "out": "<dir>",
//                "runs": [{"<signature input>": {"file": "x.bin", "dtype": "float32", "shape": [..]}}, ...],
//                "outputs": ["<signature output>", ...], "layers": false}
// With "layers": true the model is a layers model (tf.loadLayersModel), its inputs named as its input
// layers (model.inputNames) and its outputs as its output layers (model.outputNames): each name asked
// for must be one of them.
// Input files hold the tensor's values, little-endian, row-major. The weights are read from
// disk through a custom IO handler (no fetch, no network). The model loads once; for each run and
// output this writes <out>/<run>_<index>.bin and finally <out>/outputs.json:
// {"backend": "wasm" | "cpu", "runs": [{"<name>": {"file", "dtype", "shape"}}, ...]}, one object per run.
// "backend" in the request ("wasm", the default, or "cpu"): where the wasm backend cannot run the model
// (a kernel it lacks), everything runs again on the CPU backend, and outputs.json says which ran.
// "profile" in the request ({"run": <one run, as in "runs">, "runs": N, "min_runs": M, "budget_ms": B}): after
// the runs, that run is timed on the loaded model, after one warm-up run, N times or until B ms have gone (at
// least M); outputs.json then also holds "profile": {"times_ms": [...], "threads": <the backend's>} and
// "peak_rss_mb" (this process's resident high-water mark).
// A failure exits 1 with "error: <reason>" as the last stderr line.
'use strict';
const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs');
require('@tensorflow/tfjs-backend-wasm');   // registers the 'wasm' backend; its .wasm files lie beside it

const ARRAYS = {float32: Float32Array, int32: Int32Array, bool: Uint8Array};

function readWeights(modelDir) {
  return async (manifest) => {
    const specs = [];
    const buffers = [];
    for (const group of manifest) {
      specs.push(...group.weights);
      for (const shard of group.paths) {
        buffers.push(fs.readFileSync(path.join(modelDir, shard)));
      }
    }
    const data = Buffer.concat(buffers);
    return [specs, data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)];
  };
}

async function loadModel(modelDir, jsonName, layers) {
  const json = JSON.parse(fs.readFileSync(path.join(modelDir, jsonName || 'model.json'), 'utf8'));
  const artifacts = await tf.io.getModelArtifactsForJSON(json, readWeights(modelDir));
  return (layers ? tf.loadLayersModel : tf.loadGraphModel)(tf.io.fromMemory(artifacts));
}

function named(names, wanted, what) {
  const missing = wanted.filter((name) => !names.includes(name));
  if (missing.length) throw new Error(`the model has no ${what} ${missing.join(', ')} (it has ${names.join(', ')})`);
}

// A graph model's outputs.
async function execute(model, inputs, outputs) {
  try {
    return model.execute(inputs, outputs);
  } catch (err) {  // graphs with control flow or dynamic shapes only run asynchronously
    if (!/executeAsync/.test(String(err && err.message))) throw err;
    return model.executeAsync(inputs, outputs);
  }
}

// A layers model's outputs, in the order asked for.
function predict(model, inputs, outputs) {
  if (!(model.inputNames && model.inputNames.length)) {  // a Sequential model: one input, one output, unnamed here
    if (Object.keys(inputs).length !== 1 || outputs.length !== 1) {
      throw new Error('a Sequential model takes one input and gives one output');
    }
    return [model.predict(Object.values(inputs)[0])];
  }
  named(model.inputNames, Object.keys(inputs), 'input');
  named(model.outputNames, outputs, 'output');
  const missing = model.inputNames.filter((name) => !(name in inputs));
  if (missing.length) throw new Error(`no value given for input ${missing.join(', ')}`);
  const ordered = model.inputNames.map((name) => inputs[name]);
  let results = model.predict(ordered.length === 1 ? ordered[0] : ordered);
  if (!Array.isArray(results)) results = [results];
  return outputs.map((name) => results[model.outputNames.indexOf(name)]);
}

function readTensor(dir, spec) {
  const Array = ARRAYS[spec.dtype];
  if (!Array) throw new Error(`input dtype ${spec.dtype} is not one of ${Object.keys(ARRAYS)}`);
  const bytes = fs.readFileSync(path.join(dir, spec.file));
  const copy = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  return tf.tensor(new Array(copy), spec.shape, spec.dtype);
}

async function outputsOf(model, request, inputs) {
  const results = request.layers ? predict(model, inputs, request.outputs)
    : await execute(model, inputs, request.outputs);
  return Array.isArray(results) ? results : [results];
}

function readInputs(dir, run) {
  const inputs = {};
  for (const [name, spec] of Object.entries(run)) inputs[name] = readTensor(dir, spec);
  return inputs;
}

// One run's time on the loaded model, as stages/validate/latency.py times the other runtimes' artifacts.
async function timed(model, request, dir, profile) {
  const inputs = readInputs(dir, profile.run);
  const once = async () => {
    const results = await outputsOf(model, request, inputs);
    for (const tensor of results) await tensor.data();   // the values are there: the run is over
    tf.dispose(results);
  };
  await once();   // warm-up: first-run allocations, kernel set-up
  const times = [];
  const started = process.hrtime.bigint();
  const spent = () => Number(process.hrtime.bigint() - started) / 1e6;
  while (times.length < profile.runs && (times.length < profile.min_runs || spent() < profile.budget_ms)) {
    const begun = process.hrtime.bigint();
    await once();
    times.push(Number(process.hrtime.bigint() - begun) / 1e6);
  }
  tf.dispose(Object.values(inputs));
  const wasm = tf.getBackend() === 'wasm' ? require('@tensorflow/tfjs-backend-wasm') : null;
  return {times_ms: times, threads: wasm && wasm.getThreadsCount ? wasm.getThreadsCount() : 1};
}

function peakRssMb() {
  const found = /VmHWM:\s+(\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return found ? Math.round(Number(found[1]) / 102.4) / 10 : null;
}

async function runAll(request, dir) {
  const model = await loadModel(request.model, request.json, request.layers);
  const all = [];
  for (let run = 0; run < request.runs.length; run++) {
    const inputs = readInputs(dir, request.runs[run]);
    const results = await outputsOf(model, request, inputs);
    const written = {};
    for (let i = 0; i < results.length; i++) {
      const tensor = results[i];
      const values = await tensor.data();
      const file = `${run}_${i}.bin`;
      fs.writeFileSync(path.join(request.out, file), Buffer.from(values.buffer, values.byteOffset, values.byteLength));
      written[request.outputs[i]] = {file, dtype: tensor.dtype, shape: tensor.shape};
    }
    tf.dispose([...Object.values(inputs), ...results]);
    all.push(written);
  }
  const profile = request.profile ? await timed(model, request, dir, request.profile) : null;
  model.dispose();
  return {runs: all, profile};
}

async function main(requestPath) {
  const request = JSON.parse(fs.readFileSync(requestPath, 'utf8'));
  const dir = path.dirname(requestPath);
  let backend = request.backend || 'wasm';
  let done;
  if (backend === 'wasm') {
    try {
      if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend did not start');
      done = await runAll(request, dir);
    } catch (err) {  // a kernel the wasm backend lacks: the CPU backend runs everything again
      process.stderr.write(`wasm backend: ${String(err && err.message || err).split('\n')[0]}; running on cpu\n`);
      backend = 'cpu';
    }
  }
  if (backend === 'cpu') {
    await tf.setBackend('cpu');
    done = await runAll(request, dir);
  }
  const measured = done.profile ? {profile: done.profile, peak_rss_mb: peakRssMb()} : {};
  fs.writeFileSync(path.join(request.out, 'outputs.json'), JSON.stringify({backend, runs: done.runs, ...measured}));
}

main(process.argv[2]).catch((err) => {
  process.stderr.write(`error: ${String(err && err.message || err).split('\n')[0]}\n`);
  process.exit(1);
});
