"""Following: follow, unfollow, follow requests, removing followers."""
