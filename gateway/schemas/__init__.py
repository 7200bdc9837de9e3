"""The public API's request and answer shapes, by area; the OpenAPI document is generated from them."""
