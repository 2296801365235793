package seed.stages.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Reads and writes the safetensors format (an 8-byte little-endian header length, a JSON header of name -> dtype,
 * shape, byte offsets, then raw little-endian data), float32 only. Chosen because it is the de-facto standard for
 * weights: Python tools open Seed's checkpoints as they are, and the file cannot execute code when loaded.
 */
public final class SafeTensors {

    private static final ObjectMapper JSON = new ObjectMapper();

    private SafeTensors() {
    }

    /** Writes {@code tensors} (in map order) and optional string metadata to {@code file} (not atomic by itself). */
    public static void write(Path file, Map<String, HostTensor> tensors, Map<String, String> metadata) throws IOException {
        ObjectNode header = JSON.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode meta = header.putObject("__metadata__");
            // sorted: the same tensors must give the same bytes (and SHA-256) whatever map the caller passed
            new java.util.TreeMap<>(metadata).forEach(meta::put);
        }
        long offset = 0;
        for (Map.Entry<String, HostTensor> e : tensors.entrySet()) {
            ObjectNode entry = header.putObject(e.getKey());
            entry.put("dtype", "F32");
            var shape = entry.putArray("shape");
            for (long d : e.getValue().shape()) {
                shape.add(d);
            }
            long bytes = 4L * e.getValue().data().length;
            entry.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        byte[] headerBytes = JSON.writeValueAsBytes(header);
        int padded = (headerBytes.length + 7) / 8 * 8; // the format recommends 8-byte alignment of the data
        try (OutputStream out = Files.newOutputStream(file)) {
            ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
            out.write(length.array());
            out.write(headerBytes);
            for (int i = headerBytes.length; i < padded; i++) {
                out.write(' ');
            }
            for (HostTensor t : tensors.values()) {
                ByteBuffer buffer = ByteBuffer.allocate(4 * t.data().length).order(ByteOrder.LITTLE_ENDIAN);
                buffer.asFloatBuffer().put(t.data());
                out.write(buffer.array());
            }
        }
    }

    /** Reads every tensor of {@code file}, in file order. */
    public static Map<String, HostTensor> read(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            byte[] lengthBytes = in.readNBytes(8);
            if (lengthBytes.length < 8) {
                throw new IOException(file + " is not a safetensors file (shorter than 8 bytes)");
            }
            long headerLength = ByteBuffer.wrap(lengthBytes).order(ByteOrder.LITTLE_ENDIAN).getLong();
            if (headerLength <= 0 || headerLength > 100_000_000) {
                throw new IOException(file + " is not a safetensors file (header length " + headerLength + ")");
            }
            JsonNode header = JSON.readTree(new String(in.readNBytes((int) headerLength), StandardCharsets.UTF_8));
            byte[] body = in.readAllBytes();
            Map<String, HostTensor> out = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (e.getKey().equals("__metadata__")) {
                    continue;
                }
                JsonNode entry = e.getValue();
                if (!"F32".equals(entry.path("dtype").asText())) {
                    throw new IOException(file + ": tensor '" + e.getKey() + "' has dtype " + entry.path("dtype")
                            + "; only F32 is supported");
                }
                long[] shape = new long[entry.path("shape").size()];
                for (int i = 0; i < shape.length; i++) {
                    shape[i] = entry.path("shape").get(i).asLong();
                }
                int begin = entry.path("data_offsets").get(0).asInt();
                int end = entry.path("data_offsets").get(1).asInt();
                if (begin < 0 || end > body.length || begin > end) {
                    throw new IOException(file + ": tensor '" + e.getKey() + "' points outside the file (truncated?)");
                }
                float[] data = new float[(end - begin) / 4];
                ByteBuffer.wrap(body, begin, end - begin).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(data);
                out.put(e.getKey(), new HostTensor(shape, data));
            }
            return out;
        }
    }
}
