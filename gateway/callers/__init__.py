"""What a gateway process remembers of the directory, so that a request makes no round trip to it for what
it read lately: the callers it verified (the token's signature and expiry are still checked on every request:
that costs no I/O), and the owners of the accounts a transfer names.

Several replicas share one directory, so a change made through one must reach the memory of all:
`memory` holds the rules of remembering and forgetting (pure), `cache` and `owners` apply them to callers and
to account owners; `invalidation` says which announced change forgets whom; `feed` is each process's bus
subscription to those announcements; `announced` carries the changes a request of this process announced,
which it applies itself as soon as the request is answered."""
