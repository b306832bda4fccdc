"""Slack adapter (see its issue): translates Slack events into core events and back."""
