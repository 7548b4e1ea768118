"""Baseline 1: the barest Flask + wechatpy echo webhook (signature check, parse, reply)."""

from __future__ import annotations

import os

from flask import Flask, request
from wechatpy import parse_message
from wechatpy.replies import TextReply
from wechatpy.utils import check_signature

TOKEN = os.environ.get("BENCH_TOKEN", "benchtoken")
app = Flask(__name__)


@app.post("/wechat")
def wechat() -> str:
    """Echo the text back."""
    args = request.args
    check_signature(TOKEN, args["signature"], args["timestamp"], args["nonce"])
    msg = parse_message(request.get_data())
    return TextReply(content=getattr(msg, "content", ""), message=msg).render()


@app.get("/")
def index() -> str:
    """Liveness for the bench harness."""
    return "ok"
