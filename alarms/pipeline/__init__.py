"""From stored callback to alarm change: decode, store, claim, process, sweep, prune.

One path for every delivery: ``process.run_delivery`` is what the Celery task, the
``reprocess_deliveries`` command and the admin's reprocess action all end up calling.
"""
