-- A gap row carries the figure the agency sent and chiso refused (JSON: location, raw
-- text, code, message, what to write instead, file), so `chiso gaps` and the digests say
-- "refused" with the cell and the reason rather than "not reported".
ALTER TABLE evaluations ADD COLUMN reject TEXT;

-- The sender's display name as composed (the coordinating agency valid that day: Sở TT&TT
-- until 28/2/2025, Sở KH&CN after); NULL: the configured `mail.from`.
ALTER TABLE outbox ADD COLUMN sender TEXT;
