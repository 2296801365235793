package seed.annotation.core;

import java.util.concurrent.ConcurrentHashMap;

/**
 * A concurrent map of values that never change once read (items, item sizes), kept to at most about {@code limit}
 * entries: when full, a new key first drops about a tenth of the entries in hash order. Which ones go is arbitrary:
 * a dropped value costs one read when it is wanted again, and no access order has to be kept on the per-request or
 * per-record lookups. Shared by the API's item cache ({@link Catalog}) and the ingester's item-size cache.
 */
public final class BoundedCache<K, V> {
    private final ConcurrentHashMap<K, V> map = new ConcurrentHashMap<>();
    private final int limit;

    /** @param limit most entries kept (at least 1; writers racing at the moment it is reached may pass it briefly) */
    public BoundedCache(int limit) {
        if (limit < 1) {
            throw new IllegalArgumentException("item cache limit must be >= 1, got " + limit);
        }
        this.limit = limit;
    }

    /** The cached value, or null. */
    public V get(K key) {
        return map.get(key);
    }

    /** Caches {@code value}, first dropping about a tenth of the entries when the cache is full and the key is new. */
    public void put(K key, V value) {
        if (map.size() >= limit && !map.containsKey(key)) {
            int drop = Math.max(1, limit / 10);
            var keys = map.keySet().iterator();
            while (keys.hasNext() && drop-- > 0) {
                keys.next();
                keys.remove();
            }
        }
        map.put(key, value);
    }

    /** Entries held now. */
    public int size() {
        return map.size();
    }
}
