"""SQLAlchemy typed tables, one module per aggregate. Importing this registers them all."""

from starling.models.accounts import Account, User
from starling.models.base import Base
from starling.models.instance import InstanceSetting, Rule
from starling.models.jobs import Job
from starling.models.lists import List, ListAccount
from starling.models.maintenance import ActivityHour, Announcement, AnnouncementDismissal
from starling.models.oauth import AccessToken, Application, AuthorizationCode
from starling.models.social import Block, Follow, FollowRequest, Mute
from starling.models.statuses import (
    Bookmark,
    Favourite,
    IdempotencyKey,
    MediaAttachment,
    Mention,
    Pin,
    Status,
    StatusEdit,
    StatusTag,
    Tag,
)
from starling.models.streaming import StreamEvent
from starling.models.tags_follow import FeaturedTag, TagFollow
from starling.models.timelines import HomeFeedEntry, Marker, Notification

__all__ = [
    "AccessToken",
    "Account",
    "ActivityHour",
    "Announcement",
    "AnnouncementDismissal",
    "Application",
    "AuthorizationCode",
    "Base",
    "Block",
    "Bookmark",
    "Favourite",
    "FeaturedTag",
    "Follow",
    "FollowRequest",
    "HomeFeedEntry",
    "IdempotencyKey",
    "InstanceSetting",
    "Job",
    "List",
    "ListAccount",
    "Marker",
    "MediaAttachment",
    "Mention",
    "Mute",
    "Notification",
    "Pin",
    "Rule",
    "Status",
    "StatusEdit",
    "StatusTag",
    "StreamEvent",
    "Tag",
    "TagFollow",
    "User",
]
