"""Slack adapter (see docs/slack.md): translates Slack events into core events and back.

Modules, one job each:

* ``markup``    Slack markup ⇄ plain text / mrkdwn (mentions, links, emoji codes, escaping)
* ``translate`` Slack payloads → neutral events, plus the :class:`~translate.Origin` to answer
* ``render``    core ``Reply`` → message payload (text, Block Kit buttons, feedback buttons)
* ``stream``    showing an answer while it is written (chat streaming API or updates)
* ``delivery``  sending replies (post, ephemeral, response_url, DM, file upload, edit)
* ``directory`` cached ``users.info`` (timezone, locale, names)
* ``threads``   which channel threads are conversations with the bot
* ``app``       the Bolt ``AsyncApp`` and its listeners
* ``http``      the aiohttp server for HTTP mode
* ``runner``    ``configured()`` / ``serve()`` for ``tailorbot run`` (Socket Mode or HTTP)
* ``oauth``     "Add to Slack": Bolt's OAuth flow, its endpoints, uninstall clean-up
* ``installations`` slack_sdk's installation/state stores on our database, tokens encrypted
* ``workspaces`` one client bundle per workspace (its token, user cache, sender)
* ``manifest``  the app manifest (scopes, events, commands the code uses); ``cli`` prints it
"""
