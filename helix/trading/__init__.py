"""Trading: the execution service, its event store adapter and its command endpoint."""
