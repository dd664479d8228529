"""The room for outbound channels: pure building blocks, and the sender that uses them.

Pure (no database, no network): ``message`` turns an alarm into a title and a
markdown body, with payload text made inert by ``escaping`` and times shown by ``timefmt``;
``signing`` holds the vendors' signature schemes; ``formats`` builds the exact HTTP request for
each channel kind (``kinds``: ``webhook``, ``wecom``, ``dingtalk``, ``feishu``) and ``digest`` the
one message for a robot's overflow; ``responses`` reads the vendors' answers; and ``ratelimit`` is
the token bucket that keeps each robot under its vendor's limit; ``matching`` evaluates a filter.
With I/O: ``sender`` (claim, rate-limit gate, retries), ``outbound`` (the request for a message),
``transport`` (HTTP and email) and ``dispatch`` (publishing the sender task by name).
"""
