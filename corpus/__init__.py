"""The real-code corpus (issue 12): pinned third-party Keras packages fetched from PyPI (fetch.py)
and our own programs in the style of old Keras tutorials (programs/)."""
