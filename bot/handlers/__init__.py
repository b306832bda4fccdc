"""One handler per event kind, behind the router (bot/core.py): chat messages go through
bot/pipeline/chat.py, commands and buttons through :mod:`bot.handlers.commands`, reactions
and feedback buttons through :mod:`bot.handlers.feedback`."""
