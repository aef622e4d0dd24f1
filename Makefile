# Every target sets itself up from a bare clone: a local venv, torch pinned to the CPU build.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install -q -c constraints.txt

.PHONY: test demo bench bench-codec bench-epr bench-scene bench-pack clean wheel

$(VENV)/.stamp: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) "torch==2.13.0"
	$(PIP) -e ".[dev]"
	touch $@

test: $(VENV)/.stamp
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(PY) -m pytest -q tests --durations=15

demo: $(VENV)/.stamp
	$(PY) -m apps.demo

bench: bench-codec bench-epr bench-scene bench-pack

bench-codec: $(VENV)/.stamp
	$(PIP) -e ".[bench]"
	$(PY) -m benchmarks.codec_bench

bench-epr: $(VENV)/.stamp
	$(PY) -m benchmarks.epr_bench

bench-scene: $(VENV)/.stamp
	$(PY) -m benchmarks.scene_bench --commit-results

bench-pack: $(VENV)/.stamp
	$(PY) -m benchmarks.pack_bench

# A wheel (and sdist) in dist/; the base install needs numpy + constriction only.
wheel: $(VENV)/.stamp
	$(PY) -m pip wheel -q --no-deps --no-build-isolation -w dist .

clean:
	rm -rf $(VENV) out runs .pytest_cache dist build
