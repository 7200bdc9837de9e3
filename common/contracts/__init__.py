"""What crosses a service boundary, declared once and imported on both sides: the problem types every
answer may carry, the queues each consumer owns, the events on the bus and the HTTP shapes that the
gateway and a service exchange."""
