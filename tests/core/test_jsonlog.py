from __future__ import annotations

import io
import json
import logging

from bot.core.jsonlog import JsonFormatter


def test_one_json_object_per_record_with_extra_fields() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("test.jsonlog")
    logger.addHandler(handler)
    logger.setLevel("INFO")
    try:
        logger.info("delivery", extra={"delivery_id": "abc", "latency_ms": 1.5, "event": "issues"})
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("handler failed", extra={"delivery_id": "abc"})
    finally:
        logger.removeHandler(handler)
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["msg"] == "delivery"
    assert (first["delivery_id"], first["latency_ms"], first["event"]) == ("abc", 1.5, "issues")
    assert first["level"] == "info"
    assert "ValueError: boom" in second["exc"]
