"""The toolkit's version, stamped on every report."""

__version__ = "0.1.0"
