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

-- look-alikes ICU's skeleton joins share a key with them (issue 11):
-- Greek β and ß (the skeleton of β is ß, which folds to ss), stigma ϛ and
-- final sigma ς, Cherokee ꭰ (U+AB70) and small capital ᴅ (U+1D05),
-- Cherokee ꮁ (U+AB81) and r, and i + U+0307 (the dot of i) and i
SELECT h AS candidate, confusable_key(h::handle) AS key
  FROM unnest(ARRAY['straße', 'straβe', 'strasse',
                    'οδος', 'οδοϛ',
                    'ꭰ', 'ᴅ', 'd',
                    'ꮁoot', 'root',
                    'ᴇʟᴏɴ_ᴍᴜꜱᴋ',
                    'eli' || E'\u0307' || 'onmusk', 'elionmusk',
                    'İstanbul', 'istanbul']) AS h;

-- so the README's unique index lets only one of straße and straβe in
CREATE TABLE registered (h handle PRIMARY KEY);
CREATE UNIQUE INDEX ON registered (confusable_key(h));
INSERT INTO registered VALUES ('straße');
INSERT INTO registered VALUES ('straβe');
INSERT INTO registered VALUES ('strasse');
INSERT INTO registered VALUES ('elionmusk');
INSERT INTO registered VALUES ('eli' || E'\u0307' || 'onmusk');
SELECT h FROM registered ORDER BY h;

-- the key function is immutable, so expression indexes stay valid
SELECT provolatile FROM pg_proc WHERE oid = 'confusable_key(handle)'::regprocedure;
