-- phase: expand
-- Nullable, so the previous release (which does not write it) keeps working.
ALTER TABLE visits ADD COLUMN user_agent text;
