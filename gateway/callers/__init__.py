"""The callers a gateway process has verified lately, so that an authenticated request whose caller it
remembers makes no round trip to the directory (the token's signature and expiry are still checked on every
request: that costs no I/O).

Several replicas share one directory, so a change made through one must reach the memory of all:
`cache` holds the rules of remembering and forgetting (pure); `invalidation` says which announced change
forgets whom; `feed` is each process's bus subscription to those announcements; `announced` carries the
changes a request of this process announced, which it applies itself as soon as the request is answered."""
