-- phase: expand
-- Broken on purpose: the last statement references a table that does not exist, so the
-- whole file (audit_log and the new column included) is rolled back.
CREATE TABLE audit_log (
    id      bigserial PRIMARY KEY,
    message text NOT NULL
);
INSERT INTO audit_log (message) SELECT path FROM visits;
ALTER TABLE visits ADD COLUMN referrer_id integer;
ALTER TABLE visits ADD CONSTRAINT visits_referrer_fk FOREIGN KEY (referrer_id) REFERENCES referrers (id);
