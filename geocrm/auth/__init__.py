"""Login, logout, users and the rate limit on password guessing."""
