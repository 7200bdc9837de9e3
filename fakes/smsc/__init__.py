"""A local SMSC to send to without a carrier account (`python -m fakes.smsc`): a stand-in for the
carrier, used by `make run` and the tests, never by production code."""
