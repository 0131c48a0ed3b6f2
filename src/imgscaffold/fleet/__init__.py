"""Many generated repositories at once: updating them, and where each one stands."""
