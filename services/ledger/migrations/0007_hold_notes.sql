-- What a hold is for, in words ("SMS to 3 recipients"): its transaction and the capture or release that
-- settles it carry the note, so the log reads as what happened rather than as a reference. Holds placed
-- before this have none, and the log words them as it did.
ALTER TABLE holds ADD COLUMN note text CHECK (note IS NULL OR length(note) <= 200);
