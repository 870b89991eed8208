# Placeholder: the Python half of the asgid event loop (being written).
