"""Core jobs: the spine's own diagnostics; the reaper of expired leases and the redelivery of
events a broker lost (periodic).

`system.selftest` (and `system.selftest_gpu`) → a stepwise job that checkpoints each step, used to
check that a queue's workers run, heartbeat, and resume after a crash.
"""

from __future__ import annotations

import time

from erasure_platform.core.periodic import periodic
from erasure_platform.core.queues import DEFAULT_QUEUE, GPU_QUEUE
from erasure_platform.core.services.jobs import JobContext, JobFailed, job_handler, jobs_reap_expired
from erasure_platform.core.services.outbox import outbox_redeliver_unprocessed


def _selftest(context: JobContext) -> dict:
    steps = context.params.get("steps", 5)
    seconds = context.params.get("step_seconds", 0.1)
    if not isinstance(steps, int) or not 1 <= steps <= 10_000:
        raise JobFailed("params.steps must be an integer between 1 and 10000")
    if not isinstance(seconds, int | float) or not 0 <= seconds <= 60:
        raise JobFailed("params.step_seconds must be a number between 0 and 60")
    done = list(context.state.get("done_steps", []))
    executed_now = []
    for step in range(steps):
        if step in done:
            continue  # finished by an earlier attempt
        time.sleep(seconds)
        done.append(step)
        executed_now.append(step)
        context.save_state(done_steps=done)
        context.progress(len(done) / steps, f"step {step + 1} of {steps}")
    return {"steps": steps, "attempt": context.attempt, "executed_in_last_attempt": executed_now}


job_handler("system.selftest", queue=DEFAULT_QUEUE)(_selftest)
job_handler("system.selftest_gpu", queue=GPU_QUEUE)(_selftest)


periodic("jobs.reap_expired", interval_setting="JOB_REAP_INTERVAL_SECONDS")(jobs_reap_expired)
periodic("outbox.redeliver_unprocessed", interval_setting="OUTBOX_REDELIVER_INTERVAL_SECONDS")(
    outbox_redeliver_unprocessed
)
