"""The Mastodon client API: one module per resource, entities rendered by ``render``."""
