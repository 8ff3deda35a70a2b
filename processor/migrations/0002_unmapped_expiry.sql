-- Unmapped conversations expire after CHATSTATE_UNMAPPED_RETENTION (first seen before it): the
-- leader's scan deletes them oldest first, and this index keeps that delete from scanning the
-- whole table on every round (a flood can fill it to CHATSTATE_PARKED_MAX_CONVERSATIONS rows).
CREATE INDEX unmapped_conversations_by_age ON unmapped_conversations (first_seen_at);
