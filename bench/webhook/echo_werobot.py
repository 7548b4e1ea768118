"""Baseline 2: WeRoBot's own echo robot (installed into the bench's baseline venv only)."""

from __future__ import annotations

import os

from werobot import WeRoBot

robot = WeRoBot(
    token=os.environ.get("BENCH_TOKEN", "benchtoken"),
    encoding_aes_key=os.environ.get("BENCH_AES_KEY") or None,
    app_id=os.environ.get("BENCH_APP_ID") or None,
    enable_session=False,  # its default SQLite session store fails under threads
)


@robot.text
def echo(message):  # type: ignore[no-untyped-def]
    """Echo the text back."""
    return message.content


app = robot.wsgi
