"""What pins a runtime, for every way of making one: lock files, the Python and Debian release, and the
installers (uv, npm) that read them. Nothing here runs a stage; runtimes and images build on it."""
