"""Demo Celery app: one task that fails now and then (its errors land in app.log)."""
from __future__ import annotations

import os
import random
import time

from celery import Celery

app = Celery("tasks", broker=os.environ.get("DEMO_BROKER_URL", "redis://redis:6379/0"))
# Failed tasks are what the demo wants to show; results are not needed.
app.conf.task_ignore_result = True
app.conf.broker_connection_retry_on_startup = True
FAILURE_RATE = float(os.environ.get("DEMO_TASK_FAILURE_RATE", "0.3"))


@app.task
def flaky() -> str:
    time.sleep(random.uniform(0.05, 0.5))
    if random.random() < FAILURE_RATE:
        raise ValueError("demo task failed on purpose")
    return "done"
