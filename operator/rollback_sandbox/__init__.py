"""Local sandboxes of the three provider APIs: real HTTP servers for tests, demos and users."""
