"""Discord adapter (see its issue and docs/discord.md): translates Discord events into core
events and the core's replies back into Discord messages. No personalization logic lives here.

Modules, one job each:

* ``translate`` — discord.py objects → neutral events (identity, scopes, event ids);
* ``markup`` — Discord markup → plain text before anything reaches the core;
* ``render`` / ``views`` — replies → message chunks, persistent buttons, files;
* ``stream`` — throttled preview edits while the model writes;
* ``delivery`` — sending replies for messages, interactions and replays;
* ``commands`` — the slash command tree built from the core's registry;
* ``client`` — the discord.py client, intents, and the event glue;
* ``endpoints`` — pointing REST and gateway at a Discord-compatible server;
* ``invite`` — the OAuth2 URL with exactly the permissions used;
* ``runner`` / ``cli`` — ``serve()`` for ``tailorbot run`` and ``tailorbot discord ...``.
"""
