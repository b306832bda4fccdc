"""The operator's command line (``tailorbot …``): a driving adapter like Slack or Discord.

``main`` is the root (the composition root: it may import every adapter, while ``bot/``
never imports one); each sub-command group has its own module here.
"""
