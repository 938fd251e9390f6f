-- The ICU and Unicode versions behind stored keys are recorded, and a backend
-- that runs other versions warns when it loads the library.
SET search_path = handle_market, public;

SELECT icu_version = running_icu_version() AS icu_matches,
       unicode_version = running_unicode_version() AS unicode_matches
  FROM unicode_versions;

-- pretend the keys were computed with an older ICU
UPDATE unicode_versions SET icu_version = '0.1', unicode_version = '1.1';
\c
SET client_min_messages = warning;
SELECT 'elon'::handle_market.handle;
-- recording the running versions clears the warning for the next backend
SELECT icu_version = handle_market.running_icu_version() AS recorded
  FROM handle_market.record_unicode_versions();
\c
SELECT 'elon'::handle_market.handle;
-- ordinary users read the versions through a function, not the table, and
-- may not record new ones
SELECT has_table_privilege('public', 'handle_market.unicode_versions', 'SELECT') AS public_select,
       has_function_privilege('public', 'handle_market.recorded_unicode_versions()', 'EXECUTE') AS public_read,
       has_function_privilege('public', 'handle_market.record_unicode_versions()', 'EXECUTE') AS public_record;
