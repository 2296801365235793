package seed.annotation.core;

import java.security.SecureRandom;
import java.util.UUID;

/**
 * Event ids as UUIDv7 (RFC 9562): 48 bits of Unix milliseconds then random bits. Time-ordered ids land at the end
 * of the primary-key index instead of at random pages, which keeps ingest fast as the table grows.
 */
public final class EventIds {

    /**
     * One DRBG per thread, seeded once from the system's entropy: the default {@code new SecureRandom()} is NativePRNG,
     * which takes a process-wide lock and mixes in /dev/urandom reads on every call (two calls per submission on the
     * HTTP path). A DRBG is as unpredictable; only its seeding touches the system source.
     */
    private static final ThreadLocal<SecureRandom> RANDOM = ThreadLocal.withInitial(EventIds::newRandom);

    private static SecureRandom newRandom() {
        try {
            return SecureRandom.getInstance("DRBG");
        } catch (java.security.NoSuchAlgorithmException e) {
            return new SecureRandom();
        }
    }

    private EventIds() {
    }

    public static UUID next() {
        long ms = System.currentTimeMillis();
        SecureRandom random = RANDOM.get();
        long rand12 = random.nextInt(1 << 12);
        long msb = (ms << 16) | (0x7L << 12) | rand12;
        long lsb = (random.nextLong() & 0x3FFFFFFFFFFFFFFFL) | 0x8000000000000000L;
        return new UUID(msb, lsb);
    }
}
