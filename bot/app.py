"""Flask app factory."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from bot import redaction
from bot.services import Services
from domain.settings import Settings, load_settings, require_production_secrets

logger = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, services: Services | None = None, *,
               development: bool = False, clock: Callable[[], datetime] | None = None) -> Flask:
    """Build the web app; tests pass their own settings or services; only `serve` with the stand-in
    passes ``development`` (the public development secrets are refused otherwise); ``clock`` lets a test
    run a week-long process (a meeting noticed 7 days ahead) in minutes."""
    from bot.webhook import Webhook, bp
    from handlers import load_routes

    settings = services.settings if services is not None else (settings or load_settings())
    if not development:
        require_production_secrets(settings)
    redaction.install()
    redaction.remember(settings.wechat.token, settings.wechat.app_secret, settings.wechat.encoding_aes_key)
    load_routes()
    if services is None:
        services = Services.from_settings(settings, pre_ping=False, development=development)
    app = Flask("shangliang", static_folder=None)  # no /static route: it would serve the working directory
    app.config["MAX_CONTENT_LENGTH"] = services.settings.webhook.max_body_bytes
    app.extensions["shangliang.services"] = services
    app.extensions["shangliang.webhook"] = Webhook(services, clock)
    app.register_blueprint(bp)

    @app.get("/healthz")
    def healthz():  # type: ignore[no-untyped-def]
        """Database and Redis reachability."""
        status = services.health()
        return jsonify(status), 200 if status["ok"] else 503

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):  # type: ignore[no-untyped-def]
        """Plain short answers for 4xx (413 from MAX_CONTENT_LENGTH, 404, 405)."""
        return exc.name.lower(), exc.code or 400, {"Content-Type": "text/plain"}

    return app
