"""The real server process, the browser, faults and load."""
