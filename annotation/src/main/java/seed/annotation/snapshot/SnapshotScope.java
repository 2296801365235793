package seed.annotation.snapshot;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Collection;
import java.util.HexFormat;
import java.util.List;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * Which rankings a snapshot freezes. Several runs share one annotation database, so a run's snapshot must hold only
 * the rankings of its own items ({@link Items}); snapshotting everything ({@link All}) is a choice the caller names,
 * never a default (a snapshot without a scope is refused at compile time: every create call takes one).
 */
public sealed interface SnapshotScope {

    /** The name stored in {@code preference_snapshots.scope}. */
    String name();

    /** Only the rankings of these items (a run's items, or a set an operator chose), sorted and distinct. */
    record Items(List<Long> ids) implements SnapshotScope {
        public Items {
            if (ids == null || ids.isEmpty()) {
                throw new IllegalArgumentException("a snapshot restricted to items needs at least one item id"
                        + " (to snapshot every ranking in the database, ask for scope ALL)");
            }
            for (Long id : ids) {
                if (id == null || id <= 0) {
                    throw new IllegalArgumentException("item ids are positive numbers, got " + id);
                }
            }
            ids = List.copyOf(new TreeSet<>(ids));
        }

        @Override
        public String name() {
            return "ITEMS";
        }
    }

    /** Every accepted ranking in the database up to the watermark, whatever run loaded its item. */
    record All() implements SnapshotScope {
        @Override
        public String name() {
            return "ALL";
        }
    }

    /** The items of a run (or an operator's set); duplicates and order do not matter. */
    static SnapshotScope items(Collection<Long> ids) {
        return new Items(ids == null ? List.of() : new java.util.ArrayList<>(ids));
    }

    /** Every ranking in the database: today's whole-store snapshot, asked for by name. */
    static SnapshotScope all() {
        return new All();
    }

    /**
     * SHA-256 of sorted, distinct item ids written as decimal numbers joined by ',' (e.g. "3,5,8"): how a lineage
     * record names an item set without carrying it (the V12 migration documents the same form).
     */
    static String idsSha256(Collection<Long> ids) {
        String text = new TreeSet<>(ids).stream().map(String::valueOf).collect(Collectors.joining(","));
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
