"""Stand-ins for what production talks to, kept outside production code and loaded only where a
deployment or a test chooses them: the test payment processor (`PAYMENT_PROVIDER=test`) and the SMSC
simulator."""
