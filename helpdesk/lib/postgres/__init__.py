"""Django's PostgreSQL backend with a cheaper, faster-healing pool check: see base.py."""
