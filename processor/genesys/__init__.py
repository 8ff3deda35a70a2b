"""The Genesys Cloud API as chatstate uses it: OAuth client credentials with a cached,
refreshed token, a request budget under the per-token rate limit, and the handful of endpoints
the bridge calls (notification channels, analytics details, conversations, participant
attributes, queues). Paths and bodies follow the official SDK (``purecloudplatformclientv2``),
which the tests use as their oracle."""

from processor.genesys.api import GenesysApi
from processor.genesys.auth import Token, TokenSource
from processor.genesys.budget import RequestBudget
from processor.genesys.client import GenesysClient, RetryPolicy
from processor.genesys.exceptions import GenesysAuthError, GenesysError, GenesysHTTPError
from processor.genesys.regions import BaseUrls, base_urls

__all__ = [
    "BaseUrls",
    "GenesysApi",
    "GenesysAuthError",
    "GenesysClient",
    "GenesysError",
    "GenesysHTTPError",
    "RequestBudget",
    "RetryPolicy",
    "Token",
    "TokenSource",
    "base_urls",
]
