"""Measuring chatstate on the running stack: the benchmark (``chatstate bench``), its two
yardsticks, and the fault suite (``chatstate bench chaos``). Each run gets a private topic
prefix and database (``space``) so runs never mix."""
