"""The gateway's own data: tenants, people, their roles and who may do what, and the events that tell the
other services of every change."""
