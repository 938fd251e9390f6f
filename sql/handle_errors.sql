-- Rejected input: SQLSTATE 22P02 and a detail that names what was wrong.
SET search_path = handle_market, public;

CREATE FUNCTION pg_temp.try_handle(candidate text,
    OUT state text, OUT message text, OUT detail text)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM candidate::handle_market.handle;
    state := '00000';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE,
                            message = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL;
END $$;

SELECT left(c, 16) AS candidate, e.state,
       e.message = format('invalid input syntax for type handle: "%s"', c) AS message_ok,
       e.detail
  FROM unnest(ARRAY[
    '',
    '@',
    '@@elon',
    'elon musk',
    '@elon musk',
    'elon.musk',
    'elon-musk',
    E'elon\tmusk',
    'elon' || E'\u200B' || 'musk',           -- zero-width space
    'elon' || E'\u200D' || 'musk',           -- zero-width joiner
    'elon' || E'\u00AD' || 'musk',           -- soft hyphen
    E'\uFB01sh',                             -- ﬁ ligature: compatibility form
    'x' || E'\u00B2',                        -- superscript two
    'I♥NY',
    'elon😀',
    E'\u0640abc',                            -- Arabic tatweel (RFC 5892 exception)
    E'\u1100\u0300\u1161',                   -- jamo that cannot compose
    E'\u0661\u06F2',                         -- mixed Arabic-Indic digits
    'abc' || E'\u05D0',                      -- Hebrew after Latin: Bidi rule
    E'\u05D0' || 'abc',
    E'\u05D0_',
    '1' || E'\u05D0',
    E'\uE000abc',                            -- private use
    repeat('a', 65),
    repeat('é', 65),
    repeat('a', 300)
  ]) AS c, pg_temp.try_handle(c) AS e;

-- the error as a client sees it
SELECT 'elon musk'::handle;
SELECT handle('elon musk');
SELECT 'elon musk'::text::handle;
