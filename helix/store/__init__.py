"""The event store on NATS JetStream: stream layout, market fast path, readers, errors."""
