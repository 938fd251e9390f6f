// test/drivers/node/pg_test.js: handle_market through node-postgres (npm
// `pg`, pinned in package-lock.json), with $1 parameterized queries: pg
// sends every parameter as text with no type, and returns bigint as a
// string (its default), so ids and cents compare as strings here.
//
// Run by test/drivers/run.sh, which created the database and the app role
// and put drv_js_vip ($500) and drv_js_gold ($50,000) on the premium list.
// The connection comes from the environment (PGHOST, PGPORT, PGDATABASE,
// PGUSER=hm_driver_app, PGPASSWORD), with the default search_path, so every
// call is schema-qualified.  No transaction is opened: each query commits on
// its own (autocommit, pg's default).  Prints "ok - ..." / "not ok - ..."
// and last "drivers_node: N passed, M failed".
'use strict';
const { Client } = require('pg');
const { isDeepStrictEqual, inspect } = require('util');

const TAG = 'js';
const BASE = 3000;
const BUYER = BASE + 1, SELLER = BASE + 2, UNKNOWN = BASE + 99;
const hm = 'handle_market';

let passed = 0, failed = 0;
let client;

function report(name, expected, got) {
    if (isDeepStrictEqual(expected, got)) {
        passed++;
        console.log(`ok - ${name}`);
    } else {
        failed++;
        console.log(`not ok - ${name}: expected ${inspect(expected)}, got ${inspect(got)}`);
    }
}

const describe = (e) => `error ${e.code}: ${e.message}`;

// The rows of one query, each an array of its columns.
async function run(sql, params = []) {
    return (await client.query({ text: sql, values: params, rowMode: 'array' })).rows;
}

// The only row of sql (a one-column row unwrapped) equals expected.
async function check(name, expected, sql, params = []) {
    let got;
    try {
        const rows = await run(sql, params);
        got = rows.length === 1 ? rows[0] : rows;
        if (Array.isArray(got) && got.length === 1) got = got[0];
    } catch (e) {
        got = describe(e);
    }
    report(name, expected, got);
}

// sql succeeds (a void function: nothing to compare but no error).
async function checkDone(name, sql, params = []) {
    let got = 'done';
    try {
        await run(sql, params);
    } catch (e) {
        got = describe(e);
    }
    report(name, 'done', got);
}

// sql returns a positive id (bigint, so a string of digits); returns it or null.
async function checkId(name, sql, params = []) {
    let got;
    try {
        got = (await run(sql, params))[0][0];
    } catch (e) {
        got = describe(e);
    }
    const ok = typeof got === 'string' && /^[1-9][0-9]*$/.test(got);
    report(name, 'a positive id', ok ? 'a positive id' : got);
    return ok ? got : null;
}

// A replay returns the id the first call returned.
async function checkSameId(name, first, sql, params) {
    if (first === null) report(name, "the first call's id", 'no first id to compare');
    else await check(name, first, sql, params);
}

// sql fails with exactly this SQLSTATE.
async function checkError(name, sqlstate, sql, params = []) {
    let got;
    try {
        got = `no error, returned ${inspect(await run(sql, params))}`;
    } catch (e) {
        got = e.code;
    }
    report(name, sqlstate, got);
}

async function main() {
    client = new Client();
    await client.connect();
    console.log(`# node-postgres ${require('pg/package.json').version}, $1 parameters, as ${client.user}`);

    await checkDone('upsert_account buyer', `SELECT ${hm}.upsert_account($1)`, [BUYER]);
    await checkDone('upsert_account seller (premium: 5% commission)',
        `SELECT ${hm}.upsert_account($1, $2)`, [SELLER, 'premium']);

    // deposit: an id, and the same id again for the same key (idempotent)
    const depositSql = `SELECT ${hm}.deposit($1, $2, $3)`;
    const deposit = [BUYER, 1000000, `drivers-${TAG}-deposit`];
    let first = await checkId('deposit returns a transfer id', depositSql, deposit);
    await checkSameId('deposit replayed with its key: same transfer id', first, depositSql, deposit);
    await check('balance after the deposit (once)', '1000000', `SELECT ${hm}.balance($1)`, [BUYER]);

    const h1 = `driver_${TAG}_1`, h2 = `driver_${TAG}_2`;
    await check("register_handle('@Driver_Js_1') returns the canonical handle", h1,
        `SELECT ${hm}.register_handle($1, $2)`, [SELLER, '@Driver_Js_1']);
    await check('register a second handle', h2,
        `SELECT ${hm}.register_handle($1, $2)`, [SELLER, '@DRIVER_JS_2']);
    // lookup with the input as typed; every column, by name
    const lookup = `SELECT handle, state, owner_id, phase_ends_at, reason, price_cents
                      FROM ${hm}.lookup($1)`;
    await check("lookup('@Driver_Js_1') as typed",
        [h1, 'registered', String(SELLER), null, 'registered', null], lookup, ['@Driver_Js_1']);

    // a sale between users at a listing price: commission 5% of 1,234.57 for
    // a premium seller, rounded down = 61.72
    await checkDone('list_handle', `SELECT ${hm}.list_handle($1, $2, $3)`, [h2, SELLER, 123457]);
    await check('lookup of the listed handle gives its price',
        [h2, 'registered', String(SELLER), null, 'registered', '123457'], lookup, [h2]);
    await check('quote: price, fee, seller', ['123457', '6172', String(SELLER)],
        `SELECT price_cents, fee_cents, seller_id FROM ${hm}.quote($1, $2)`, [h2, BUYER]);
    const buySql = `SELECT ${hm}.buy($1, $2, $3, $4)`;
    const buy = [h2, BUYER, 123457, `drivers-${TAG}-buy`];
    first = await checkId('buy the listed handle returns a transfer id', buySql, buy);
    await checkSameId('buy replayed with its key: same transfer id', first, buySql, buy);
    await check("buyer's balance after the purchase (1,000,000 - 123,457)", '876543',
        `SELECT ${hm}.balance($1)`, [BUYER]);
    await check("seller's balance: price less 5% (123,457 - 6,172)", '117285',
        `SELECT ${hm}.balance($1)`, [SELLER]);
    await checkError('same key, another request: HM006', 'HM006',
        buySql, [h2, BUYER, 123458, `drivers-${TAG}-buy`]);

    // a platform sale: the whole price, no commission
    const vip = `drv_${TAG}_vip`, gold = `drv_${TAG}_gold`;
    await checkId('buy a premium handle from the platform', buySql,
        [vip, BUYER, 50000, `drivers-${TAG}-vip`]);
    await check('balance after the platform sale (876,543 - 50,000)', '826543',
        `SELECT ${hm}.balance($1)`, [BUYER]);
    await checkError('insufficient funds: HM005', 'HM005',
        buySql, [gold, BUYER, 5000000, `drivers-${TAG}-gold`]);
    await check('a refused buy costs nothing', '826543', `SELECT ${hm}.balance($1)`, [BUYER]);

    // the buyer's handles, read back through lookup (the app role reads no table)
    const owned = [];
    for (const c of [h1, h2, vip, gold]) {
        try {
            for (const [h, o] of await run(`SELECT handle, owner_id FROM ${hm}.lookup($1)`, [c]))
                if (o === String(BUYER)) owned.push(h);
        } catch (e) {
            owned.push(describe(e));
        }
    }
    report("the buyer's handles", [h2, vip], owned);
    await check('the bought handle is no longer listed',
        [h2, 'registered', String(BUYER), null, 'registered', null], lookup, [h2]);

    await checkError('taken: HM001', 'HM001',
        `SELECT ${hm}.register_handle($1, $2)`, [BUYER, h1.toUpperCase()]);
    const lookAlike = `driver_${TAG}_l`;      // "l" for "1"
    await check('look-alike shares the confusable key', true,
        `SELECT ${hm}.confusable_key($1::${hm}.handle) = ${hm}.confusable_key($2::${hm}.handle)`, [lookAlike, h1]);
    await checkError('confusable: HM002', 'HM002',
        `SELECT ${hm}.register_handle($1, $2)`, [BUYER, lookAlike]);
    await checkError('premium handle is not free: HM014', 'HM014',
        `SELECT ${hm}.register_handle($1, $2)`, [BUYER, gold]);
    await checkError('a space breaks the profile: HM004', 'HM004',
        `SELECT ${hm}.register_handle($1, $2)`, [BUYER, `driver ${TAG}`]);
    await checkError('a space is not a handle: 22P02', '22P02',
        `SELECT $1::${hm}.handle`, [`driver ${TAG}`]);
    await checkError('unknown account: HM011', 'HM011', `SELECT ${hm}.balance($1)`, [UNKNOWN]);
    await checkError('unknown account registers: HM011', 'HM011',
        `SELECT ${hm}.register_handle($1, $2)`, [UNKNOWN, `driver_${TAG}_9`]);
    await checkError('no table privilege: 42501', '42501',
        `INSERT INTO ${hm}.accounts (account_id) VALUES ($1)`, [UNKNOWN]);
    // the default search_path does not see the type's operators, and no cast
    // from handle is implicit, so a bare "=" between two handles is no
    // operator at all (42883), never a silent false; named with its schema
    // it compares the canonical forms (the input function made both elonmusk)
    await checkError('typed parameters: a bare = is 42883 without the schema on search_path', '42883',
        `SELECT $1::${hm}.handle = $2::${hm}.handle`, ['@ElonMusk', 'elonmusk']);
    await check(`typed parameters compare canonically with OPERATOR(${hm}.=)`, true,
        `SELECT $1::${hm}.handle OPERATOR(${hm}.=) $2::${hm}.handle`, ['@ElonMusk', 'elonmusk']);
    // a text parameter against a handle column: handle = text canonicalizes
    // the text as handle input, so the handle as the user typed it matches
    await check(`a text parameter as typed equals a handle column with OPERATOR(${hm}.=)`, true,
        `SELECT handle OPERATOR(${hm}.=) $1::text FROM ${hm}.lookup($2)`,
        [`@DRIVER_${TAG.toUpperCase()}_1`, h1]);
}

main()
    .catch((e) => {
        failed++;
        console.log(`not ok - the program stopped: ${e.code || ''} ${e.message}`);
    })
    .finally(async () => {
        if (client) await client.end().catch(() => {});
        console.log(`drivers_node: ${passed} passed, ${failed} failed`);
        process.exitCode = failed ? 1 : 0;
    });
