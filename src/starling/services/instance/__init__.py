"""What the server says about itself, and the admin's changes to it."""
