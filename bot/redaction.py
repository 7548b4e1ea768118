"""Secrets never reach a log line or an error text: access tokens, app secrets, the webhook token, AES keys.

``install()`` wraps the logging record factory, so every record of every logger (ours, urllib3's,
requests', wechatpy's, werkzeug's) is redacted when it is made, tracebacks included.
"""

from __future__ import annotations

import logging
import re
import threading
import traceback
from typing import Any

MASK = "***"
# access_token=…, secret=…, appsecret=… in URLs, and "secret": "…" / 'access_token': '…' in JSON or reprs.
_QUERY = re.compile(r"((?:access_token|secret|appsecret|app_secret|encoding_aes_key)=)[^&\s\"'#)]+", re.IGNORECASE)
_JSON = re.compile(r"""((["'])(?:access_token|secret|app_secret|token|encoding_aes_key)\2\s*:\s*(["']))[^"']+""",
                   re.IGNORECASE)
_known: set[str] = set()
_lock = threading.Lock()
_installed = False


def remember(*values: str) -> None:
    """Redact these configured secret values wherever they appear (values shorter than 6 are ignored)."""
    with _lock:
        _known.update(v for v in values if v and len(v) >= 6)


def redact(text: str) -> str:
    """The text with every secret it holds replaced by ***."""
    text = _JSON.sub(lambda m: m.group(1) + MASK, _QUERY.sub(lambda m: m.group(1) + MASK, text))
    for value in sorted(_known, key=len, reverse=True):
        if value in text:
            text = text.replace(value, MASK)
    return text


def _redact_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a bad format string is logging's own error to report
        return
    clean = redact(message)
    if clean != message:
        record.msg, record.args = clean, ()
    if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
        record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))


def install() -> None:
    """Redact every log record of this process from now on (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        _redact_record(record)
        return record

    logging.setLogRecordFactory(factory)
