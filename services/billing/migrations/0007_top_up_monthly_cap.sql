-- A monthly cap on what auto top-up spends on an account: the top-ups charged this calendar month (pending
-- or paid, their purchases' totals with tax) plus the next one must fit under it; none: no cap. A top-up
-- that would pass it is not charged and fails as a declined one does ("monthly cap reached"). The month's
-- top-ups are found by `top_ups_by_day` (account_id, local_day).
ALTER TABLE auto_top_ups ADD COLUMN monthly_cap_cents bigint CHECK (monthly_cap_cents > 0);
