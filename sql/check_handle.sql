-- check_handle(): NULL when acceptable, otherwise one reason; never raises
-- for bad input.
SET search_path = handle_market, public;

SELECT c AS candidate, check_handle(c) AS x_classic, check_handle(c, 'precis') AS precis
  FROM unnest(ARRAY['elon_musk', '@Elon_Musk', 'abc', 'ab', 'abcdefghijklmnop',
                    'еlon_musk', 'аррӏе', 'аpple', 'René_2', 'elon musk',
                    'elon.musk', 'x' || E'\u200B' || 'y', '', '@',
                    'δοκιμή', 'テスト', repeat('a', 31), 'ab१']) AS c;

SELECT check_handle(NULL) AS null_candidate;
SELECT check_handle('elon', 'no_such_profile');
SELECT check_handle('elon', NULL);
