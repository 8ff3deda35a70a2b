"""chatstate: the stream processor that keeps long-lived Genesys chat sessions alive."""

__version__ = "0.1.0"
