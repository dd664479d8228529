"""Every state change of AlarmHub's domain, one module per concern.

Admin, console, API, commands and Celery tasks all call these functions; each is keyword-only
and atomic. Import the function from its module (``alarms.services.operator`` and so on).
"""
