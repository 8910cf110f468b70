"""Socket.IO handlers: the socket-side twin of the blueprints, calling the services."""
