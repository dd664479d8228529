"""AlarmHub's PostgreSQL database backend (``ENGINE = "alarmhub.postgresql"``): see ``base``."""
