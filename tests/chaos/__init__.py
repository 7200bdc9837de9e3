"""The fault campaign: concurrent purchases, transfers and holds through the gateway while processes,
RabbitMQ and Postgres are killed and restarted, then a check that no credit was created, lost or
counted twice. `python -m tests.chaos --help`; `make chaos`."""
