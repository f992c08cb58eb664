"""The LLM coder against a small in-process OpenAI-compatible server on loopback.

The fake server answers ``GET /v1/models`` and ``POST /v1/chat/completions`` like llama.cpp or
Ollama do; what it answers is set per test (``server.reply``), and it records every request.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from simap.batches import SUGGESTION_COLUMNS
from simap.cli import app
from simap.coding import coders
from simap.coding.llm import (
    SCORES,
    LLMCoder,
    answer_schema,
    build_system_prompt,
    is_local_endpoint,
    locate_quote,
    parse_answer,
    redact_url,
)
from simap.errors import BackendUnavailable, PermissionDenied
from simap.ingest.segment import segment_documents

MODEL = "fake-gemma"

DOCS = pd.DataFrame(
    [
        {
            "venture_id": "a",
            "field": "description",
            "text": "Health workers collect survey data on mobile phones.\n\nThe app shows the weather.",
        },
        {
            "venture_id": "b",
            "field": "description",
            "text": "A wiki of openly licensed lessons, written by volunteers, that anyone can reuse.",
        },
        {"venture_id": "c", "field": "description", "text": "We sell shoes."},
    ]
)


def keyword_model(system: str, user: str) -> dict[str, Any]:
    """A 'model' that codes by keyword and quotes the sentence holding the keyword."""
    codes = []
    for code, word in (("DATA", "survey"), ("OPEN", "wiki")):
        for sentence in re.split(r"(?<=\.)\s+|\n+", user):
            if word in sentence:
                codes.append({"code": code, "quote": sentence.strip(), "rationale": f"mentions {word}"})
                break
    return {"codes": codes}


class FakeLLM:
    """An OpenAI-compatible chat server on 127.0.0.1 with a scripted answer."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.statuses: list[int] = []  # HTTP statuses to answer first (then 200)
        self.reply = keyword_model  # (system, user) -> JSON object, or a str sent as is
        self.reject_response_format = False
        self.delay = 0.0
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return None

            def _send(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                if getattr(self, "counted", False):
                    # no longer in flight once the answer is ready: the client may send its next
                    # request as soon as it reads this one, before a `finally` here would run
                    with fake.lock:
                        fake.in_flight -= 1
                    self.counted = False
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path == "/v1/models":
                    self._send(200, {"object": "list", "data": [{"id": MODEL, "object": "model"}]})
                else:
                    self._send(404, {"error": {"message": "not found"}})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with fake.lock:
                    fake.requests.append(
                        {"path": self.path, "body": body, "auth": self.headers.get("Authorization")}
                    )
                    fake.in_flight += 1
                    self.counted = True
                    fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
                    status = fake.statuses.pop(0) if fake.statuses else 200
                try:
                    if fake.delay:
                        time.sleep(fake.delay)
                    if self.path != "/v1/chat/completions":
                        return self._send(404, {"error": {"message": "not found"}})
                    if status != 200:
                        return self._send(status, {"error": {"message": "busy"}}, {"Retry-After": "0"})
                    if fake.reject_response_format and "response_format" in body:
                        return self._send(400, {"error": {"message": "response_format is not supported"}})
                    system, user = (m["content"] for m in body["messages"])
                    answer = fake.reply(system, user)
                    content = answer if isinstance(answer, str) else json.dumps(answer)
                    self._send(
                        200,
                        {
                            "id": "chatcmpl-1",
                            "object": "chat.completion",
                            "model": body["model"],
                            "choices": [
                                {
                                    "index": 0,
                                    "message": {"role": "assistant", "content": content},
                                    "finish_reason": "stop",
                                }
                            ],
                            "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
                        },
                    )
                finally:
                    if getattr(self, "counted", False):
                        with fake.lock:
                            fake.in_flight -= 1
                        self.counted = False

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def chats(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"] == "/v1/chat/completions"]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def server():
    fake = FakeLLM()
    yield fake
    fake.close()


@pytest.fixture
def segments() -> pd.DataFrame:
    return segment_documents(DOCS)


def make(server: FakeLLM, tmp_path: Path, **params: Any) -> LLMCoder:
    params = {
        "base_url": server.base_url,
        "model": MODEL,
        "backoff": 0.01,
        "cache_dir": tmp_path / "cache",
    } | params
    return LLMCoder(**params)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- happy path ------------------------------------------------------------------------------------
def test_happy_path_codes_with_exact_quotes(server, tmp_path, tiny_codebook, segments) -> None:
    coder = make(server, tmp_path).fit(tiny_codebook)
    out = coder.predict(segments, documents=DOCS)
    assert list(out.columns) == SUGGESTION_COLUMNS
    assert len(out) == 3 * 2  # every venture x active code
    by = out.set_index(["venture_id", "code_id"])
    assert by.loc[("a", "DATA"), "score"] == SCORES["exact"]
    assert by.loc[("b", "OPEN"), "score"] == SCORES["exact"]
    assert by.loc[("c", "DATA"), "score"] == 0.0 and by.loc[("c", "DATA"), "evidence"] == []
    assert by.loc[("a", "OPEN"), "score"] == 0.0
    texts = DOCS.set_index("venture_id")["text"]
    ev = by.loc[("a", "DATA"), "evidence"][0]
    assert (
        texts["a"][ev["start"] : ev["end"]]
        == ev["text"]
        == "Health workers collect survey data on mobile phones."
    )
    assert ev["quote_check"] == "exact" and ev["rationale"] == "mentions survey" and "flag" not in ev
    # one request per venture, constrained to the answer schema
    assert len(server.chats) == 3
    body = server.chats[0]["body"]
    assert body["model"] == MODEL and body["temperature"] == 0.0 and body["seed"] == 0
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"] == answer_schema(["DATA", "OPEN"])
    system = body["messages"][0]["content"]
    assert "Definition: Collecting field data with mobile surveys." in system
    assert "Near misses" in system and "The app shows the weather." in system
    assert coder.run_stats()["requests"] == 3 and coder.run_stats()["exact"] == 2


def test_registered_as_coder_llm(server, tmp_path, tiny_codebook) -> None:
    assert "llm" in coders
    coder = coders.create("llm", base_url=server.base_url, model=MODEL, cache_dir=tmp_path).fit(tiny_codebook)
    assert isinstance(coder, LLMCoder) and coder.key == f"llm:{MODEL}"


def test_prompt_built_from_codebook_and_versioned(tiny_codebook) -> None:
    system = build_system_prompt(tiny_codebook)
    code = tiny_codebook.code("DATA")
    for text in (code.definition, *code.examples, *code.counter_examples):
        assert text in system
    assert "### DATA: Data collection (barrier)" in system and tiny_codebook.version in system
    a = LLMCoder(model="m").fit(tiny_codebook)
    b = LLMCoder(model="m", max_examples=1).fit(tiny_codebook)
    assert a.prompt_version == "llm-code-v1" and len(a.prompt_hash) == 12
    assert a.prompt_hash != b.prompt_hash  # the hash follows the prompt's content


def test_model_taken_from_the_endpoint_when_not_given(server, tmp_path, tiny_codebook) -> None:
    coder = make(server, tmp_path, model=None).fit(tiny_codebook)
    assert coder.model == MODEL and coder.key == f"llm:{MODEL}"


def test_api_key_sent_as_bearer_token(server, tmp_path, tiny_codebook, segments) -> None:
    make(server, tmp_path, api_key="sk-test").fit(tiny_codebook).predict(segments, documents=DOCS)
    assert server.chats[0]["auth"] == "Bearer sk-test"


def test_without_documents_the_text_is_rebuilt_from_sentences(
    server, tmp_path, tiny_codebook, segments
) -> None:
    out = make(server, tmp_path).fit(tiny_codebook).predict(segments)
    ev = out.set_index(["venture_id", "code_id"]).loc[("a", "DATA"), "evidence"][0]
    assert DOCS.set_index("venture_id")["text"]["a"][ev["start"] : ev["end"]] == ev["text"]


# -- quotes ----------------------------------------------------------------------------------------
def test_bad_quotes_are_repaired_and_flagged_or_dropped(server, tmp_path, tiny_codebook, segments) -> None:
    def paraphrasing(system: str, user: str) -> dict[str, Any]:
        if "survey" in user:  # right words, wrong case and spacing: repaired to the exact span
            return {
                "codes": [{"code": "DATA", "quote": "health workers  collect SURVEY data", "rationale": "r"}]
            }
        if "wiki" in user:  # a paraphrase: the nearest sentence, flagged fuzzy
            return {
                "codes": [
                    {
                        "code": "OPEN",
                        "quote": "A wiki of open lessons written by volunteers",
                        "rationale": "r",
                    }
                ]
            }
        # a quote that is nowhere in the text: the code is dropped
        return {"codes": [{"code": "DATA", "quote": "We collect blood samples in clinics"}]}

    server.reply = paraphrasing
    coder = make(server, tmp_path).fit(tiny_codebook)
    by = coder.predict(segments, documents=DOCS).set_index(["venture_id", "code_id"])
    texts = DOCS.set_index("venture_id")["text"]

    ev = by.loc[("a", "DATA"), "evidence"][0]
    assert ev["quote_check"] == "normalized" and ev["flag"] == "quote repaired"
    assert ev["text"] == "Health workers collect survey data" == texts["a"][ev["start"] : ev["end"]]
    assert ev["llm_quote"] == "health workers  collect SURVEY data"
    assert by.loc[("a", "DATA"), "score"] == SCORES["normalized"]

    ev = by.loc[("b", "OPEN"), "evidence"][0]
    assert ev["quote_check"] == "fuzzy" and ev["flag"] == "quote repaired" and ev["similarity"] >= 0.6
    assert ev["text"] == texts["b"]  # the whole (only) sentence
    assert by.loc[("b", "OPEN"), "score"] == SCORES["fuzzy"]

    assert by.loc[("c", "DATA"), "score"] == 0.0 and by.loc[("c", "DATA"), "evidence"] == []
    stats = coder.run_stats()
    assert (stats["normalized"], stats["fuzzy"], stats["dropped"]) == (1, 1, 1)


def test_every_quote_is_an_exact_substring_or_flagged(server, tmp_path, tiny_codebook, segments) -> None:
    out = make(server, tmp_path).fit(tiny_codebook).predict(segments, documents=DOCS)
    texts = DOCS.set_index("venture_id")["text"]
    for vid, evidence in zip(out["venture_id"], out["evidence"], strict=True):
        for ev in evidence:
            assert texts[vid][ev["start"] : ev["end"]] == ev["text"]
            assert ev["quote_check"] == "exact" or ev["flag"] == "quote repaired"


def test_unknown_codes_are_ignored(server, tmp_path, tiny_codebook, segments) -> None:
    server.reply = lambda s, u: {"codes": [{"code": "NOPE", "quote": "We sell shoes.", "rationale": ""}]}
    coder = make(server, tmp_path, use_schema=False).fit(tiny_codebook)
    out = coder.predict(segments, documents=DOCS)
    assert (out["score"] == 0).all() and coder.run_stats()["unknown_codes"] == 3


def test_locate_quote_levels() -> None:
    text = "We train nurses. Health workers collect survey data on mobile phones."
    fields = [("d", text)]
    sentences = [("d", 0, 16), ("d", 17, len(text))]
    assert locate_quote("train nurses", fields, sentences, 0.6).check == "exact"
    m = locate_quote("“Health workers collect survey data…”", fields, sentences, 0.6)
    assert m.check == "normalized" and text[m.start : m.end] == "Health workers collect survey data"
    m = locate_quote("Health staff gather survey data using mobile phones", fields, sentences, 0.6)
    assert m.check == "fuzzy" and (m.start, m.end) == (17, len(text))
    assert locate_quote("bananas are yellow and sweet", fields, sentences, 0.6) is None
    assert locate_quote("", fields, sentences, 0.6) is None


# -- answers without a schema ----------------------------------------------------------------------
def test_endpoint_without_response_format_falls_back_to_parsing(
    server, tmp_path, tiny_codebook, segments
) -> None:
    server.reject_response_format = True
    server.reply = lambda s, u: "Here you go:\n```json\n" + json.dumps(keyword_model(s, u)) + "\n```"
    coder = make(server, tmp_path, concurrency=1).fit(tiny_codebook)
    by = coder.predict(segments, documents=DOCS).set_index(["venture_id", "code_id"])
    assert by.loc[("a", "DATA"), "score"] == SCORES["exact"]
    assert coder.provenance()["output"] == "parsed"
    # the first request was refused, then every request went without response_format
    assert "response_format" in server.chats[0]["body"]
    assert all("response_format" not in r["body"] for r in server.chats[1:])


def test_parse_answer_is_lenient() -> None:
    item = {"code": "B2", "quote": "q", "rationale": "r"}
    assert parse_answer(json.dumps({"codes": [item]})) == [item]
    assert parse_answer("text before " + json.dumps({"codes": [item]}) + " after") == [item]
    assert parse_answer(json.dumps([{"id": "B2", "evidence": "q", "reason": "r"}])) == [item]
    assert parse_answer('{"codes": []}') == []
    with pytest.raises(ValueError):
        parse_answer("I cannot help with that.")


def test_unparseable_answer_codes_nothing_and_is_cached(server, tmp_path, tiny_codebook, segments) -> None:
    server.reply = lambda s, u: "no idea"
    coder = make(server, tmp_path).fit(tiny_codebook)
    assert (coder.predict(segments, documents=DOCS)["score"] == 0).all()
    assert coder.run_stats()["unparsed"] == 3
    # the same model, prompt, text, temperature and seed would answer the same: not asked again
    make(server, tmp_path).fit(tiny_codebook).predict(segments, documents=DOCS)
    assert len(server.chats) == 3


def test_answer_cut_off_at_max_tokens_keeps_its_complete_items() -> None:
    item = {"code": "DATA", "quote": "q", "rationale": "r"}
    cut = json.dumps({"codes": [item, item]})[:-20]
    assert parse_answer(cut) == [item]
    assert parse_answer('{"codes": [{"code": "DATA", "quote": "the first thing you need to') == []


# -- cache -----------------------------------------------------------------------------------------
def test_cache_hit_sends_no_second_request(server, tmp_path, tiny_codebook, segments) -> None:
    first = make(server, tmp_path).fit(tiny_codebook).predict(segments, documents=DOCS)
    assert len(server.chats) == 3
    again = make(server, tmp_path)
    second = again.fit(tiny_codebook).predict(segments, documents=DOCS)
    assert len(server.chats) == 3  # nothing sent
    assert again.run_stats()["cache_hits"] == 3 and again.run_stats()["requests"] == 0
    pd.testing.assert_frame_equal(first, second)
    # another model, prompt or text is another key
    make(server, tmp_path, model="other").fit(tiny_codebook).predict(segments, documents=DOCS)
    assert len(server.chats) == 6
    make(server, tmp_path, max_examples=1).fit(tiny_codebook).predict(segments, documents=DOCS)
    assert len(server.chats) == 9


def test_estimate_before_a_run(server, tmp_path, tiny_codebook, segments) -> None:
    coder = make(server, tmp_path, price_input_per_mtok=1.0, price_output_per_mtok=2.0).fit(tiny_codebook)
    est = coder.estimate(segments, DOCS)
    assert (est.ventures, est.cached, est.requests) == (3, 0, 3)
    assert est.prompt_tokens > 3 * len(coder.system_prompt_) / 5 and est.seconds > 0 and est.cost > 0
    assert "3 ventures" in str(est) and "local" in str(est)
    assert server.chats == []  # estimating sends nothing
    coder.predict(segments, documents=DOCS)
    est = coder.estimate(segments, DOCS)
    assert (est.cached, est.requests, est.cost, est.seconds) == (3, 0, 0.0, 0.0)


# -- failures --------------------------------------------------------------------------------------
def test_endpoint_down_raises_a_clear_error(tmp_path, tiny_codebook, segments) -> None:
    url = f"http://127.0.0.1:{closed_port()}/v1"
    coder = LLMCoder(base_url=url, model=MODEL, max_retries=1, backoff=0.01, cache_dir=tmp_path).fit(
        tiny_codebook
    )
    with pytest.raises(BackendUnavailable) as exc:
        coder.predict(segments, documents=DOCS)
    message = str(exc.value)
    assert url in message and "did not answer after 2 attempts" in message and "llama-server" in message
    assert coder.run_stats()["retries"] >= 1


def test_endpoint_down_when_asking_for_models(tmp_path, tiny_codebook) -> None:
    coder = LLMCoder(base_url=f"http://127.0.0.1:{closed_port()}/v1", max_retries=0, cache_dir=tmp_path)
    with pytest.raises(BackendUnavailable, match="SIMAP_LLM_BASE_URL"):
        coder.fit(tiny_codebook)


def test_retries_with_backoff_on_busy_endpoint(server, tmp_path, tiny_codebook, segments) -> None:
    server.statuses = [503, 429]
    coder = make(server, tmp_path, concurrency=1, max_retries=3).fit(tiny_codebook)
    out = coder.predict(segments, documents=DOCS)
    assert out.set_index(["venture_id", "code_id"]).loc[("a", "DATA"), "score"] == SCORES["exact"]
    assert coder.run_stats()["retries"] == 2 and len(server.chats) == 5


def test_gives_up_after_the_retries(server, tmp_path, tiny_codebook, segments) -> None:
    server.statuses = [503] * 10
    coder = make(server, tmp_path, concurrency=1, max_retries=2).fit(tiny_codebook)
    with pytest.raises(BackendUnavailable, match="HTTP 503"):
        coder.predict(segments, documents=DOCS)


def test_bad_key_is_a_permission_error(server, tmp_path, tiny_codebook, segments) -> None:
    server.statuses = [401]
    coder = make(server, tmp_path, concurrency=1).fit(tiny_codebook)
    with pytest.raises(PermissionDenied, match="SIMAP_LLM_API_KEY"):
        coder.predict(segments, documents=DOCS)


def test_concurrency_is_bounded(server, tmp_path, tiny_codebook) -> None:
    server.delay = 0.05
    docs = pd.DataFrame(
        [
            {"venture_id": f"v{i}", "field": "description", "text": f"Venture {i} runs a survey."}
            for i in range(8)
        ]
    )
    make(server, tmp_path, concurrency=2).fit(tiny_codebook).predict(segment_documents(docs), documents=docs)
    assert len(server.chats) == 8 and server.max_in_flight == 2


# -- data policy -----------------------------------------------------------------------------------
def test_local_endpoints() -> None:
    for url in (
        "http://127.0.0.1:8080/v1",
        "http://localhost:11434/v1",
        "http://[::1]:8000/v1",
        "http://10.1.2.3/v1",
        "http://192.168.0.5:1234/v1",
        "http://169.254.0.9/v1",
    ):
        assert is_local_endpoint(url), url
    for url in ("http://8.8.8.8/v1", "https://1.1.1.1/v1"):
        assert not is_local_endpoint(url), url
    assert redact_url("https://user:secret@host.example:8443/v1?x=1") == "https://host.example:8443/v1"


def test_hosted_endpoint_refused_unless_the_policy_allows_it(tmp_path, tiny_codebook) -> None:
    hosted = "https://8.8.8.8/v1"
    with pytest.raises(PermissionDenied, match=r"llm\.allow_hosted true"):
        LLMCoder(base_url=hosted, model=MODEL, cache_dir=tmp_path).fit(tiny_codebook)
    coder = LLMCoder(base_url=hosted, model=MODEL, allow_hosted=True, cache_dir=tmp_path).fit(tiny_codebook)
    assert coder.hosted and "hosted endpoints allowed" in coder.get_params()["data_policy"]


def test_hosted_refused_through_the_project(tmp_path, store, tiny_codebook) -> None:
    from simap.store.config import set_config

    with pytest.raises(PermissionDenied):
        coders.create("llm", store=store, base_url="https://8.8.8.8/v1", model=MODEL).fit(tiny_codebook)
    set_config(store, "llm.allow_hosted", "true")
    coder = coders.create("llm", store=store, base_url="https://8.8.8.8/v1", model=MODEL).fit(tiny_codebook)
    assert coder.allow_hosted


# -- configuration ---------------------------------------------------------------------------------
def test_configuration_precedence(monkeypatch, store, server) -> None:
    from simap.store.config import set_config

    monkeypatch.delenv("SIMAP_LLM_BASE_URL", raising=False)
    monkeypatch.delenv("SIMAP_LLM_MODEL", raising=False)
    monkeypatch.delenv("SIMAP_LLM_API_KEY", raising=False)
    set_config(store, "llm.base_url", "http://127.0.0.1:1/v1")
    set_config(store, "llm.model", "from-project")
    set_config(store, "llm.temperature", "0.2")
    coder = LLMCoder.from_project(store)
    assert (coder.base_url, coder.model, coder.temperature) == ("http://127.0.0.1:1/v1", "from-project", 0.2)
    assert coder.cache.directory == store.path.with_name(store.path.name + ".llm-cache")
    monkeypatch.setenv("SIMAP_LLM_BASE_URL", server.base_url)
    monkeypatch.setenv("SIMAP_LLM_MODEL", "from-env")
    monkeypatch.setenv("SIMAP_LLM_API_KEY", "sk-env")
    coder = LLMCoder.from_project(store)
    assert (coder.base_url, coder.model, coder.api_key) == (server.base_url, "from-env", "sk-env")
    coder = LLMCoder.from_project(store, model="from-flag", api_key="sk-flag")
    assert (coder.model, coder.api_key) == ("from-flag", "sk-flag")


def test_api_key_never_stored(store) -> None:
    from simap.errors import InvalidInput
    from simap.store.config import set_config

    with pytest.raises(InvalidInput, match="SIMAP_LLM_API_KEY"):
        set_config(store, "llm.api_key", "sk-secret")


def test_config_values_are_typed_and_logged(store) -> None:
    from simap.errors import InvalidInput
    from simap.store import repo
    from simap.store.config import describe_config, get_config, set_config, unset_config

    assert get_config(store, "llm.allow_hosted") is False
    assert set_config(store, "llm.allow_hosted", "yes") is True
    assert set_config(store, "llm.concurrency", "4") == 4
    rows = {r["key"]: r for r in describe_config(store)}
    assert rows["llm.allow_hosted"]["source"] == "project" and rows["llm.seed"]["source"] == "default"
    unset_config(store, "llm.concurrency")
    assert get_config(store, "llm.concurrency") == 2
    with pytest.raises(InvalidInput, match="valid settings"):
        set_config(store, "llm.nope", "1")
    with pytest.raises(InvalidInput, match="true or false"):
        set_config(store, "llm.allow_hosted", "maybe")
    events = repo.load_events(store)
    assert {"config_set", "config_unset"} <= set(events["action"])


# -- provenance, the pipeline and the CLI ----------------------------------------------------------
def test_provenance_on_every_suggestion(server, tmp_path, tiny_codebook, segments) -> None:
    coder = make(server, tmp_path, temperature=0.1, seed=7).fit(tiny_codebook)
    out = coder.predict(segments, documents=DOCS)
    expected = {
        "model": MODEL,
        "prompt_version": "llm-code-v1",
        "prompt_hash": coder.prompt_hash,
        "codebook": "tiny",
        "codebook_version": tiny_codebook.version,
        "temperature": 0.1,
        "seed": 7,
        "hosted": False,
        "output": "json_schema",
    }
    evidence = [ev for evs in out["evidence"] for ev in evs]
    assert len(evidence) == 2
    for ev in evidence:
        assert expected.items() <= ev["provenance"].items()
    assert expected.items() <= (coder.get_params() | {"codebook": "tiny"}).items()
    assert server.chats[0]["body"]["seed"] == 7 and server.chats[0]["body"]["temperature"] == 0.1


def _project_with_docs(tmp_path: Path) -> Path:
    src = tmp_path / "ventures.jsonl"
    with src.open("w") as f:
        for row in DOCS.to_dict("records"):
            f.write(
                json.dumps(
                    {"id": row["venture_id"], "name": row["venture_id"].upper(), "description": row["text"]}
                )
                + "\n"
            )
    return src


def test_project_code_uses_the_registry_and_stores_provenance(server, tmp_path, tiny_codebook) -> None:
    from simap.pipeline import Project
    from simap.store import repo

    with Project.open(tmp_path / "p.db") as proj:
        proj.import_path(_project_with_docs(tmp_path))
        result = proj.code(
            codebook=tiny_codebook, coder="llm", coder_params={"base_url": server.base_url, "model": MODEL}
        )
        assert result.coder == f"llm:{MODEL}" and result.suggestions == 6 and result.present == 2
        assert result.stats["coder"]["requests"] == 3
        run = repo.get_run(proj.store, result.run_id)
        assert run.model == f"llm:{MODEL}"
        for key in (
            "prompt_version",
            "prompt_hash",
            "codebook_version",
            "temperature",
            "seed",
            "data_policy",
        ):
            assert key in run.params
        assignments = repo.load_assignments(proj.store, tiny_codebook)
        assert set(assignments["coder"]) == {f"llm:{MODEL}"}
        meta = proj.report_meta(tiny_codebook, 0.5, True)
        assert "local endpoints only" in meta["LLM data policy"]
        # a re-run costs nothing
        again = proj.code(
            codebook=tiny_codebook, coder="llm", coder_params={"base_url": server.base_url, "model": MODEL}
        )
        assert again.stats["coder"]["requests"] == 0 and again.stats["coder"]["cache_hits"] == 3
        assert len(server.chats) == 3


def test_unknown_coder_lists_the_registry(tmp_path, tiny_codebook) -> None:
    from simap.errors import UnknownBackend
    from simap.pipeline import Project

    with Project.open(tmp_path / "p.db") as proj:
        proj.import_path(_project_with_docs(tmp_path))
        with pytest.raises(UnknownBackend, match="llm"):
            proj.code(codebook=tiny_codebook, coder="nope")


runner = CliRunner()


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_cli_code_with_llm_and_export_shows_the_model(server, tmp_path, tiny_codebook, monkeypatch) -> None:
    from simap.codebook import dump

    for var in ("SIMAP_LLM_BASE_URL", "SIMAP_LLM_MODEL", "SIMAP_LLM_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    db = str(tmp_path / "p.db")
    book = tmp_path / "tiny.yaml"
    book.write_text(dump(tiny_codebook, "yaml"), encoding="utf-8")
    invoke("import", str(_project_with_docs(tmp_path)), "-p", db)
    flags = [
        "--codebook",
        str(book),
        "--coder",
        "llm",
        "--llm-base-url",
        server.base_url,
        "--llm-model",
        MODEL,
    ]

    out = invoke("code", "-p", db, *flags, "--estimate")
    assert "3 ventures, 0 answers cached, 3 requests" in " ".join(out.split()) and server.chats == []

    out = " ".join(invoke("code", "-p", db, *flags).split())
    assert f"llm:{MODEL}" in out and "Coded 3 ventures" in out and "3 requests" in out
    assert out.index("LLM coder") < out.index("Coded")  # the estimate is printed first
    assert len(server.chats) == 3

    export = tmp_path / "codes.jsonl"
    invoke("export", "codes", "-p", db, "--out", str(export))
    rows = {r["id"]: r for r in map(json.loads, export.read_text().splitlines())}
    assert rows["a"]["codes"] == ["DATA"] and rows["b"]["codes"] == ["OPEN"] and rows["c"]["codes"] == []
    assert rows["a"]["details"]["DATA"]["coder"] == f"llm:{MODEL}"
    assert rows["a"]["details"]["DATA"]["evidence"][0]["text"].startswith("Health workers")

    # configured from the environment; the re-run is served from the cache
    monkeypatch.setenv("SIMAP_LLM_BASE_URL", server.base_url)
    monkeypatch.setenv("SIMAP_LLM_MODEL", MODEL)
    out = " ".join(invoke("code", "-p", db, "--codebook", str(book), "--coder", "llm").split())
    assert "3 answers cached, 0 requests" in out and "0 requests, 3 cached answers" in out
    assert len(server.chats) == 3

    html = tmp_path / "map.html"
    invoke("map", "-p", db, "--html", str(html))
    assert "LLM data policy" in html.read_text() and "local endpoints only" in html.read_text()


def test_cli_refuses_a_hosted_endpoint_until_allowed(tmp_path, tiny_codebook, monkeypatch) -> None:
    for var in ("SIMAP_LLM_BASE_URL", "SIMAP_LLM_MODEL"):
        monkeypatch.delenv(var, raising=False)
    db = str(tmp_path / "p.db")
    invoke("import", str(_project_with_docs(tmp_path)), "-p", db)
    args = [
        "code",
        "-p",
        db,
        "--coder",
        "llm",
        "--llm-base-url",
        "https://8.8.8.8/v1",
        "--llm-model",
        "m",
        "--estimate",
    ]
    result = runner.invoke(app, args)
    assert isinstance(result.exception, PermissionDenied)
    assert "set llm.allow_hosted = true" in invoke("config", "set", "llm.allow_hosted", "true", "-p", db)
    assert invoke("config", "get", "llm.allow_hosted", "-p", db).strip() == "true"
    assert "hosted" in invoke(*args)
    assert "llm.allow_hosted" in invoke("config", "list", "-p", db)
