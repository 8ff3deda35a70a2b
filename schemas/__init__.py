"""The contracts chatstate shares with Genesys, the web back end and reporting consumers."""
