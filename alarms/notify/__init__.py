"""The room for outbound channels: one module per kind of concern, all pure.

Nothing here touches the database or the network. ``message`` turns an alarm into a title and a
markdown body, with payload text made inert by ``escaping`` and times shown by ``timefmt``;
``signing`` holds the vendors' signature schemes; ``formats`` builds the exact HTTP request for
each channel kind (``kinds``: ``webhook``, ``wecom``, ``dingtalk``, ``feishu``) and ``digest`` the
one message for a robot's overflow; ``responses`` reads the vendors' answers; and ``ratelimit`` is
the token bucket that keeps each robot under its vendor's limit. The outbox model and the Celery
sender call these functions and do the I/O themselves.
"""
