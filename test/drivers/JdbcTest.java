// test/drivers/JdbcTest.java: handle_market through pgJDBC (Debian's
// libpostgresql-jdbc-java), with PreparedStatement setLong/setString and
// the default stringtype, so strings are bound as varchar.
//
// Run by test/drivers/run.sh, which created the database and the app role,
// put drv_jdbc_vip ($500) and drv_jdbc_gold ($50,000) on the premium list
// and passes HM_JDBC_URL, PGUSER (hm_driver_app) and PGPASSWORD.  The
// search_path stays the default, so every call is schema-qualified; the
// connection stays in autocommit (JDBC's default).  Prints "ok - ..." /
// "not ok - ..." and last "drivers_jdbc: N passed, M failed".
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Properties;

public class JdbcTest {
    static final String TAG = "jdbc";
    static final long BASE = 4000;
    static final long BUYER = BASE + 1, SELLER = BASE + 2, UNKNOWN = BASE + 99;
    static final String HM = "handle_market";

    static int passed = 0, failed = 0;
    static Connection conn;

    static void report(String name, Object expected, Object got) {
        if (Objects.equals(expected, got)) {
            passed++;
            System.out.println("ok - " + name);
        } else {
            failed++;
            System.out.println("not ok - " + name + ": expected " + expected + ", got " + got);
        }
    }

    static String describe(SQLException e) {
        return "error " + e.getSQLState() + ": " + e.getMessage().split("\n")[0];
    }

    // Binds each parameter the usual way: Long with setLong, String with
    // setString.
    static PreparedStatement prepare(String sql, Object... params) throws SQLException {
        PreparedStatement ps = conn.prepareStatement(sql);
        for (int i = 0; i < params.length; i++) {
            if (params[i] instanceof Long) ps.setLong(i + 1, (Long) params[i]);
            else ps.setString(i + 1, (String) params[i]);
        }
        return ps;
    }

    // The rows of one query, each a list of its columns (getObject: Long
    // for bigint, String for text, Boolean, null for NULL; getString for the
    // extension's type, which getObject would wrap in a PGobject).
    static List<List<Object>> run(String sql, Object... params) throws SQLException {
        List<List<Object>> rows = new ArrayList<>();
        try (PreparedStatement ps = prepare(sql, params); ResultSet rs = ps.executeQuery()) {
            int n = rs.getMetaData().getColumnCount();
            while (rs.next()) {
                List<Object> row = new ArrayList<>();
                for (int i = 1; i <= n; i++)
                    row.add(rs.getMetaData().getColumnType(i) == Types.OTHER ? rs.getString(i) : rs.getObject(i));
                rows.add(row);
            }
        }
        return rows;
    }

    // The only row of sql (a one-column row unwrapped) equals expected.
    static void check(String name, Object expected, String sql, Object... params) {
        Object got;
        try {
            List<List<Object>> rows = run(sql, params);
            got = rows.size() == 1 ? rows.get(0) : rows;
            if (rows.size() == 1 && rows.get(0).size() == 1) got = rows.get(0).get(0);
        } catch (SQLException e) {
            got = describe(e);
        }
        report(name, expected, got);
    }

    // sql succeeds (a void function: nothing to compare but no error).
    static void checkDone(String name, String sql, Object... params) {
        String got = "done";
        try {
            run(sql, params);
        } catch (SQLException e) {
            got = describe(e);
        }
        report(name, "done", got);
    }

    // sql returns a positive id; returns it, or null.
    static Long checkId(String name, String sql, Object... params) {
        Object got;
        try {
            got = run(sql, params).get(0).get(0);
        } catch (SQLException e) {
            got = describe(e);
        }
        boolean ok = got instanceof Long && (Long) got > 0;
        report(name, "a positive id", ok ? "a positive id" : got);
        return ok ? (Long) got : null;
    }

    // A replay returns the id the first call returned.
    static void checkSameId(String name, Long first, String sql, Object... params) {
        if (first == null) report(name, "the first call's id", "no first id to compare");
        else check(name, first, sql, params);
    }

    // sql fails with exactly this SQLSTATE.  executeQuery also for the
    // INSERT: it is refused before it could return anything.
    static void checkError(String name, String sqlstate, String sql, Object... params) {
        String got;
        try {
            got = "no error, returned " + run(sql, params);
        } catch (SQLException e) {
            got = e.getSQLState();
        }
        report(name, sqlstate, got);
    }

    public static void main(String[] args) throws Exception {
        Properties props = new Properties();
        props.setProperty("user", System.getenv("PGUSER"));
        String password = System.getenv("PGPASSWORD");
        if (password != null) props.setProperty("password", password);
        conn = DriverManager.getConnection(System.getenv("HM_JDBC_URL"), props);
        System.out.println("# pgJDBC " + conn.getMetaData().getDriverVersion()
                + ", setLong/setString, autocommit " + conn.getAutoCommit()
                + ", as " + conn.getMetaData().getUserName());
        try {
            flow();
        } catch (Exception e) {
            failed++;
            System.out.println("not ok - the program stopped: " + e);
        } finally {
            conn.close();
        }
        System.out.println("drivers_jdbc: " + passed + " passed, " + failed + " failed");
        System.exit(failed == 0 ? 0 : 1);
    }

    static void flow() {
        checkDone("upsert_account buyer", "SELECT " + HM + ".upsert_account(?)", BUYER);
        checkDone("upsert_account seller (premium: 5% commission)",
                "SELECT " + HM + ".upsert_account(?, ?)", SELLER, "premium");

        // deposit: an id, and the same id again for the same key (idempotent)
        String depositSql = "SELECT " + HM + ".deposit(?, ?, ?)";
        Object[] deposit = {BUYER, 1000000L, "drivers-" + TAG + "-deposit"};
        Long first = checkId("deposit returns a transfer id", depositSql, deposit);
        checkSameId("deposit replayed with its key: same transfer id", first, depositSql, deposit);
        String balance = "SELECT " + HM + ".balance(?)";
        check("balance after the deposit (once)", 1000000L, balance, BUYER);

        String h1 = "driver_" + TAG + "_1", h2 = "driver_" + TAG + "_2";
        check("register_handle('@Driver_Jdbc_1') returns the canonical handle", h1,
                "SELECT " + HM + ".register_handle(?, ?)", SELLER, "@Driver_Jdbc_1");
        check("register a second handle", h2,
                "SELECT " + HM + ".register_handle(?, ?)", SELLER, "@DRIVER_JDBC_2");
        // lookup with the input as typed; every column, by name
        String lookup = "SELECT handle, state, owner_id, phase_ends_at, reason, price_cents"
                + " FROM " + HM + ".lookup(?)";
        check("lookup('@Driver_Jdbc_1') as typed",
                Arrays.asList(h1, "registered", SELLER, null, "registered", null), lookup, "@Driver_Jdbc_1");

        // a sale between users at a listing price: commission 5% of
        // 1,234.57 for a premium seller, rounded down = 61.72
        checkDone("list_handle", "SELECT " + HM + ".list_handle(?, ?, ?)", h2, SELLER, 123457L);
        check("lookup of the listed handle gives its price",
                Arrays.asList(h2, "registered", SELLER, null, "registered", 123457L), lookup, h2);
        check("quote: price, fee, seller", Arrays.asList(123457L, 6172L, SELLER),
                "SELECT price_cents, fee_cents, seller_id FROM " + HM + ".quote(?, ?)", h2, BUYER);
        String buySql = "SELECT " + HM + ".buy(?, ?, ?, ?)";
        Object[] buy = {h2, BUYER, 123457L, "drivers-" + TAG + "-buy"};
        first = checkId("buy the listed handle returns a transfer id", buySql, buy);
        checkSameId("buy replayed with its key: same transfer id", first, buySql, buy);
        check("buyer's balance after the purchase (1,000,000 - 123,457)", 876543L, balance, BUYER);
        check("seller's balance: price less 5% (123,457 - 6,172)", 117285L, balance, SELLER);
        checkError("same key, another request: HM006", "HM006",
                buySql, h2, BUYER, 123458L, "drivers-" + TAG + "-buy");

        // a platform sale: the whole price, no commission
        String vip = "drv_" + TAG + "_vip", gold = "drv_" + TAG + "_gold";
        checkId("buy a premium handle from the platform", buySql,
                vip, BUYER, 50000L, "drivers-" + TAG + "-vip");
        check("balance after the platform sale (876,543 - 50,000)", 826543L, balance, BUYER);
        checkError("insufficient funds: HM005", "HM005",
                buySql, gold, BUYER, 5000000L, "drivers-" + TAG + "-gold");
        check("a refused buy costs nothing", 826543L, balance, BUYER);

        // the buyer's handles, read back through lookup (the app role reads no table)
        List<Object> owned = new ArrayList<>();
        for (String c : new String[] {h1, h2, vip, gold}) {
            try {
                for (List<Object> row : run("SELECT handle, owner_id FROM " + HM + ".lookup(?)", c))
                    if (Long.valueOf(BUYER).equals(row.get(1))) owned.add(row.get(0));
            } catch (SQLException e) {
                owned.add(describe(e));
            }
        }
        report("the buyer's handles", Arrays.asList(h2, vip), owned);
        check("the bought handle is no longer listed",
                Arrays.asList(h2, "registered", BUYER, null, "registered", null), lookup, h2);

        String register = "SELECT " + HM + ".register_handle(?, ?)";
        checkError("taken: HM001", "HM001", register, BUYER, h1.toUpperCase());
        String lookAlike = "driver_" + TAG + "_l";     // "l" for "1"
        check("look-alike shares the confusable key", true,
                "SELECT " + HM + ".confusable_key(?::" + HM + ".handle) = " + HM
                        + ".confusable_key(?::" + HM + ".handle)", lookAlike, h1);
        checkError("confusable: HM002", "HM002", register, BUYER, lookAlike);
        checkError("premium handle is not free: HM014", "HM014", register, BUYER, gold);
        checkError("a space breaks the profile: HM004", "HM004", register, BUYER, "driver " + TAG);
        checkError("a space is not a handle: 22P02", "22P02",
                "SELECT ?::" + HM + ".handle", "driver " + TAG);
        checkError("unknown account: HM011", "HM011", balance, UNKNOWN);
        checkError("unknown account registers: HM011", "HM011", register, UNKNOWN, "driver_" + TAG + "_9");
        checkError("no table privilege: 42501", "42501",
                "INSERT INTO " + HM + ".accounts (account_id) VALUES (?)", UNKNOWN);
        // the default search_path does not see the type's operators, and no
        // cast from handle is implicit, so a bare "=" between two handles is
        // no operator at all (42883), never a silent false; named with its
        // schema it compares the canonical forms (the input function made
        // both elonmusk)
        checkError("typed parameters: a bare = is 42883 without the schema on search_path", "42883",
                "SELECT ?::" + HM + ".handle = ?::" + HM + ".handle", "@ElonMusk", "elonmusk");
        check("typed parameters compare canonically with OPERATOR(" + HM + ".=)", true,
                "SELECT ?::" + HM + ".handle OPERATOR(" + HM + ".=) ?::" + HM + ".handle",
                "@ElonMusk", "elonmusk");
        // a text parameter against a handle column: handle = text
        // canonicalizes the text as handle input, so the handle as the user
        // typed it matches
        check("a text parameter as typed equals a handle column with OPERATOR(" + HM + ".=)", true,
                "SELECT handle OPERATOR(" + HM + ".=) ?::text FROM " + HM + ".lookup(?)",
                "@DRIVER_" + TAG.toUpperCase() + "_1", h1);
    }
}
