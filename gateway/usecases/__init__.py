"""What the gateway does for a request, one module per area: consult the directory, decide who may do
what, and call the services through their typed clients. Route handlers parse, call one of these and
shape the answer; the flows that span services (a message's hold and hand-over, a refund's wait) are
here, where unit tests reach them with fake clients."""
