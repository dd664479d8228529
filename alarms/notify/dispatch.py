"""Publishing the sender task by name, so the domain layer never imports the Celery module.

``alarms.tasks`` registers ``alarms.tasks.send_outbound_message`` (``AlarmsConfig.ready`` imports
it); a signature by name then honours CELERY_TASK_ALWAYS_EAGER like the task object would.
"""

from __future__ import annotations

import logging

from celery import current_app

logger = logging.getLogger(__name__)

SEND_TASK = "alarms.tasks.send_outbound_message"


def enqueue_outbound_message(message_id: int, *, countdown: float | None = None) -> bool:
    """Publish the sender task; a broker failure is logged, never raised (the sweep re-queues).

    Embedded mode runs it at once whatever the countdown: the sender then finds the message not
    yet due and leaves it to the sweep.
    """
    options = {"countdown": countdown} if countdown else {}
    try:
        current_app.signature(SEND_TASK, args=(message_id,)).apply_async(**options)
    except Exception:
        logger.exception("could not queue outbound message %s; the sweep will", message_id)
        return False
    return True
