"""Test support shared by several test modules, independent of the service's code."""
