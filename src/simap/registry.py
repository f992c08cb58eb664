"""Named registries of backends.

Built-in backends register themselves exactly as a plug-in would (``@embedders.register``);
third-party packages add theirs through the entry point group ``simap.<registry>``.
An unknown name raises :class:`UnknownBackend` listing the valid names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from typing import Generic, TypeVar

from simap.errors import UnknownBackend

T = TypeVar("T")


class Registry(Generic[T]):
    """A mapping from a backend name to a factory."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._factories: dict[str, Callable[..., T]] = {}
        self._help: dict[str, str] = {}
        self._entry_points_loaded = False

    def register(self, name: str, *, help: str = "") -> Callable[[Callable[..., T]], Callable[..., T]]:
        def decorator(factory: Callable[..., T]) -> Callable[..., T]:
            self._factories[name] = factory
            doc_lines = (factory.__doc__ or "").strip().splitlines()
            self._help[name] = help or (doc_lines[0] if doc_lines else "")
            return factory

        return decorator

    def _load_entry_points(self) -> None:
        if self._entry_points_loaded:
            return
        self._entry_points_loaded = True
        for ep in entry_points(group=f"simap.{self.kind}"):
            if ep.name not in self._factories:
                self._factories[ep.name] = ep.load()

    def names(self) -> list[str]:
        self._load_entry_points()
        return sorted(self._factories)

    def describe(self) -> dict[str, str]:
        self._load_entry_points()
        return {name: self._help.get(name, "") for name in sorted(self._factories)}

    def get(self, name: str) -> Callable[..., T]:
        self._load_entry_points()
        try:
            return self._factories[name]
        except KeyError:
            valid = ", ".join(self.names()) or "(none registered)"
            raise UnknownBackend(
                f"unknown {self.kind} backend {name!r}; valid names are: {valid}.",
                field=self.kind,
                hint=f"pass one of: {valid}",
            ) from None

    def create(self, name: str, **params: object) -> T:
        return self.get(name)(**params)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.names()

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
