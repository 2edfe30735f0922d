"""Real-time delivery of statuses, notifications, edits and deletions (docs/STREAMING.md).

``emit`` writes events into the durable log in the transaction of the change; ``hub`` reads the log in
each web worker and hands every event to the connections that may see it (``audience``); ``backends``
wake the hubs of all processes when something was committed. The Mastodon endpoints are in
``starling.web.mastodon.streaming``.
"""
