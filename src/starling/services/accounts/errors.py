"""Validation errors that name the field at fault, as Mastodon's ``details`` do."""

from __future__ import annotations

from starling.domain.errors import Unprocessable

Details = dict[str, list[dict[str, str]]]

_LABELS = {"agreement": "Agreement", "email": "Email", "password": "Password", "username": "Username",
           "reason": "Reason", "locale": "Locale", "password_confirmation": "Password confirmation"}


class Problems:
    """Collects every problem with a form before failing, so a person sees them all at once."""

    def __init__(self) -> None:
        self.details: Details = {}

    def add(self, field: str, code: str, description: str) -> None:
        self.details.setdefault(field, []).append({"error": code, "description": description})

    def __bool__(self) -> bool:
        return bool(self.details)

    def has(self, field: str) -> bool:
        return field in self.details

    def raise_if_any(self) -> None:
        if self.details:
            raise ValidationFailed(self.details)


def sentence(field: str, description: str) -> str:
    label = _LABELS.get(field, field.replace("_", " ").capitalize())
    return f"{label} {description}"


class ValidationFailed(Unprocessable):
    """422 whose body also carries ``details``: field → [{"error": "ERR_...", "description": ...}]."""

    def __init__(self, details: Details):
        parts = [sentence(field, item["description"]) for field, items in details.items() for item in items]
        super().__init__("Validation failed: " + ", ".join(parts), details=details)

    def messages(self) -> list[str]:
        return [sentence(f, i["description"]) for f, items in self.details.items() for i in items]
