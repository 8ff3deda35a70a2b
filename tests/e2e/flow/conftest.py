"""The API's served-process fixture, shared with the flow tests that also run a worker."""

from tests.e2e.api.conftest import served_api

__all__ = ["served_api"]
