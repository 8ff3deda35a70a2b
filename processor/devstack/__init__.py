"""The local development stack: a real Kafka broker and a real PostgreSQL, no Docker needed."""
