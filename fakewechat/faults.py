"""Fault injection rules for the fake WeChat API."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

# A "timeout" fault sleeps this long: longer than any sane client timeout.
TIMEOUT_DELAY_MS = 10_000


class FaultSpecError(ValueError):
    """Raised when a fault description is malformed."""


@dataclass
class Fault:
    """One injected fault: which path, what answer, how often, how slow."""

    fault_id: int
    path: str = "*"
    errcode: int | None = None
    errmsg: str | None = None
    times: int | None = None
    ratio: float | None = None
    seed: int | None = None
    delay_ms: int = 0
    http_status: int = 200
    hits: int = 0
    _rng: random.Random = field(default_factory=random.Random, repr=False)

    def matches(self, path: str) -> bool:
        """Whether this fault applies to `path` ("*" matches every WeChat path)."""
        if self.path == "*":
            return True
        if self.path.endswith("*"):
            return path.startswith(self.path[:-1])
        return path == self.path

    def exhausted(self) -> bool:
        """Whether a `times`-limited fault has been used up."""
        return self.times is not None and self.times <= 0

    def fire(self) -> bool:
        """Decide whether this fault hits the current call; consumes one use if so."""
        if self.exhausted():
            return False
        if self.ratio is not None and self._rng.random() >= self.ratio:
            return False
        if self.times is not None:
            self.times -= 1
        self.hits += 1
        return True

    def describe(self) -> dict[str, Any]:
        """A JSON-able description of this fault."""
        return {
            "id": self.fault_id, "path": self.path, "errcode": self.errcode, "errmsg": self.errmsg,
            "times": self.times, "ratio": self.ratio, "seed": self.seed, "delay_ms": self.delay_ms,
            "http_status": self.http_status, "hits": self.hits,
        }


def _opt_int(spec: dict[str, Any], key: str) -> int | None:
    value = spec.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise FaultSpecError(f"{key} must be an integer")
    try:
        return int(value)
    except ValueError as exc:
        raise FaultSpecError(f"{key} must be an integer") from exc


def fault_from_spec(fault_id: int, spec: dict[str, Any]) -> Fault:
    """Build a Fault from the JSON accepted by `POST /_fake/faults`."""
    if not isinstance(spec, dict):
        raise FaultSpecError("fault must be a JSON object")
    path = spec.get("path") or "*"
    if not isinstance(path, str) or not (path == "*" or path.startswith("/")):
        raise FaultSpecError("path must be '*' or start with '/'")
    ratio = spec.get("ratio")
    if ratio is not None:
        if isinstance(ratio, bool) or not isinstance(ratio, int | float) or not 0 <= ratio <= 1:
            raise FaultSpecError("ratio must be a number between 0 and 1")
        ratio = float(ratio)
    delay_ms = _opt_int(spec, "delay_ms") or 0
    if spec.get("timeout"):
        delay_ms = max(delay_ms, TIMEOUT_DELAY_MS)
    errcode = _opt_int(spec, "errcode")
    times = _opt_int(spec, "times")
    if errcode is None and delay_ms <= 0 and spec.get("http_status") is None:
        raise FaultSpecError("a fault needs errcode, delay_ms, timeout or http_status")
    seed = _opt_int(spec, "seed")
    return Fault(
        fault_id=fault_id, path=path, errcode=errcode, errmsg=spec.get("errmsg"), times=times,
        ratio=ratio, seed=seed, delay_ms=delay_ms, http_status=_opt_int(spec, "http_status") or 200,
        _rng=random.Random(seed),
    )
