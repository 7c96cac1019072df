-- phase: contract
-- Only once no release older than 1.1.0 writes visits: they would now fail to insert.
UPDATE visits SET user_agent = 'unknown' WHERE user_agent IS NULL;
ALTER TABLE visits ALTER COLUMN user_agent SET NOT NULL;
