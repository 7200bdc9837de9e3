"""The gateway's web edge: the API route registry and OpenAPI document, sign-in tokens, middlewares, rate
limits, and the server-rendered pages and web app shell."""
