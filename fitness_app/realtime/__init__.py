"""Socket.IO: per-user rooms, the connection handlers, presence and the one emit."""
