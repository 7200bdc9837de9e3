-- The version of the newest credit-mode switch applied, apart from the tenant's version: a switch is late
-- (and sweeps nothing) only when a newer *switch* was applied before it. A newer change of other facts
-- (a threshold, a name) applied first carries the mode too, and must not make the switch skip its sweep.
-- Tenants known before keep their old rule: every switch older than their version counts as applied.
ALTER TABLE tenants ADD COLUMN mode_switch_version bigint;
UPDATE tenants SET mode_switch_version = version;
