"""The manager's monthly summary: page, CSV, API and e-mail digest."""
