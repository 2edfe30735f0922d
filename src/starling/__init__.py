"""Starling: a self-hosted microblogging server that speaks the Mastodon client API."""

__version__ = "0.1.0"
MASTODON_COMPAT_VERSION = "4.5.0"
