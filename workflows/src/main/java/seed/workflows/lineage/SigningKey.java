package seed.workflows.lineage;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;

/**
 * The server's Ed25519 signing key (JDK crypto only), generated once into a key folder and reused: {@code
 * lineage-ed25519.key} (PKCS#8, owner-only permissions) and {@code lineage-ed25519.pub} (X.509, base64). The key id is
 * the SHA-256 of the public key's encoding; every record names the key that signed it.
 */
public final class SigningKey {

    static final String PRIVATE_FILE = "lineage-ed25519.key";
    static final String PUBLIC_FILE = "lineage-ed25519.pub";

    private final PrivateKey privateKey;
    private final String publicKeyBase64;
    private final String keyId;

    private SigningKey(PrivateKey privateKey, PublicKey publicKey) {
        this.privateKey = privateKey;
        this.publicKeyBase64 = Base64.getEncoder().encodeToString(publicKey.getEncoded());
        this.keyId = keyIdOf(publicKeyBase64);
    }

    /** Loads the key from {@code dir}, generating it there first if the folder holds none. */
    public static SigningKey loadOrCreate(Path dir) {
        Path priv = dir.resolve(PRIVATE_FILE);
        try {
            if (!Files.isDirectory(dir)) {
                Files.createDirectories(dir);
                try { // owner-only: the folder holds the private key
                    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
                } catch (UnsupportedOperationException e) {
                    // not a POSIX file system
                }
            }
            if (!Files.exists(priv)) {
                generate(dir);
            }
            KeyFactory kf = KeyFactory.getInstance("Ed25519");
            PrivateKey pk = kf.generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(
                    Files.readString(priv, StandardCharsets.US_ASCII).trim())));
            PublicKey pub = kf.generatePublic(new X509EncodedKeySpec(Base64.getDecoder().decode(
                    Files.readString(dir.resolve(PUBLIC_FILE), StandardCharsets.US_ASCII).trim())));
            return new SigningKey(pk, pub);
        } catch (IOException e) {
            throw new UncheckedIOException("lineage signing key in " + dir + ": " + e.getMessage(), e);
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw new IllegalStateException("lineage signing key in " + dir + " is unreadable: " + e.getMessage(), e);
        }
    }

    private static void generate(Path dir) throws IOException, GeneralSecurityException {
        KeyPair kp = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        Path tmpPub = Files.createTempFile(dir, ".pub-", ".tmp");
        Files.writeString(tmpPub, Base64.getEncoder().encodeToString(kp.getPublic().getEncoded()) + "\n");
        Files.move(tmpPub, dir.resolve(PUBLIC_FILE), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        Path tmp = Files.createTempFile(dir, ".key-", ".tmp");
        try {
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-------"));
        } catch (UnsupportedOperationException e) {
            // not a POSIX file system: the folder's own permissions protect the key
        }
        Files.writeString(tmp, Base64.getEncoder().encodeToString(kp.getPrivate().getEncoded()) + "\n");
        try {
            Files.move(tmp, dir.resolve(PRIVATE_FILE), StandardCopyOption.ATOMIC_MOVE); // never replace an existing key
        } catch (FileAlreadyExistsException e) {
            Files.deleteIfExists(tmp); // another process generated it first: use theirs
        }
    }

    /** The public key of a key folder without touching the private key (for auditors holding only the .pub file). */
    public static String publicKeyIn(Path dir) throws IOException {
        return Files.readString(dir.resolve(PUBLIC_FILE), StandardCharsets.US_ASCII).trim();
    }

    /**
     * The fingerprint (key id) an auditor pins, from what they were given: a 64-hex fingerprint as printed by
     * {@code seed lineage head}, a base64 public key, or the path of a {@code .pub} file.
     */
    public static String fingerprint(String value) {
        String v = value.trim();
        if (v.matches("[0-9a-fA-F]{64}")) {
            return v.toLowerCase(java.util.Locale.ROOT);
        }
        try {
            Path p = Path.of(v);
            if (Files.isRegularFile(p)) {
                v = Files.readString(p, StandardCharsets.US_ASCII).trim();
            }
        } catch (IOException | java.nio.file.InvalidPathException e) {
            // not a readable file: take it as a key
        }
        try {
            KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(Base64.getDecoder().decode(v)));
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw new IllegalArgumentException("trusted key '" + value + "' is neither a 64-hex fingerprint, an Ed25519"
                    + " public key in base64, nor a readable .pub file");
        }
        return keyIdOf(v);
    }

    /** Fingerprints listed in a file, one per line ({@link #fingerprint} forms; blank lines and # comments skipped). */
    public static java.util.Set<String> fingerprintsIn(Path file) {
        java.util.Set<String> out = new java.util.LinkedHashSet<>();
        try {
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                String l = line.strip();
                if (!l.isEmpty() && !l.startsWith("#")) {
                    out.add(fingerprint(l));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("reading trusted lineage keys from " + file + ": " + e.getMessage(), e);
        }
        return out;
    }

    public static String keyIdOf(String publicKeyBase64) {
        return CanonicalJson.sha256(publicKeyBase64);
    }

    public String keyId() {
        return keyId;
    }

    public String publicKeyBase64() {
        return publicKeyBase64;
    }

    /** Base64 Ed25519 signature of the UTF-8 bytes of {@code text}. */
    public String sign(String text) {
        try {
            Signature s = Signature.getInstance("Ed25519");
            s.initSign(privateKey);
            s.update(text.getBytes(StandardCharsets.UTF_8));
            return Base64.getEncoder().encodeToString(s.sign());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("signing a lineage record: " + e.getMessage(), e);
        }
    }

    /** Whether {@code signature} is a valid signature of {@code text} by {@code publicKeyBase64}. */
    public static boolean verify(String publicKeyBase64, String text, String signature) {
        try {
            PublicKey pub = KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(
                    Base64.getDecoder().decode(publicKeyBase64)));
            Signature s = Signature.getInstance("Ed25519");
            s.initVerify(pub);
            s.update(text.getBytes(StandardCharsets.UTF_8));
            return s.verify(Base64.getDecoder().decode(signature));
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            return false;
        }
    }
}
