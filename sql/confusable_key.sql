-- Confusable keys: look-alikes share a key.
SET search_path = handle_market, public;

SELECT h AS candidate, confusable_key(h::handle) AS key
  FROM unnest(ARRAY['elon_musk', 'eIon_musk', 'e1on_musk', 'EL0N_MUSK',
                    'еlon_musk',        -- Cyrillic е
                    'g00gle', 'google', 'apple', 'аррӏе',
                    'vvikipedia', 'wikipedia', 'cloud', 'doud',
                    'Ωmega', 'ωmega', 'straße']) AS h;

-- a unique index on the key refuses a look-alike of a live handle
CREATE TABLE live_handles (h handle PRIMARY KEY);
CREATE UNIQUE INDEX live_handles_key ON live_handles (confusable_key(h));
INSERT INTO live_handles VALUES ('elon_musk'), ('google'), ('apple');
INSERT INTO live_handles VALUES ('eIon_musk');
INSERT INTO live_handles VALUES ('аррӏе');
INSERT INTO live_handles VALUES ('g00gle');
SELECT h FROM live_handles ORDER BY h;

-- the key function is immutable, so expression indexes stay valid
SELECT provolatile FROM pg_proc WHERE oid = 'confusable_key(handle)'::regprocedure;
