"""`make chaos-cluster`: the fault campaign against `make cluster`'s system, taking one RabbitMQ node, one
replica or the Postgres replica away at a time under load, with the invariants of `make chaos` and the
clients' availability while something was down."""
