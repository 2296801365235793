package seed.stages.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Predicate;

/**
 * Reads and writes the safetensors format (an 8-byte little-endian header length, a JSON header of name -> dtype,
 * shape, byte offsets, then raw little-endian data). Chosen because it is the de-facto standard for weights: Python
 * tools open Seed's checkpoints as they are, and the file cannot execute code when loaded.
 *
 * <p>In memory every tensor is float32 ({@link HostTensor}). Files may hold F32, BF16 or F16 (what Hugging Face
 * models ship in); BF16 and F16 widen to float32 exactly. Writing is F32 by default (Seed's checkpoints), or BF16 /
 * F16 when asked (exports), rounding to nearest-even as torch's {@code .to(torch.bfloat16)} does.
 */
public final class SafeTensors {

    private static final ObjectMapper JSON = new ObjectMapper();
    /** Bytes converted per read: big tensors (a 128k x 4096 embedding is 1 GiB in bf16) never sit in one buffer. */
    private static final int CHUNK = 1 << 24;

    /** The element types Seed reads and writes, by their safetensors names. */
    public enum Dtype {
        F32(4), BF16(2), F16(2);

        /** Bytes per element. */
        public final int size;

        Dtype(int size) {
            this.size = size;
        }

        /** The dtype of a header's {@code "dtype"} string, or null for one Seed does not read (I64, F64, ...). */
        static Dtype of(String name) {
            for (Dtype d : values()) {
                if (d.name().equals(name)) {
                    return d;
                }
            }
            return null;
        }
    }

    /**
     * One header entry: what a tensor is, without its data (to check shapes and names before reading gigabytes).
     *
     * @param dtype the header's dtype string (e.g. {@code BF16}, also ones Seed does not read)
     * @param shape dimensions
     */
    public record Entry(String dtype, long[] shape) {
    }

    private SafeTensors() {
    }

    /** Writes {@code tensors} (in map order) in float32 and optional string metadata to {@code file} (not atomic). */
    public static void write(Path file, Map<String, HostTensor> tensors, Map<String, String> metadata) throws IOException {
        write(file, tensors, metadata, Dtype.F32);
    }

    /** Writes {@code tensors} (in map order) as {@code dtype} with optional string metadata (not atomic by itself). */
    public static void write(Path file, Map<String, HostTensor> tensors, Map<String, String> metadata, Dtype dtype)
            throws IOException {
        ObjectNode header = JSON.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode meta = header.putObject("__metadata__");
            // sorted: the same tensors must give the same bytes (and SHA-256) whatever map the caller passed
            new java.util.TreeMap<>(metadata).forEach(meta::put);
        }
        long offset = 0;
        for (Map.Entry<String, HostTensor> e : tensors.entrySet()) {
            ObjectNode entry = header.putObject(e.getKey());
            entry.put("dtype", dtype.name());
            var shape = entry.putArray("shape");
            for (long d : e.getValue().shape()) {
                shape.add(d);
            }
            long bytes = (long) dtype.size * e.getValue().data().length;
            entry.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        byte[] headerBytes = JSON.writeValueAsBytes(header);
        int padded = (headerBytes.length + 7) / 8 * 8; // the format recommends 8-byte alignment of the data
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 16)) {
            ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
            out.write(length.array());
            out.write(headerBytes);
            for (int i = headerBytes.length; i < padded; i++) {
                out.write(' ');
            }
            for (HostTensor t : tensors.values()) {
                writeData(out, t.data(), dtype);
            }
        }
    }

    private static void writeData(OutputStream out, float[] data, Dtype dtype) throws IOException {
        int perChunk = CHUNK / dtype.size;
        ByteBuffer buffer = ByteBuffer.allocate(Math.min(data.length, perChunk) * dtype.size)
                .order(ByteOrder.LITTLE_ENDIAN);
        for (int from = 0; from < data.length; from += perChunk) {
            int to = Math.min(data.length, from + perChunk);
            buffer.clear();
            for (int i = from; i < to; i++) {
                switch (dtype) {
                    case F32 -> buffer.putFloat(data[i]);
                    case BF16 -> buffer.putShort(toBf16(data[i]));
                    case F16 -> buffer.putShort(Float.floatToFloat16(data[i]));
                }
            }
            out.write(buffer.array(), 0, buffer.position());
        }
    }

    /** Reads every tensor of {@code file}, in file order. */
    public static Map<String, HostTensor> read(Path file) throws IOException {
        return read(file, name -> true);
    }

    /**
     * Reads the tensors of {@code file} whose names {@code wanted} accepts, in file order, widening BF16 / F16 to
     * float32. Tensors not wanted are skipped without being read (and may have any dtype).
     */
    public static Map<String, HostTensor> read(Path file, Predicate<String> wanted) throws IOException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            long[] bodyStart = new long[1];
            JsonNode header = header(channel, file, bodyStart);
            long bodyLength = channel.size() - bodyStart[0];
            Map<String, HostTensor> out = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (e.getKey().equals("__metadata__") || !wanted.test(e.getKey())) {
                    continue;
                }
                JsonNode entry = e.getValue();
                String dtypeName = entry.path("dtype").asText();
                Dtype dtype = Dtype.of(dtypeName);
                if (dtype == null) {
                    throw new IOException(file + ": tensor '" + e.getKey() + "' has dtype " + dtypeName
                            + "; Seed reads F32, BF16 and F16");
                }
                long[] shape = shape(entry);
                long count = 1;
                for (long d : shape) {
                    count *= d;
                }
                long begin = entry.path("data_offsets").get(0).asLong();
                long end = entry.path("data_offsets").get(1).asLong();
                if (begin < 0 || end > bodyLength || begin > end) {
                    throw new IOException(file + ": tensor '" + e.getKey() + "' points outside the file (truncated?)");
                }
                if (end - begin != count * dtype.size) {
                    throw new IOException(file + ": tensor '" + e.getKey() + "' has " + (end - begin)
                            + " bytes but shape " + java.util.Arrays.toString(shape) + " of " + dtypeName + " needs "
                            + count * dtype.size);
                }
                if (count > Integer.MAX_VALUE - 8) {
                    throw new IOException(file + ": tensor '" + e.getKey() + "' has " + count
                            + " elements, more than one Java array holds");
                }
                float[] data = new float[(int) count];
                readData(channel, bodyStart[0] + begin, dtype, data, file);
                out.put(e.getKey(), new HostTensor(shape, data));
            }
            return out;
        }
    }

    /** The header of {@code file}: tensor name -> dtype and shape, in file order, without reading any data. */
    public static Map<String, Entry> entries(Path file) throws IOException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            JsonNode header = header(channel, file, new long[1]);
            Map<String, Entry> out = new LinkedHashMap<>();
            header.fields().forEachRemaining(e -> {
                if (!e.getKey().equals("__metadata__")) {
                    out.put(e.getKey(), new Entry(e.getValue().path("dtype").asText(), shape(e.getValue())));
                }
            });
            return out;
        }
    }

    private static JsonNode header(FileChannel channel, Path file, long[] bodyStart) throws IOException {
        ByteBuffer lengthBytes = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        readFully(channel, lengthBytes, 0);
        if (lengthBytes.position() < 8) {
            throw new IOException(file + " is not a safetensors file (shorter than 8 bytes)");
        }
        long headerLength = lengthBytes.getLong(0);
        if (headerLength <= 0 || headerLength > 100_000_000 || 8 + headerLength > channel.size()) {
            throw new IOException(file + " is not a safetensors file (header length " + headerLength + ")");
        }
        ByteBuffer headerBytes = ByteBuffer.allocate((int) headerLength);
        readFully(channel, headerBytes, 8);
        bodyStart[0] = 8 + headerLength;
        return JSON.readTree(new String(headerBytes.array(), StandardCharsets.UTF_8));
    }

    private static long[] shape(JsonNode entry) {
        long[] shape = new long[entry.path("shape").size()];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = entry.path("shape").get(i).asLong();
        }
        return shape;
    }

    private static void readData(FileChannel channel, long position, Dtype dtype, float[] data, Path file)
            throws IOException {
        int perChunk = CHUNK / dtype.size;
        ByteBuffer buffer = ByteBuffer.allocate(Math.min(data.length, perChunk) * dtype.size)
                .order(ByteOrder.LITTLE_ENDIAN);
        for (int from = 0; from < data.length; from += perChunk) {
            int n = Math.min(data.length - from, perChunk);
            buffer.clear().limit(n * dtype.size);
            readFully(channel, buffer, position + (long) from * dtype.size);
            if (buffer.position() < n * dtype.size) {
                throw new IOException(file + " ends inside a tensor (truncated?)");
            }
            buffer.flip();
            switch (dtype) {
                case F32 -> buffer.asFloatBuffer().get(data, from, n);
                case BF16 -> {
                    for (int i = 0; i < n; i++) {
                        data[from + i] = fromBf16(buffer.getShort(2 * i));
                    }
                }
                case F16 -> {
                    for (int i = 0; i < n; i++) {
                        data[from + i] = Float.float16ToFloat(buffer.getShort(2 * i));
                    }
                }
            }
        }
    }

    private static void readFully(FileChannel channel, ByteBuffer buffer, long position) throws IOException {
        while (buffer.hasRemaining()) {
            int n = channel.read(buffer, position + buffer.position());
            if (n < 0) {
                return;
            }
        }
    }

    /** A bfloat16's bits widened to float32: exact (bf16 is float32's upper half). */
    public static float fromBf16(short bits) {
        return Float.intBitsToFloat((bits & 0xffff) << 16);
    }

    /** float32 to bfloat16 bits, rounding to nearest-even (torch's rule); NaN stays a (quiet) NaN. */
    public static short toBf16(float value) {
        int bits = Float.floatToRawIntBits(value);
        if (Float.isNaN(value)) {
            return (short) ((bits >>> 16) | 0x40);
        }
        int rounded = bits + 0x7fff + ((bits >>> 16) & 1);
        return (short) (rounded >>> 16);
    }
}
