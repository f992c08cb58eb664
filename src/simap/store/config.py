"""Project configuration: typed settings stored in the project database (``simap config``).

Settings live in the ``project_settings`` table under one key, ``config``, so they travel with
the project (a SQLite file or a PostgreSQL database) and every change is logged as an event. Only
the keys of :data:`SETTINGS` are accepted, each with a type and a default. Secrets (API keys)
are never stored here: they come from the environment or a command-line flag.

Precedence where a setting also has a flag or an environment variable (the LLM coder):
flag > environment variable > project setting > default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from simap.errors import InvalidInput
from simap.store.db import Store

CONFIG_KEY = "config"


@dataclass(frozen=True)
class Setting:
    key: str
    type: type
    default: Any
    help: str


SETTINGS: dict[str, Setting] = {
    s.key: s
    for s in (
        Setting(
            "llm.base_url",
            str,
            None,
            "OpenAI-compatible endpoint of the LLM coder, e.g. http://127.0.0.1:11434/v1 (Ollama)",
        ),
        Setting(
            "llm.model", str, None, "model name sent to the endpoint; it becomes the coder key llm:<model>"
        ),
        Setting(
            "llm.allow_hosted",
            bool,
            False,
            "data policy: send venture texts to a hosted (non-local) endpoint; off = loopback/private only",
        ),
        Setting("llm.temperature", float, 0.0, "sampling temperature (0 = the most deterministic)"),
        Setting("llm.seed", int, 0, "sampling seed sent with every request"),
        Setting("llm.max_tokens", int, 512, "most tokens the model may answer per venture"),
        Setting("llm.max_examples", int, 6, "example sentences per code in the prompt (-1: all)"),
        Setting("llm.max_counter_examples", int, 3, "near misses per code in the prompt (-1: all)"),
        Setting("llm.concurrency", int, 2, "requests in flight at once"),
        Setting("llm.max_retries", int, 3, "retries of a failed request (with exponential backoff)"),
        Setting("llm.timeout", float, 120.0, "seconds to wait for one answer"),
        Setting(
            "llm.prompt_tokens_per_second",
            float,
            200.0,
            "for the estimate: prompt tokens the endpoint reads per second",
        ),
        Setting(
            "llm.tokens_per_second",
            float,
            20.0,
            "for the estimate: tokens the endpoint generates per second",
        ),
        Setting("llm.price_input_per_mtok", float, 0.0, "for the estimate: price per million prompt tokens"),
        Setting("llm.price_output_per_mtok", float, 0.0, "for the estimate: price per million answer tokens"),
    )
}

SECRET_KEYS = {"llm.api_key", "llm.key", "api_key"}
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def _setting(key: str) -> Setting:
    if key in SECRET_KEYS:
        raise InvalidInput(
            f"{key!r} is a secret and is never stored in the project.",
            field=key,
            hint="set the environment variable SIMAP_LLM_API_KEY or pass --llm-api-key",
        )
    try:
        return SETTINGS[key]
    except KeyError:
        raise InvalidInput(
            f"unknown setting {key!r}; valid settings are: {', '.join(SETTINGS)}.",
            field=key,
            hint="see `simap config list`",
        ) from None


def parse_value(key: str, value: Any) -> Any:
    """``value`` (a string from the command line, or a Python value) as the setting's type."""
    setting = _setting(key)
    if value is None:
        return None
    try:
        if setting.type is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
            raise ValueError(value)
        if setting.type is int:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(value)
            return int(value)
        if setting.type is float:
            return float(value)
        text = str(value).strip()
        if not text:
            raise ValueError(value)
        return text
    except (TypeError, ValueError):
        kind = {"bool": "true or false", "int": "an integer", "float": "a number", "str": "a non-empty text"}
        raise InvalidInput(
            f"setting {key!r} must be {kind[setting.type.__name__]}; got {value!r}.",
            field=key,
            hint=f"e.g. `simap config set {key} {setting.default if setting.default is not None else '...'}`",
        ) from None


def load_config(store: Store) -> dict[str, Any]:
    """The settings stored in the project (only those set explicitly)."""
    from simap.store.browse import get_setting

    return dict(get_setting(store, CONFIG_KEY) or {})


def get_config(store: Store | None, key: str) -> Any:
    """The project's value of ``key``, or its default."""
    setting = _setting(key)
    if store is None:
        return setting.default
    value = load_config(store).get(key)
    return setting.default if value is None else value


def set_config(store: Store, key: str, value: Any, *, actor: str = "simap") -> Any:
    """Store ``key = value`` (parsed to the setting's type) and log the change; returns the value."""
    from simap.store.browse import put_setting
    from simap.store.repo import log_event_now

    parsed = parse_value(key, value)
    current = load_config(store)
    before = current.get(key)
    current[key] = parsed
    put_setting(store, CONFIG_KEY, current)
    log_event_now(
        store,
        actor=actor,
        action="config_set",
        entity="config",
        entity_id=key,
        before={"value": before},
        after={"value": parsed},
    )
    return parsed


def unset_config(store: Store, key: str, *, actor: str = "simap") -> None:
    """Remove ``key`` from the project (it falls back to its default)."""
    from simap.store.browse import put_setting
    from simap.store.repo import log_event_now

    _setting(key)
    current = load_config(store)
    if key not in current:
        return
    before = current.pop(key)
    put_setting(store, CONFIG_KEY, current)
    log_event_now(
        store,
        actor=actor,
        action="config_unset",
        entity="config",
        entity_id=key,
        before={"value": before},
        after=None,
    )


def describe_config(store: Store | None) -> list[dict[str, Any]]:
    """Every known setting with its effective value and where it comes from (project or default)."""
    stored = load_config(store) if store is not None else {}
    return [
        {
            "key": s.key,
            "value": stored[s.key] if stored.get(s.key) is not None else s.default,
            "source": "project" if stored.get(s.key) is not None else "default",
            "help": s.help,
        }
        for s in SETTINGS.values()
    ]
