"""The pure core: plain functions over pydantic models. No I/O, no clock, no global state."""
