"""Shared test support: builders of events, API helpers, generated logs, scratch clusters."""
