"""Presentation, pure: headlines and words in three languages, timelines."""
