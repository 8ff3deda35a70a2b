-- A record of chatstate.session-updates carries an ordered batch of updates (schemas/updates.py,
-- version 2), so stage 2's position is (next_offset, next_index): the next update to apply is
-- update next_index of the record at next_offset. A replay then resumes inside a record, and one
-- update dead-lettered alone advances the position past it and no further. next_index is 0 at a
-- record boundary, so sum(next_offset) still counts the records fully applied.
ALTER TABLE consumer_positions ADD COLUMN next_index integer NOT NULL DEFAULT 0;
