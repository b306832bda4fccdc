"""Discord adapter (see its issue): translates Discord events into core events and back."""
