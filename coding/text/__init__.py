"""Text positions: the one module that converts offsets (code points, UTF-16, REFI).
Pure: imports nothing of the store or the services."""
