"""Explicit memories, linked identities and the model's tools over them (issue 14).

``intent`` turns "remember that …" / "forget that …" into the ``/memory`` command, so a
sentence and the command share one code path (and work with no model); ``commands`` holds
``/memory`` and ``/link``; ``prompt`` gives the prompt what the person asked to be remembered.
"""
