"""Interactive API docs at ``/api/docs`` from a vendored Swagger UI (swagger-ui-bundle).

FastAPI's built-in page loads Swagger UI from a CDN and starts it with an inline
script; both break offline use and the Content-Security-Policy. This page loads the
bundle and a small start-up script from this server.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

STATIC = "/api/docs/static"
PAGE = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>TidyLLM API</title>
<link rel="stylesheet" href="{STATIC}/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="{STATIC}/swagger-ui-bundle.js"></script>
<script src="/api/docs/start.js"></script></body></html>
"""
START = (
    "window.ui = SwaggerUIBundle({url: '/api/v1/openapi.json', dom_id: '#swagger-ui',"
    " deepLinking: true, persistAuthorization: false});\n"
)

router = APIRouter(include_in_schema=False)


@router.get("/api/docs")
def docs_page() -> HTMLResponse:
    return HTMLResponse(PAGE)


@router.get("/api/docs/start.js")
def docs_start() -> Response:
    return Response(START, media_type="text/javascript")


def install(app: FastAPI) -> None:
    from swagger_ui_bundle import swagger_ui_path

    app.mount(STATIC, StaticFiles(directory=swagger_ui_path), name="swagger-ui")
    app.include_router(router)
