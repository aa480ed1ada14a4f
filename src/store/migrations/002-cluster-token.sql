-- Each cluster has a token that its agents require on every request.
ALTER TABLE clusters ADD COLUMN token TEXT NOT NULL DEFAULT '';
