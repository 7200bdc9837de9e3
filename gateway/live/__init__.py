"""The live stream (`GET /api/v1/stream`): each gateway process follows the bus on a queue of its own and
pushes what each connected caller may see to them as Server-Sent Events (see docs/live-stream.md).

`views` turns an event into small client-facing messages and decides who may see each (pure); `hub` keeps
the connected streams and a short buffer per tenant for resuming; `feed` is the bus subscription; `sse`
writes the wire format."""
