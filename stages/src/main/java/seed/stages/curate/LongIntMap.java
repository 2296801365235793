package seed.stages.curate;

import java.util.Arrays;

/**
 * An open-addressing map from 64-bit hashes to ints, because the rules look up millions of n-gram hashes per second
 * and boxed {@code HashMap<Long, Integer>} entries would dominate the stage's time. {@link #clear()} is O(1) (a
 * generation stamp), so one map is reused for every document.
 */
final class LongIntMap {

    private long[] keys;
    private int[] values;
    private int[] stamps;
    private int generation = 1;
    private int size;
    private int mask;

    LongIntMap(int expected) {
        int capacity = Integer.highestOneBit(Math.max(16, expected * 2 - 1)) << 1;
        keys = new long[capacity];
        values = new int[capacity];
        stamps = new int[capacity];
        mask = capacity - 1;
    }

    int size() {
        return size;
    }

    /** Forgets every entry. */
    void clear() {
        size = 0;
        if (++generation == Integer.MAX_VALUE) {
            Arrays.fill(stamps, 0);
            generation = 1;
        }
    }

    private int slot(long key) {
        int i = (int) ((key * 0x9E3779B97F4A7C15L) >>> 32) & mask; // Fibonacci hashing: one multiply
        while (stamps[i] == generation && keys[i] != key) {
            i = (i + 1) & mask;
        }
        return i;
    }

    boolean contains(long key) {
        return stamps[slot(key)] == generation;
    }

    /** The value of {@code key}, or {@code missing}. */
    int get(long key, int missing) {
        int i = slot(key);
        return stamps[i] == generation ? values[i] : missing;
    }

    /** Sets {@code key} to {@code value}; returns the previous value or {@code missing}. */
    int put(long key, int value, int missing) {
        int i = slot(key);
        if (stamps[i] == generation) {
            int old = values[i];
            values[i] = value;
            return old;
        }
        insertAt(i, key, value);
        return missing;
    }

    /** Adds {@code delta} to the value of {@code key} (0 when absent) and returns the new value. */
    int add(long key, int delta) {
        int i = slot(key);
        if (stamps[i] == generation) {
            return values[i] += delta;
        }
        insertAt(i, key, delta);
        return delta;
    }

    /** Puts {@code key} if absent: true when it was new. */
    boolean addKey(long key) {
        int i = slot(key);
        if (stamps[i] == generation) {
            return false;
        }
        insertAt(i, key, 0);
        return true;
    }

    private void insertAt(int i, long key, int value) {
        keys[i] = key;
        values[i] = value;
        stamps[i] = generation;
        if (++size * 2 > keys.length) {
            grow();
        }
    }

    private void grow() {
        long[] oldKeys = keys;
        int[] oldValues = values;
        int[] oldStamps = stamps;
        int oldGeneration = generation;
        keys = new long[oldKeys.length * 2];
        values = new int[keys.length];
        stamps = new int[keys.length];
        mask = keys.length - 1;
        generation = 1;
        size = 0;
        for (int i = 0; i < oldKeys.length; i++) {
            if (oldStamps[i] == oldGeneration) {
                int j = slot(oldKeys[i]);
                keys[j] = oldKeys[i];
                values[j] = oldValues[i];
                stamps[j] = generation;
                size++;
            }
        }
    }
}
