"""The LLM coder: codes ventures with a chat model behind an OpenAI-compatible endpoint.

Ollama, the llama.cpp server, vLLM, LM Studio and hosted services all speak the OpenAI chat API
(``POST {base_url}/chat/completions``). The coder sends one request per venture:

- the **system prompt** is built from the codebook (definitions, "code when", "do not code
  when", examples and near misses) with the versioned template ``prompts/<PROMPT_VERSION>.md``;
  its SHA-256 (with the answer schema) is the *prompt hash*;
- the **user message** is the venture's text, field by field;
- the answer is constrained to a JSON schema (``response_format`` ``json_schema``): a list of
  ``{code, quote, rationale}``. An endpoint that rejects ``response_format`` is asked again
  without it, and the answer is then parsed leniently (code fences, text around the JSON).

Every quote is checked against the venture text. An exact substring is evidence as it is; a
quote that matches after normalising case, spaces and typographic quotes is *repaired* to the
exact span; otherwise the most similar sentence of the venture (difflib ratio at least
``min_similarity``) becomes the evidence, flagged ``fuzzy``; a quote matching nothing is
*dropped* with its code. Scores are fixed by that check (the LLM gives no probability; they
are not calibrated): exact ``SCORES["exact"]``, normalised ``SCORES["normalized"]``, fuzzy
``SCORES["fuzzy"]``, and 0 for the codes the model did not give.

Answers are cached on disk by (model, prompt version, prompt hash, temperature, seed, text hash),
so a re-run sends no request. Requests run ``concurrency`` at a time and are retried with
exponential backoff on connection errors, timeouts, 429 and 5xx; an endpoint that stays down
raises :class:`~simap.errors.BackendUnavailable`.

Data policy: venture texts go only to a local endpoint (loopback, private or link-local
address) unless the project allows hosted endpoints (``simap config set llm.allow_hosted true``).

Configuration (flag > environment > project setting > default): base URL
``SIMAP_LLM_BASE_URL`` / ``llm.base_url``, model ``SIMAP_LLM_MODEL`` / ``llm.model``, key
``SIMAP_LLM_API_KEY`` (never stored), and the other ``llm.*`` settings of
:mod:`simap.store.config`.
"""

from __future__ import annotations

import difflib
import hashlib
import ipaddress
import json
import os
import random
import re
import socket
import string
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pandas as pd

from simap.batches import SUGGESTION_COLUMNS
from simap.codebook.schema import Code, Codebook
from simap.errors import BackendUnavailable, InvalidInput, NotFitted, PermissionDenied

PROMPT_VERSION = "llm-code-v1"
"""Name of the prompt template file (``prompts/<PROMPT_VERSION>.md``); bump it with any change."""

DEFAULT_BASE_URL = "http://127.0.0.1:11434/v1"
"""Ollama's OpenAI-compatible endpoint on this machine."""

ENV_BASE_URL = "SIMAP_LLM_BASE_URL"
ENV_MODEL = "SIMAP_LLM_MODEL"
ENV_API_KEY = "SIMAP_LLM_API_KEY"

SCORES = {"exact": 0.9, "normalized": 0.8, "fuzzy": 0.6}
"""Score of a suggested code by how its quote was found in the venture text."""

CHARS_PER_TOKEN = 4.0
"""For the estimate: characters per token of English text (a common rule of thumb)."""
ANSWER_TOKENS = 120
"""For the estimate: tokens of a typical answer (a few codes with quote and rationale)."""

RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}

Progress = Callable[[str, int, int], None]


def _no_progress(stage: str, done: int, total: int) -> None:
    return None


# -- prompt ---------------------------------------------------------------------------------------
def prompt_template(version: str = PROMPT_VERSION) -> str:
    path = resources.files("simap.coding") / "prompts" / f"{version}.md"
    if not path.is_file():
        raise InvalidInput(f"there is no LLM prompt template {version!r}.", field="prompt_version")
    return path.read_text(encoding="utf-8")


def _spread(items: list[str], k: int) -> list[str]:
    """At most ``k`` of ``items``, spread evenly over the list (the first one always)."""
    if k < 0 or len(items) <= k:
        return list(items)
    if k == 0:
        return []
    step = len(items) / k
    return [items[int(i * step)] for i in range(k)]


def _code_section(code: Code, max_examples: int = -1, max_counter_examples: int = -1) -> str:
    lines = [f"### {code.id}: {code.name} ({code.kind})", f"Definition: {' '.join(code.definition.split())}"]
    for title, items in (
        ("Code when", code.include),
        ("Do not code when", code.exclude),
        ("Examples (code these)", _spread(code.examples, max_examples)),
        ("Near misses (do not code these)", _spread(code.counter_examples, max_counter_examples)),
    ):
        if items:
            lines.append(f"{title}:")
            lines.extend(f"- {' '.join(str(it).split())}" for it in items)
    return "\n".join(lines)


def build_system_prompt(
    codebook: Codebook,
    version: str = PROMPT_VERSION,
    *,
    max_examples: int = -1,
    max_counter_examples: int = -1,
) -> str:
    """The system prompt for ``codebook``: the template filled with every active code (at most
    ``max_examples`` examples and ``max_counter_examples`` near misses each; -1: all)."""
    return string.Template(prompt_template(version)).substitute(
        codebook_name=codebook.name,
        codebook_version=codebook.version,
        codebook_title=codebook.title or codebook.name,
        codebook_description=" ".join(codebook.description.split()),
        codes="\n\n".join(
            _code_section(c, max_examples, max_counter_examples) for c in codebook.active_codes
        ),
    )


def answer_schema(code_ids: list[str]) -> dict[str, Any]:
    """JSON schema of the answer: ``{"codes": [{"code", "quote", "rationale"}]}``."""
    return {
        "type": "object",
        "properties": {
            "codes": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "code": {"type": "string", "enum": list(code_ids)},
                        "quote": {"type": "string"},
                        "rationale": {"type": "string"},
                    },
                    "required": ["code", "quote", "rationale"],
                    "additionalProperties": False,
                },
            }
        },
        "required": ["codes"],
        "additionalProperties": False,
    }


def venture_message(fields: list[tuple[str, str]]) -> str:
    """The user message: the venture's text fields, each under its name when there are several."""
    if len(fields) == 1:
        return f"Venture text:\n\n{fields[0][1]}"
    return "Venture text:\n\n" + "\n\n".join(f"[{name}]\n{text}" for name, text in fields)


# -- answers ---------------------------------------------------------------------------------------
_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.S)


def parse_answer(content: str) -> list[dict[str, str]]:
    """The ``codes`` of an answer; lenient when the endpoint did not enforce the schema.

    Accepts the JSON object, a bare list of items, JSON in a code fence or with text around it,
    and the field names ``code``/``id``, ``quote``/``evidence``, ``rationale``/``reason``.
    Raises ``ValueError`` when no JSON can be found.
    """
    candidates = [content.strip()]
    candidates += [m.group(1).strip() for m in _FENCE.finditer(content)]
    for open_, close in (("{", "}"), ("[", "]")):
        a, b = content.find(open_), content.rfind(close)
        if 0 <= a < b:
            candidates.append(content[a : b + 1])
    data: Any = None
    for text in candidates:
        try:
            data = json.loads(text)
            break
        except (json.JSONDecodeError, ValueError):
            continue
    else:
        data = _salvage(content)
        if data is None:
            raise ValueError(f"no JSON in the answer: {content[:200]!r}")
    if isinstance(data, dict):
        data = data.get("codes", data.get("labels", []))
    if not isinstance(data, list):
        raise ValueError(f"the answer's codes are not a list: {content[:200]!r}")
    items = []
    for item in data:
        if isinstance(item, str):
            items.append({"code": item, "quote": "", "rationale": ""})
        elif isinstance(item, dict):
            items.append(
                {
                    "code": str(item.get("code", item.get("id", ""))).strip(),
                    "quote": str(item.get("quote", item.get("evidence", "")) or ""),
                    "rationale": str(item.get("rationale", item.get("reason", "")) or ""),
                }
            )
    return items


def _salvage(content: str, tries: int = 50) -> Any:
    """The complete items of an answer cut off at ``max_tokens`` (``{"codes": [{...}, {...`` ->
    the items before the cut), or None."""
    a = content.find("{")
    if a < 0 or '"codes"' not in content:
        return None
    cuts: list[int] = []
    end = len(content)
    while len(cuts) < tries and (end := content.rfind("}", a, end)) >= 0:
        cuts.append(end + 1)
    bracket = content.find("[", a)
    if bracket >= 0:
        cuts.append(bracket + 1)  # no complete item: an empty list
    for cut in cuts:
        try:
            data = json.loads(content[a:cut] + "]}")
        except (json.JSONDecodeError, ValueError):
            continue
        return data if isinstance(data, dict) else None
    return None


# -- quote check -----------------------------------------------------------------------------------
_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'", "´": "'", "`": "'"})


def _normalize_with_map(text: str) -> tuple[str, list[int]]:
    """Lower-cased text with whitespace runs collapsed and typographic quotes/dashes unified,
    and for every character of it the offset of the character of ``text`` it came from."""
    out: list[str] = []
    where: list[int] = []
    space = False
    for i, ch in enumerate(text):
        if ch.isspace():
            if not space and out:
                out.append(" ")
                where.append(i)
            space = True
            continue
        space = False
        ch = ch.translate(_QUOTES)
        if ch in "–—‑":
            ch = "-"
        out.append(ch.lower())
        where.append(i)
    return "".join(out), where


def _clean_quote(quote: str) -> str:
    q = quote.strip()
    # models often wrap the quote in quotation marks or end it with an ellipsis
    while len(q) >= 2 and q[0] in "\"'“‘«" and q[-1] in "\"'”’»":
        q = q[1:-1].strip()
    return q.strip(" .…").strip() if q.endswith(("...", "…")) else q


@dataclass
class QuoteMatch:
    field: str
    start: int
    end: int
    check: str  # exact | normalized | fuzzy
    similarity: float = 1.0


def locate_quote(
    quote: str, fields: list[tuple[str, str]], sentences: list[tuple[str, int, int]], min_similarity: float
) -> QuoteMatch | None:
    """Where ``quote`` is in the venture: exact, after normalising, or the most similar sentence."""
    q = quote.strip()
    if not q:
        return None
    for name, text in fields:
        i = text.find(q)
        if i >= 0:
            return QuoteMatch(name, i, i + len(q), "exact")
    cleaned = _clean_quote(q)
    nq, _ = _normalize_with_map(cleaned)
    if len(nq) >= 3:
        for name, text in fields:
            nt, where = _normalize_with_map(text)
            i = nt.find(nq)
            if i >= 0:
                return QuoteMatch(name, where[i], where[i + len(nq) - 1] + 1, "normalized")
    best: QuoteMatch | None = None
    texts = dict(fields)
    for name, start, end in sentences:
        sentence, _ = _normalize_with_map(texts[name][start:end])
        matcher = difflib.SequenceMatcher(None, nq, sentence, autojunk=False)
        if matcher.real_quick_ratio() < min_similarity or matcher.quick_ratio() < min_similarity:
            continue
        ratio = matcher.ratio()
        # a short quote inside a long sentence: compare with the best window of the sentence
        if len(sentence) > len(nq) * 1.5:
            blocks = sum(b.size for b in matcher.get_matching_blocks())
            ratio = max(ratio, blocks / max(len(nq), 1))
        if ratio >= min_similarity and (best is None or ratio > best.similarity):
            best = QuoteMatch(name, start, end, "fuzzy", round(ratio, 3))
    return best


# -- endpoint policy -------------------------------------------------------------------------------
def is_local_endpoint(base_url: str) -> bool:
    """True when the endpoint's host is this machine or a private network (not a hosted service)."""
    host = urlsplit(base_url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, None)
        except (OSError, UnicodeError):
            return False
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    return bool(addresses) and all(a.is_loopback or a.is_private or a.is_link_local for a in addresses)


def redact_url(url: str) -> str:
    """``url`` without user name and password."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


# -- cache -----------------------------------------------------------------------------------------
class AnswerCache:
    """Answers of the endpoint on disk, one JSON file per key (safe for concurrent writers)."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        try:
            return json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return None

    def put(self, key: str, value: dict[str, Any]) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps(value, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)

    def __len__(self) -> int:
        return sum(1 for _ in self.directory.glob("*/*.json")) if self.directory.exists() else 0


def default_cache_dir(store: Any) -> Path:
    """Next to a SQLite project file, else in SIMAP_HOME (like the trained models)."""
    if store is not None and getattr(store, "path", None) is not None:
        return store.path.with_name(store.path.name + ".llm-cache")
    from simap.embed.models import simap_home

    if store is not None:
        return simap_home() / "projects" / hashlib.sha1(store.url.encode()).hexdigest()[:12] / "llm-cache"
    return simap_home() / "llm-cache"


# -- estimate --------------------------------------------------------------------------------------
@dataclass
class LLMEstimate:
    """What a run will cost, before it starts (tokens from characters, time from the settings)."""

    ventures: int
    cached: int
    requests: int
    prompt_tokens: int
    answer_tokens: int
    seconds: float
    cost: float
    model: str
    base_url: str
    hosted: bool

    def __str__(self) -> str:
        minutes = self.seconds / 60
        when = f"{self.seconds:.0f} s" if self.seconds < 120 else f"{minutes:.0f} min"
        cost = f"{self.cost:.2f} (at the llm.price_* settings)" if self.cost else "0 (local or no price set)"
        return (
            f"LLM coder {self.model} at {self.base_url} ({'hosted' if self.hosted else 'local'}): "
            f"{self.ventures} ventures, {self.cached} answers cached, {self.requests} requests; "
            f"about {self.prompt_tokens:,} prompt and {self.answer_tokens:,} answer tokens, "
            f"about {when}, cost {cost}."
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Job:
    venture_id: str
    fields: list[tuple[str, str]]
    sentences: list[tuple[str, int, int]]
    message: str
    key: str
    answer: dict[str, Any] | None = None


@dataclass
class LLMStats:
    requests: int = 0
    cache_hits: int = 0
    retries: int = 0
    prompt_tokens: int = 0
    answer_tokens: int = 0
    exact: int = 0
    normalized: int = 0
    fuzzy: int = 0
    dropped: int = 0
    unknown_codes: int = 0
    unparsed: int = 0
    truncated: int = 0
    seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **counts: float) -> None:
        with self.lock:
            for k, v in counts.items():
                setattr(self, k, getattr(self, k) + v)

    def to_dict(self) -> dict[str, Any]:
        with self.lock:
            out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "lock"}
        out["seconds"] = round(self.seconds, 3)
        return out


# -- the coder -------------------------------------------------------------------------------------
class LLMCoder:
    """Codes ventures with a chat model at an OpenAI-compatible endpoint (see the module docstring)."""

    name = "llm"
    needs_documents = True  # predict() takes the full texts so that quotes are checked against them

    def __init__(
        self,
        *,
        base_url: str | None = None,
        model: str | None = None,
        api_key: str | None = None,
        allow_hosted: bool = False,
        temperature: float = 0.0,
        seed: int | None = 0,
        max_tokens: int = 512,
        concurrency: int = 2,
        max_retries: int = 3,
        backoff: float = 1.0,
        timeout: float = 120.0,
        evidence_k: int = 2,
        max_examples: int = 6,
        max_counter_examples: int = 3,
        min_similarity: float = 0.6,
        use_schema: bool = True,
        cache_dir: str | Path | None = None,
        prompt_version: str = PROMPT_VERSION,
        prompt_tokens_per_second: float = 200.0,
        tokens_per_second: float = 20.0,
        price_input_per_mtok: float = 0.0,
        price_output_per_mtok: float = 0.0,
        progress: Progress | None = None,
    ) -> None:
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.model = model
        self.api_key = api_key
        self.allow_hosted = bool(allow_hosted)
        self.temperature = float(temperature)
        self.seed = seed
        self.max_tokens = int(max_tokens)
        self.concurrency = max(1, int(concurrency))
        self.max_retries = max(0, int(max_retries))
        self.backoff = float(backoff)
        self.timeout = float(timeout)
        self.evidence_k = int(evidence_k)
        self.max_examples = int(max_examples)
        self.max_counter_examples = int(max_counter_examples)
        self.min_similarity = float(min_similarity)
        self.use_schema = bool(use_schema)
        self.cache = AnswerCache(cache_dir) if cache_dir is not None else None
        self.prompt_version = prompt_version
        self.prompt_tokens_per_second = float(prompt_tokens_per_second)
        self.tokens_per_second = float(tokens_per_second)
        self.price_input_per_mtok = float(price_input_per_mtok)
        self.price_output_per_mtok = float(price_output_per_mtok)
        self.progress = progress
        self.stats = LLMStats()
        self._schema_supported: bool | None = None if use_schema else False
        self._lock = threading.Lock()
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidInput(
                f"the LLM base URL must be an http(s) URL such as {DEFAULT_BASE_URL}; got {self.base_url!r}.",
                field="llm.base_url",
                hint=f"set {ENV_BASE_URL}, --llm-base-url or `simap config set llm.base_url URL`",
            )

    # -- configuration -------------------------------------------------------------------------
    @classmethod
    def from_project(cls, store: Any = None, **overrides: Any) -> LLMCoder:
        """A coder configured from flags (``overrides``), the environment and the project settings."""
        from simap.store.config import SETTINGS, get_config

        def pick(key: str, env: str | None = None) -> Any:
            name = key.removeprefix("llm.")
            if overrides.get(name) is not None:
                return overrides.pop(name)
            overrides.pop(name, None)
            if env and os.environ.get(env):
                return os.environ[env]
            return get_config(store, key)

        params: dict[str, Any] = {
            "base_url": pick("llm.base_url", ENV_BASE_URL),
            "model": pick("llm.model", ENV_MODEL),
            "allow_hosted": pick("llm.allow_hosted"),
        }
        api_key = overrides.pop("api_key", None) or os.environ.get(ENV_API_KEY) or None
        for key in SETTINGS:
            name = key.removeprefix("llm.")
            if key.startswith("llm.") and name not in params:
                params[name] = pick(key)
        if overrides.get("cache_dir") is None:
            overrides["cache_dir"] = default_cache_dir(store)
        return cls(api_key=api_key, **params, **overrides)

    @property
    def hosted(self) -> bool:
        return not is_local_endpoint(self.base_url)

    def check_policy(self) -> None:
        """Refuse a hosted endpoint unless the project's data policy allows it."""
        if self.hosted and not self.allow_hosted:
            raise PermissionDenied(
                f"the LLM endpoint {redact_url(self.base_url)} is not on this machine or a private "
                "network, and this project's data policy does not allow sending venture texts to a "
                "hosted service.",
                hint="use a local endpoint (Ollama, llama.cpp server, vLLM on this network), or allow "
                "hosted endpoints for this project: `simap config set llm.allow_hosted true`",
            )

    # -- identity ------------------------------------------------------------------------------
    @property
    def key(self) -> str:
        return f"{self.name}:{self.model}"

    @property
    def prompt_hash(self) -> str:
        self._check_fitted()
        return self.prompt_hash_

    def provenance(self) -> dict[str, Any]:
        """What produced a suggestion: stored in the run and with every evidence quote."""
        self._check_fitted()
        return {
            "coder": self.name,
            "model": self.model,
            "endpoint": redact_url(self.base_url),
            "hosted": self.hosted,
            "prompt_version": self.prompt_version,
            "prompt_hash": self.prompt_hash_,
            "codebook": self.codebook_.name,
            "codebook_version": self.codebook_.version,
            "temperature": self.temperature,
            "seed": self.seed,
            "output": "json_schema" if self._schema_supported is not False else "parsed",
        }

    def get_params(self) -> dict[str, Any]:
        params = {
            "coder": self.name,
            "model": self.model,
            "endpoint": redact_url(self.base_url),
            "hosted": self.hosted,
            "allow_hosted": self.allow_hosted,
            "data_policy": self.data_policy(),
            "prompt_version": self.prompt_version,
            "temperature": self.temperature,
            "seed": self.seed,
            "max_tokens": self.max_tokens,
            "concurrency": self.concurrency,
            "max_retries": self.max_retries,
            "min_similarity": self.min_similarity,
            "evidence_k": self.evidence_k,
            "max_examples": self.max_examples,
            "max_counter_examples": self.max_counter_examples,
            "scores": dict(SCORES),
        }
        if hasattr(self, "prompt_hash_"):
            params |= {
                "prompt_hash": self.prompt_hash_,
                "codebook_version": self.codebook_.version,
                "output": self.provenance()["output"],
            }
        return params

    def data_policy(self) -> str:
        where = "a hosted service" if self.hosted else "a local endpoint"
        allowed = (
            "hosted endpoints allowed by the project (llm.allow_hosted = true)"
            if self.allow_hosted
            else "local endpoints only (llm.allow_hosted = false)"
        )
        return f"venture texts sent to {where} ({redact_url(self.base_url)}); {allowed}"

    # -- HTTP ------------------------------------------------------------------------------------
    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """One HTTP exchange with retries; returns the JSON body."""
        url = f"{self.base_url}{path}"
        data = json.dumps(body).encode("utf-8") if body is not None else None
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        last_error = ""
        for attempt in range(self.max_retries + 1):
            if attempt:
                self.stats.add(retries=1)
            wait_s = self.backoff * (2**attempt) * (0.75 + 0.5 * random.random())
            try:
                req = urllib.request.Request(url, data=data, headers=headers, method=method)
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    return json.loads(resp.read().decode("utf-8"))
            except urllib.error.HTTPError as exc:
                text = exc.read().decode("utf-8", "replace")[:500]
                if exc.code in RETRY_STATUS:
                    last_error = f"HTTP {exc.code}: {text}"
                    retry_after = exc.headers.get("Retry-After") if exc.headers else None
                    if retry_after and retry_after.strip().isdigit():
                        wait_s = min(float(retry_after), 30.0)
                elif exc.code in (401, 403):
                    raise PermissionDenied(
                        f"the LLM endpoint {redact_url(url)} refused the request (HTTP {exc.code}): {text}",
                        hint=f"check the API key ({ENV_API_KEY} or --llm-api-key)",
                    ) from None
                else:
                    raise _HTTPStatus(exc.code, text) from None
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                last_error = str(getattr(exc, "reason", exc)) or type(exc).__name__
            except json.JSONDecodeError as exc:
                last_error = f"the answer is not JSON ({exc})"
            if attempt < self.max_retries:
                time.sleep(wait_s)
        raise BackendUnavailable(
            f"the LLM endpoint {redact_url(url)} did not answer after {self.max_retries + 1} attempts "
            f"({last_error}).",
            hint="start the server (e.g. `ollama serve`, or `llama-server -m MODEL.gguf --port 8080` and "
            f"{ENV_BASE_URL}=http://127.0.0.1:8080/v1), or point simap at it with {ENV_BASE_URL}, "
            "--llm-base-url or `simap config set llm.base_url URL`",
        )

    def list_models(self) -> list[str]:
        """Model names the endpoint offers (``GET /models``); empty when it has no such route."""
        try:
            body = self._request("GET", "/models")
        except _HTTPStatus:
            return []
        return [str(m.get("id")) for m in body.get("data", []) if isinstance(m, dict) and m.get("id")]

    def _chat(self, message: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [
                {"role": "system", "content": self.system_prompt_},
                {"role": "user", "content": message},
            ],
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "stream": False,
        }
        if self.seed is not None:
            body["seed"] = int(self.seed)
        if self._schema_supported is not False:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "simap_codes", "strict": True, "schema": self.schema_},
            }
        try:
            answer = self._request("POST", "/chat/completions", body)
        except _HTTPStatus as exc:
            if "response_format" in body and exc.code in (400, 422, 501):
                # this endpoint does not take response_format (or this schema): ask without it
                with self._lock:
                    self._schema_supported = False
                del body["response_format"]
                answer = self._request("POST", "/chat/completions", body)
            elif exc.code == 404:
                raise BackendUnavailable(
                    f"the LLM endpoint {redact_url(self.base_url)} has no /chat/completions, or no model "
                    f"{self.model!r} (HTTP 404: {exc.text}).",
                    hint="the base URL ends with /v1 (e.g. http://127.0.0.1:11434/v1); check the model "
                    f"name ({ENV_MODEL}, --llm-model)",
                ) from None
            else:
                raise BackendUnavailable(
                    f"the LLM endpoint {redact_url(self.base_url)} refused the request (HTTP {exc.code}: "
                    f"{exc.text}).",
                    hint="check the model name and the endpoint's log",
                ) from None
        if "response_format" in body and self._schema_supported is None:
            with self._lock:
                self._schema_supported = True
        return answer

    # -- fitting ---------------------------------------------------------------------------------
    def fit(self, codebook: Codebook, corpus: list[str] | None = None) -> LLMCoder:
        """Build the prompt from the codebook; check the data policy and find the model."""
        self.check_policy()
        if not codebook.active_codes:
            raise InvalidInput(f"codebook {codebook.name!r} has no active codes to code against.")
        self.codebook_ = codebook
        self.code_ids_ = [c.id for c in codebook.active_codes]
        self.system_prompt_ = build_system_prompt(
            codebook,
            self.prompt_version,
            max_examples=self.max_examples,
            max_counter_examples=self.max_counter_examples,
        )
        self.schema_ = answer_schema(self.code_ids_)
        payload = self.system_prompt_ + "\n" + json.dumps(self.schema_, sort_keys=True)
        self.prompt_hash_ = hashlib.sha256(payload.encode("utf-8")).hexdigest()[:12]
        if not self.model:
            models = self.list_models()
            if len(models) != 1:
                raise InvalidInput(
                    "no LLM model given" + (f"; the endpoint offers {', '.join(models)}." if models else "."),
                    field="llm.model",
                    hint=f"set {ENV_MODEL}, --llm-model or `simap config set llm.model NAME`",
                )
            self.model = models[0]
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "prompt_hash_"):
            raise NotFitted("LLMCoder must be fitted to a codebook first.", hint="call .fit(codebook)")

    # -- predicting ------------------------------------------------------------------------------
    def cache_key(self, message: str) -> str:
        text_hash = hashlib.sha256(message.encode("utf-8")).hexdigest()
        parts = [self.model, self.prompt_version, self.prompt_hash_, self.temperature, self.seed, text_hash]
        return hashlib.sha256(json.dumps(parts).encode("utf-8")).hexdigest()[:40]

    def _jobs(self, segments: pd.DataFrame, documents: pd.DataFrame | None) -> list[_Job]:
        self._check_fitted()
        texts: dict[str, dict[str, str]] = {}
        if documents is not None and len(documents):
            for vid, name, text in zip(
                documents["venture_id"], documents["field"], documents["text"], strict=True
            ):
                texts.setdefault(str(vid), {})[str(name)] = str(text)
        sentences: dict[str, list[tuple[str, int, int]]] = {}
        rebuilt: dict[str, dict[str, str]] = {}
        for row in segments.itertuples(index=False):
            vid, name = str(row.venture_id), str(row.field)
            sentences.setdefault(vid, []).append((name, int(row.start), int(row.end)))
            if name not in texts.get(vid, {}):
                # no document text given: rebuild it from the sentences at their offsets
                doc = rebuilt.setdefault(vid, {}).get(name, "")
                doc = doc.ljust(int(row.start)) + str(row.text)
                rebuilt[vid][name] = doc
        jobs = []
        for vid in pd.unique(segments["venture_id"].astype(str)):
            fields = dict(rebuilt.get(vid, {}))
            fields.update(texts.get(vid, {}))
            pairs = [(name, text) for name, text in fields.items() if text.strip()]
            message = venture_message(pairs)
            jobs.append(_Job(vid, pairs, sentences.get(vid, []), message, self.cache_key(message)))
        return jobs

    def estimate(self, segments: pd.DataFrame, documents: pd.DataFrame | None = None) -> LLMEstimate:
        """Tokens, time and cost of coding these ventures (cached answers cost nothing)."""
        jobs = self._jobs(segments, documents)
        todo = [j for j in jobs if self.cache is None or self.cache.get(j.key) is None]
        system = len(self.system_prompt_) / CHARS_PER_TOKEN
        prompt = int(sum(system + len(j.message) / CHARS_PER_TOKEN for j in todo))
        answer = ANSWER_TOKENS * len(todo)
        seconds = (
            prompt / self.prompt_tokens_per_second + answer / self.tokens_per_second
        ) / self.concurrency
        cost = prompt * self.price_input_per_mtok / 1e6 + answer * self.price_output_per_mtok / 1e6
        return LLMEstimate(
            ventures=len(jobs),
            cached=len(jobs) - len(todo),
            requests=len(todo),
            prompt_tokens=prompt,
            answer_tokens=answer,
            seconds=round(seconds, 1),
            cost=round(cost, 4),
            model=str(self.model),
            base_url=redact_url(self.base_url),
            hosted=self.hosted,
        )

    def _answer(self, job: _Job) -> dict[str, Any]:
        if self.cache is not None:
            hit = self.cache.get(job.key)
            if hit is not None:
                self.stats.add(cache_hits=1)
                return hit
        t0 = time.perf_counter()
        response = self._chat(job.message)
        self.stats.add(requests=1, seconds=time.perf_counter() - t0)
        usage = response.get("usage") or {}
        self.stats.add(
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            answer_tokens=int(usage.get("completion_tokens") or 0),
        )
        try:
            choice = response["choices"][0]
            content = choice["message"]["content"] or ""
        except (KeyError, IndexError, TypeError):
            # no answer in the response: not cached, a re-run asks again
            return {"content": "", "model": response.get("model"), "usage": usage}
        answer = {
            "content": content,
            "finish_reason": choice.get("finish_reason"),
            "model": response.get("model"),
            "usage": usage,
        }
        # every answer is kept, also one that is not JSON: with the same model, prompt, text,
        # temperature and seed the endpoint would answer the same again
        if self.cache is not None:
            self.cache.put(job.key, answer)
        return answer

    def _answer_all(self, jobs: list[_Job]) -> None:
        progress = self.progress or _no_progress
        total = len(jobs)
        done = 0
        if self.concurrency == 1 or total <= 1:
            for job in jobs:
                job.answer = self._answer(job)
                done += 1
                progress("llm", done, total)
            return
        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="simap-llm") as pool:
            futures = {pool.submit(self._answer, job): job for job in jobs}
            pending = set(futures)
            while pending:
                finished, pending = wait(pending, return_when=FIRST_EXCEPTION)
                for fut in finished:
                    exc = fut.exception()
                    if exc is not None:
                        for other in pending:
                            other.cancel()
                        raise exc
                    futures[fut].answer = fut.result()
                    done += 1
                progress("llm", done, total)

    def predict(self, segments: pd.DataFrame, documents: pd.DataFrame | None = None) -> pd.DataFrame:
        """One SUGGESTIONS row per venture x active code; quotes checked against the texts."""
        if len(segments) == 0:
            return pd.DataFrame(columns=SUGGESTION_COLUMNS)
        jobs = self._jobs(segments, documents)
        self._answer_all(jobs)
        provenance = self.provenance()
        known = set(self.code_ids_)
        rows = []
        for job in jobs:
            found: dict[str, list[dict[str, Any]]] = {}
            answer = job.answer or {}
            if answer.get("finish_reason") == "length":
                self.stats.add(truncated=1)
            try:
                items = parse_answer(answer.get("content", ""))
            except ValueError:
                self.stats.add(unparsed=1)
                items = []
            texts = dict(job.fields)
            for item in items:
                code = item["code"]
                if code not in known:
                    self.stats.add(unknown_codes=1)
                    continue
                match = locate_quote(item["quote"], job.fields, job.sentences, self.min_similarity)
                if match is None:
                    self.stats.add(dropped=1)
                    continue
                self.stats.add(**{match.check: 1})
                evidence = found.setdefault(code, [])
                if len(evidence) >= self.evidence_k or any(
                    (e["field"], e["start"], e["end"]) == (match.field, match.start, match.end)
                    for e in evidence
                ):
                    continue
                ev: dict[str, Any] = {
                    "field": match.field,
                    "start": match.start,
                    "end": match.end,
                    "text": texts[match.field][match.start : match.end],
                    "score": SCORES[match.check],
                    "quote_check": match.check,
                    "rationale": item["rationale"].strip(),
                    "provenance": provenance,
                }
                if match.check != "exact":
                    ev["llm_quote"] = item["quote"]
                    ev["flag"] = "quote repaired"
                if match.check == "fuzzy":
                    ev["similarity"] = match.similarity
                evidence.append(ev)
            for code in self.code_ids_:
                evidence = sorted(found.get(code, []), key=lambda e: -e["score"])
                score = evidence[0]["score"] if evidence else 0.0
                rows.append((job.venture_id, code, float(score), 1.0 if evidence else 0.0, evidence))
        return pd.DataFrame(rows, columns=SUGGESTION_COLUMNS)

    def run_stats(self) -> dict[str, Any]:
        """Requests, cache hits, retries, tokens and quote checks of this coder so far."""
        return self.stats.to_dict()


class _HTTPStatus(Exception):
    """A non-retryable HTTP status from the endpoint (handled inside this module)."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(f"HTTP {code}: {text}")
        self.code = code
        self.text = text
