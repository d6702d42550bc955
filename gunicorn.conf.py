"""gunicorn settings read from the working directory: request lines up to gunicorn's maximum reach the
application, which answers JSON 414 above its own limit (governance.kernel.middleware.MAX_REQUEST_TARGET)."""

limit_request_line = 8190
