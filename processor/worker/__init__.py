"""The stream worker: stage 1 (normalise and route), stage 2 (apply per session), timers."""
