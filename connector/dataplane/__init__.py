"""The data HTTP edge: where pull consumers fetch data with an EDR, and refresh it.

Routes are thin: they turn an HTTP request into a ``DataRequest`` (a streamed body included),
hand it to ``services.dataflow``, and stream the ``Reply`` back (``responses``: a stored file by
sendfile, a large backend body by splice, where the server allows, ``zerocopy``); refusals become
JSON with a reason. Endpoints (under the connector's public URL):

- ``GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS /api/public[/{path}]``: data, with the EDR's token in
  ``Authorization`` (raw, as EDC consumers send it, or ``Bearer ...``);
- ``POST /api/public/token?grant_type=refresh_token&refresh_token=...``: the Tractus-X refresh-token
  grant, with the current (possibly expired) access token in ``Authorization``. A POST to
  ``/api/public/token`` without ``grant_type`` is an ordinary data request.
"""

from connector.dataplane.routes import router

__all__ = ["router"]
