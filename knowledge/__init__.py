"""Makes the YAML data directory a package, so importlib.resources.files("knowledge") finds it."""
