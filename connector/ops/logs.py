"""Log lines as text or as JSON objects (``[log] format``), each with its correlation id."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from connector.services.correlation import correlation_id

TEXT = "%(asctime)s %(levelname)s %(name)s [%(correlation_id)s]: %(message)s"


class CorrelationFilter(logging.Filter):
    """Puts the correlation id in hand on every record (``-`` outside a request or process)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.correlation_id = correlation_id.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                "level": record.levelname, "logger": record.name, "message": record.getMessage(),
                "correlation_id": getattr(record, "correlation_id", None) or correlation_id.get()}
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure_logging(level: str, format: str) -> None:
    """The root logger writes to stderr in ``format``; uvicorn's loggers follow it."""
    handler = logging.StreamHandler()
    handler.addFilter(CorrelationFilter())
    handler.setFormatter(JsonFormatter() if format == "json" else logging.Formatter(TEXT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
