"""What ``tailorbot run`` serves over HTTP for its operator, on one port in every mode:
``/healthz`` (the process is alive), ``/readyz`` (database, model, adapters), Prometheus
``/metrics`` and the operator page under ``/admin`` (behind ``TAILORBOT_ADMIN_TOKEN``).

* ``web``     the one aiohttp server; Slack's HTTP mode mounts ``/slack/events`` on it
* ``health``  liveness and readiness, and the adapters' states
* ``scrape``  ``/metrics``: :data:`bot.metrics.REGISTRY` plus counts read from the database
* ``admin``   the operator page (aggregates only, never a person's data); ``charts`` its SVG
"""
