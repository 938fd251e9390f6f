-- test/pgtap/profiles_and_keys.sql
-- Sign-up profiles (check_handle) and confusable keys, one assertion each.
\ir include/settings.psql

BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS handle_market;
-- The superuser only installs.  The type, check_handle and confusable_key are
-- PUBLIC's: the assertions run as a role with no grant at all, which proves it.
CREATE ROLE hm_test_public;                -- rolled back with the test
SET ROLE hm_test_public;
SET search_path = handle_market, public;

SELECT plan(49);

-- x_classic: ^[A-Za-z0-9_]{4,15}$ after one '@'
SELECT is(check_handle('elon_musk'), NULL, 'x_classic: elon_musk is acceptable');
SELECT is(check_handle('@Elon_Musk'), NULL, 'x_classic: one leading @ is dropped');
SELECT is(check_handle('abcd'), NULL, 'x_classic: 4 characters is the least');
SELECT is(check_handle('abcdefghijklmno'), NULL, 'x_classic: 15 characters is the most');
SELECT is(check_handle('abc'), 'handle must have 4 to 15 characters; it has 3', 'x_classic: 3 is too short');
SELECT is(check_handle('abcdefghijklmnop'), 'handle must have 4 to 15 characters; it has 16', 'x_classic: 16 is too long');
SELECT is(check_handle('еlon_musk'), 'character U+0435 CYRILLIC SMALL LETTER IE at position 1 is not allowed',
          'x_classic: a Cyrillic letter is named with its position');
SELECT is(check_handle('@@elon'), 'character U+0040 COMMERCIAL AT at position 2 is not allowed',
          'x_classic: only one @ is dropped; positions count it');
SELECT is(check_handle('René_2'), 'character U+00E9 LATIN SMALL LETTER E WITH ACUTE at position 4 is not allowed',
          'x_classic: accented letters are outside the classic profile');
SELECT is(check_handle(''), 'handle is empty', 'x_classic: empty');
SELECT is(check_handle(NULL), 'handle is missing', 'x_classic: NULL is not acceptable');

-- precis: the type's rules, 3 to 30 characters, ICU's spoof checks
SELECT is(check_handle('René_2', 'precis'), NULL, 'precis: accented Latin is acceptable');
SELECT is(check_handle('δοκιμή', 'precis'), NULL, 'precis: Greek is acceptable');
SELECT is(check_handle('аррӏе', 'precis'), NULL, 'precis: all-Cyrillic is a single script');
SELECT is(check_handle('аpple', 'precis'), 'handle mixes the scripts Cyrillic and Latin, which may not be mixed',
          'precis: Latin with one Cyrillic letter is refused');
SELECT is(check_handle('ab', 'precis'), 'handle must have 3 to 30 characters; it has 2', 'precis: too short');
SELECT is(check_handle(repeat('a', 31), 'precis'), 'handle must have 3 to 30 characters; it has 31', 'precis: too long');
SELECT is(check_handle('x' || E'\u200B' || 'yz', 'precis'),
          'character U+200B ZERO WIDTH SPACE at position 2 is not allowed', 'precis: invisible characters');
SELECT is(check_handle('ab१', 'precis'), 'handle mixes the scripts Latin and Devanagari, which may not be mixed',
          'precis: digits of another script');
SELECT throws_ok($$ SELECT check_handle('elon', 'nope') $$, '22023', 'unknown handle profile "nope"',
                 'an unknown profile is a programming error');
SELECT lives_ok($$ SELECT check_handle(E'\u0001\u0002', 'precis'), check_handle(repeat('é', 5000), 'precis'),
                          check_handle(repeat('@', 100)) $$,
                'check_handle never raises for bad input');

-- the type raises 22P02 with the offending character in the detail
SELECT throws_ok($$ SELECT 'elon musk'::handle $$, '22P02',
                 'invalid input syntax for type handle: "elon musk"', 'a space is refused with 22P02');
SELECT throws_ok($$ SELECT ''::handle $$, '22P02',
                 'invalid input syntax for type handle: ""', 'empty input is refused');
SELECT is('@ElonMusk'::handle::text, 'elonmusk', 'the canonical form drops @ and lowercases');
SELECT is('ＥｌｏｎＭｕｓｋ'::handle::text, 'elonmusk', 'fullwidth letters are width-mapped');
SELECT is(('e' || E'\u0301')::handle::text, E'\u00e9', 'NFC composes e + combining acute');

-- confusable keys
SELECT is(confusable_key('elon_musk'), 'elon_rnusk', 'the key of elon_musk');
SELECT is(ARRAY[confusable_key('eIon_musk'), confusable_key('elon_musk')], ARRAY['elon_rnusk', 'elon_rnusk'], 'eIon_musk looks like elon_musk');
SELECT is(ARRAY[confusable_key('e1on_musk'), confusable_key('elon_musk')], ARRAY['elon_rnusk', 'elon_rnusk'], 'e1on_musk looks like elon_musk');
SELECT is(ARRAY[confusable_key('EL0N_MUSK'), confusable_key('elon_musk')], ARRAY['elon_rnusk', 'elon_rnusk'], 'EL0N_MUSK looks like elon_musk');
SELECT is(ARRAY[confusable_key('еlon_musk'), confusable_key('elon_musk')], ARRAY['elon_rnusk', 'elon_rnusk'], 'Cyrillic е looks like e');
SELECT is(ARRAY[confusable_key('g00gle'), confusable_key('google')], ARRAY['google', 'google'], 'g00gle looks like google');
SELECT is(ARRAY[confusable_key('аррӏе'), confusable_key('apple')], ARRAY['apple', 'apple'], 'Cyrillic аррӏе looks like apple');
SELECT is(ARRAY[confusable_key('vvikipedia'), confusable_key('wikipedia')], ARRAY['vvlklpeclla', 'vvlklpeclla'], 'vv looks like w');
SELECT is(ARRAY[confusable_key('cloud'), confusable_key('doud')], ARRAY['cloucl', 'cloucl'], 'cl looks like d');
SELECT is(ARRAY[confusable_key('rnoney'), confusable_key('money')], ARRAY['rnoney', 'rnoney'], 'rn looks like m');
SELECT is(ARRAY[confusable_key('elon_musk'), confusable_key('elon_musk2')], ARRAY['elon_rnusk', 'elon_rnusk2'], 'different handles keep different keys');
SELECT is(ARRAY[confusable_key('alice'), confusable_key('bob')], ARRAY['allce', 'bob'], 'unrelated handles differ');
SELECT is(ARRAY[confusable_key('Straße'), confusable_key('strasse')], ARRAY['strasse', 'strasse'], 'NFKC casefold: ß and ss');

-- pairs ICU's skeleton joins share a key (issue 11)
SELECT is(confusable_key('straβe'), 'strasse', 'Greek β: its skeleton is ß, which folds to ss');
SELECT is(ARRAY[confusable_key('οδοϛ'), confusable_key('οδος')], ARRAY[E'o\u1E9Foo', E'o\u1E9Foo'], 'stigma ϛ looks like final sigma ς');
SELECT is(ARRAY[confusable_key(E'\uAB70'), confusable_key(E'\u1D05')], ARRAY['cl', 'cl'], 'Cherokee ꭰ looks like small capital ᴅ');
SELECT is(confusable_key(E'\u1D05'), 'cl', 'a small capital keys as its letter');
SELECT is(confusable_key((E'\uAB81' || 'oot')::handle), 'root', 'Cherokee ꮁ looks like r');
SELECT is(check_handle('eli' || E'\u0307' || 'onmusk', 'precis'), NULL, 'precis lets i + U+0307 through');
SELECT is(ARRAY[confusable_key(('eli' || E'\u0307' || 'onmusk')::handle), confusable_key('elionmusk')],
          ARRAY['ellonrnusk', 'ellonrnusk'], 'so the key drops U+0307 after a soft-dotted letter');
SELECT is(ARRAY[confusable_key('İstanbul'), confusable_key('istanbul')], ARRAY['lstanbul', 'lstanbul'], 'İ lowercases to i + U+0307');
SELECT is(ARRAY[confusable_key(('i' || E'\u0301\u0307')::handle), confusable_key('í')],
          ARRAY[E'l\u0301\u0307', E'l\u0301'], 'U+0307 after another accent above is a visible dot');

-- keys of ASCII handles come from our table alone: no ICU in the answer
SELECT is(confusable_key('i0m1wd_x'), 'lornlvvcl_x', 'the whole ASCII table in one key');

SELECT * FROM finish();
ROLLBACK;
