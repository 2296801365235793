package seed.annotation.core;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.Map;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import javax.sql.DataSource;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;

/**
 * HMAC-SHA256 signatures on ranking records, so that write access to the rankings topic is not enough to create a
 * ranking: the API ("api" key) and the importer ("import" key) sign each record's value and put the key name and
 * the MAC in the record headers; the ingester refuses a record whose MAC does not verify. The keys are random,
 * created once in PostgreSQL ({@code signing_keys}, readable by the API and the ingester only), so every process
 * sharing the database shares them. The MAC also serves as the record's content hash: the same event id arriving
 * with different bytes is told apart from a redelivery by it.
 */
public final class Signing {

    public static final String HEADER_KEY = "seed.key";
    public static final String HEADER_MAC = "seed.mac";
    public static final String API_KEY = "api";
    public static final String IMPORT_KEY = "import";

    private final Map<String, byte[]> keys;
    /** The key names in a fixed order, as UTF-8 bytes: a record's key header is matched against them byte by byte. */
    private final String[] names;
    private final byte[][] nameBytes;
    /** Per thread, the initialised MAC of each key, by its index in {@link #names}. */
    private final ThreadLocal<Mac[]> macs;

    public Signing(Map<String, byte[]> keys) {
        this.keys = Map.copyOf(keys);
        this.names = this.keys.keySet().stream().sorted().toArray(String[]::new);
        this.nameBytes = new byte[names.length][];
        for (int i = 0; i < names.length; i++) {
            nameBytes[i] = names[i].getBytes(StandardCharsets.UTF_8);
        }
        this.macs = ThreadLocal.withInitial(() -> new Mac[names.length]);
    }

    /**
     * Loads the keys from the database, creating the missing ones first (idempotent, safe from concurrent starts;
     * {@code Infra.start} creates them as the schema owner, so the API and ingester roles only read).
     */
    public static Signing load(DataSource ds) {
        SecureRandom rnd = new SecureRandom();
        Map<String, byte[]> keys = new HashMap<>();
        try (Connection c = ds.getConnection()) {
            boolean complete;
            try (PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM signing_keys WHERE name IN (?, ?)")) {
                ps.setString(1, API_KEY);
                ps.setString(2, IMPORT_KEY);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    complete = rs.getInt(1) == 2;
                }
            }
            if (!complete) try (PreparedStatement ins = c.prepareStatement(
                    "INSERT INTO signing_keys(name, secret) VALUES (?, ?) ON CONFLICT (name) DO NOTHING")) {
                for (String name : new String[] {API_KEY, IMPORT_KEY}) {
                    byte[] k = new byte[32];
                    rnd.nextBytes(k);
                    ins.setString(1, name);
                    ins.setBytes(2, k);
                    ins.addBatch();
                }
                ins.executeBatch();
            }
            try (PreparedStatement ps = c.prepareStatement("SELECT name, secret FROM signing_keys");
                 ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    keys.put(rs.getString(1), rs.getBytes(2));
                }
            }
        } catch (SQLException e) {
            throw new IllegalStateException("loading the record signing keys: " + e.getMessage(), e);
        }
        return new Signing(keys);
    }

    /** The key a source signs with: the importer its own, everything else the API's. */
    public static String keyFor(String source) {
        return "import".equals(source) ? IMPORT_KEY : API_KEY;
    }

    public byte[] mac(String keyName, byte[] value) {
        int i = java.util.Arrays.binarySearch(names, keyName);
        if (i < 0) {
            throw new IllegalArgumentException("no signing key named " + keyName);
        }
        return mac(i, value);
    }

    /** The MAC of {@code value} with key number {@code i}, on this thread's initialised instance. */
    private byte[] mac(int i, byte[] value) {
        Mac[] mine = macs.get();
        if (mine[i] == null) {
            try {
                Mac mac = Mac.getInstance("HmacSHA256");
                mac.init(new SecretKeySpec(keys.get(names[i]), "HmacSHA256"));
                mine[i] = mac;
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException(e);
            }
        }
        return mine[i].doFinal(value);
    }

    /** The index of the key whose name is exactly these UTF-8 bytes, or -1 (no string is built per record). */
    private int keyIndex(byte[] name) {
        for (int i = 0; i < nameBytes.length; i++) {
            if (java.util.Arrays.equals(nameBytes[i], name)) {
                return i;
            }
        }
        return -1;
    }

    /** Adds the key name and the MAC of {@code value} to the headers. */
    public void sign(String keyName, byte[] value, Headers headers) {
        headers.add(HEADER_KEY, keyName.getBytes(StandardCharsets.UTF_8));
        headers.add(HEADER_MAC, mac(keyName, value));
    }

    /**
     * Verifies a record; returns its MAC when valid.
     *
     * @throws EventCodec.DecodeException naming what is wrong (no signature, unknown key, wrong MAC)
     */
    public byte[] verify(byte[] value, Headers headers) throws EventCodec.DecodeException {
        // Kafka's public Header gives its name only as a String (decoded once per header and cached by Kafka), so
        // the header names stay strings; the key NAME in the value is matched as bytes, without a String or map lookup
        Header k = headers.lastHeader(HEADER_KEY);
        Header m = headers.lastHeader(HEADER_MAC);
        if (k == null || m == null || value == null) {
            throw new EventCodec.DecodeException("record is not signed (headers " + HEADER_KEY + " and " + HEADER_MAC
                    + " are required): only the Seed API and importer may create rankings");
        }
        int key = k.value() == null ? -1 : keyIndex(k.value());
        if (key < 0) {
            String name = k.value() == null ? "" : new String(k.value(), StandardCharsets.UTF_8);
            throw new EventCodec.DecodeException("record is signed with an unknown key '"
                    + EventCodec.printable(name.length() > 40 ? name.substring(0, 40) + "..." : name) + "'");
        }
        byte[] expected = mac(key, value);
        if (!MessageDigest.isEqual(expected, m.value())) {
            throw new EventCodec.DecodeException("record signature does not match its content (forged or altered)");
        }
        return expected;
    }
}
