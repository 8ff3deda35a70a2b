"""Where an org's API lives: Genesys names a region by its domain (``mypurecloud.com``,
``mypurecloud.ie``, ``euw2.pure.cloud``, ...); the API is ``https://api.<domain>`` and the login
service ``https://login.<domain>``. Explicit base URLs (an emulator, a proxy) take precedence."""

from __future__ import annotations

import re
from dataclasses import dataclass

from processor.errors import ConfigError

__all__ = ["BaseUrls", "base_urls"]

_DOMAIN = re.compile(r"^(?:[a-z0-9-]+\.)+[a-z]{2,}$")


@dataclass(frozen=True)
class BaseUrls:
    api: str
    login: str


def base_urls(
    region: str | None, api_base_url: str | None = None, login_base_url: str | None = None
) -> BaseUrls:
    """The API and login base URLs, without a trailing slash. Raises ``ConfigError`` naming the
    variable when neither a region nor both explicit URLs are given."""
    if api_base_url or login_base_url:
        if not (api_base_url and login_base_url):
            raise ConfigError(
                "GENESYS_API_BASE_URL and GENESYS_LOGIN_BASE_URL go together (set both)"
            )
        return BaseUrls(api_base_url.rstrip("/"), login_base_url.rstrip("/"))
    if not region:
        raise ConfigError(
            "set GENESYS_REGION (e.g. mypurecloud.com) or GENESYS_API_BASE_URL + "
            "GENESYS_LOGIN_BASE_URL"
        )
    domain = region.strip().lower().removeprefix("https://").removeprefix("api.").rstrip("/")
    if not _DOMAIN.match(domain):
        raise ConfigError(
            f"GENESYS_REGION={region!r} is not a Genesys region domain (e.g. mypurecloud.com, "
            "mypurecloud.ie, euw2.pure.cloud)"
        )
    return BaseUrls(f"https://api.{domain}", f"https://login.{domain}")
