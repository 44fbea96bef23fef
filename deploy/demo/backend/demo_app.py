"""Demo backend: a FastAPI app with one endpoint per kind of behaviour Lookout watches.

Served by uvicorn behind the demo's nginx (which keeps the /api prefix), logging through
deploy/application/backend/logging.json into /app/backend/logs/app.log, exactly like the
application host's backend. Nothing here knows about monitoring.
"""
from __future__ import annotations

import asyncio
import logging
import os

from fastapi import FastAPI, HTTPException
from fastapi.responses import JSONResponse

from tasks import flaky

log = logging.getLogger("demo")
SLOW_SECONDS = float(os.environ.get("DEMO_SLOW_SECONDS", "2.5"))

app = FastAPI(title="Lookout demo backend")


@app.get("/api/health")
async def health() -> dict:
    return {"ok": True}


@app.get("/api/fast")
async def fast() -> dict:
    return {"ok": True, "took": "no time"}


@app.get("/api/slow")
async def slow(seconds: float | None = None) -> dict:
    """Slower than the 2 s P95 threshold unless told otherwise (capped at 30 s)."""
    delay = min(max(seconds if seconds is not None else SLOW_SECONDS, 0.0), 30.0)
    await asyncio.sleep(delay)
    log.info("slow request took %.1f s", delay)
    return {"ok": True, "slept": delay}


@app.get("/api/error")
async def error() -> JSONResponse:
    log.error("demo error endpoint answered 500")
    return JSONResponse({"ok": False, "error": "something went wrong (on purpose)"}, status_code=500)


@app.get("/api/exception")
async def exception() -> dict:
    # Unhandled: uvicorn logs the traceback to app.log and answers 500.
    raise RuntimeError("demo exception raised on purpose")


@app.get("/api/not-found")
async def not_found() -> dict:
    raise HTTPException(status_code=404, detail="nothing here (on purpose)")


@app.post("/api/task")
async def task() -> dict:
    """Queue the Celery task that fails now and then."""
    result = flaky.delay()
    return {"queued": result.id}
