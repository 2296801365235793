package seed.annotation.core;

import java.security.SecureRandom;
import java.util.UUID;

/**
 * Event ids as UUIDv7 (RFC 9562): 48 bits of Unix milliseconds then random bits. Time-ordered ids land at the end
 * of the primary-key index instead of at random pages, which keeps ingest fast as the table grows.
 */
public final class EventIds {

    private static final SecureRandom RANDOM = new SecureRandom();

    private EventIds() {
    }

    public static UUID next() {
        long ms = System.currentTimeMillis();
        long rand12 = RANDOM.nextInt(1 << 12);
        long msb = (ms << 16) | (0x7L << 12) | rand12;
        long lsb = (RANDOM.nextLong() & 0x3FFFFFFFFFFFFFFFL) | 0x8000000000000000L;
        return new UUID(msb, lsb);
    }
}
