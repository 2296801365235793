package seed.annotation.bench;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import seed.annotation.web.AnnotationServer;

/**
 * One keep-alive HTTP/1.1 connection of the submit benchmark's load generator (TCP_NODELAY, plain text, one request
 * at a time): a JSON POST written in one piece and its answer read back (Content-Length or chunked). Only what the
 * benchmark needs; the product's own client is {@code AnnotationClient}.
 */
final class HttpConnection implements AutoCloseable {

    /** Status, body, the server handler's end timestamp (or null) and whether the server closes the connection. */
    record Answer(int status, String body, String doneNs, boolean close) {
    }

    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;
    private final String host;

    HttpConnection(URI uri) throws IOException {
        socket = new Socket(uri.getHost(), uri.getPort());
        socket.setTcpNoDelay(true);
        in = new BufferedInputStream(socket.getInputStream(), 8192);
        out = new BufferedOutputStream(socket.getOutputStream(), 8192);
        host = uri.getHost() + ":" + uri.getPort();
    }

    Answer post(String path, String token, String json, long sentNs) throws IOException {
        byte[] body = json.getBytes(StandardCharsets.UTF_8);
        String head = "POST " + path + " HTTP/1.1\r\nHost: " + host + "\r\nAuthorization: Bearer " + token
                + "\r\nContent-Type: application/json\r\nContent-Length: " + body.length + "\r\n"
                + AnnotationServer.BENCH_SENT_HEADER + ": " + sentNs + "\r\n\r\n";
        out.write(head.getBytes(StandardCharsets.ISO_8859_1));
        out.write(body);
        out.flush();
        String status = line();
        if (!status.startsWith("HTTP/1.") || status.length() < 12) {
            throw new IOException("not an HTTP answer: " + status);
        }
        int code = Integer.parseInt(status.substring(9, 12));
        long length = -1;
        boolean chunked = false;
        boolean close = false;
        String done = null;
        for (String h; !(h = line()).isEmpty(); ) {
            int c = h.indexOf(':');
            if (c < 0) {
                continue;
            }
            String k = h.substring(0, c).trim().toLowerCase(Locale.ROOT);
            String v = h.substring(c + 1).trim();
            switch (k) {
                case "content-length" -> length = Long.parseLong(v);
                case "transfer-encoding" -> chunked = v.toLowerCase(Locale.ROOT).contains("chunked");
                case "connection" -> close = v.equalsIgnoreCase("close");
                default -> {
                    if (k.equalsIgnoreCase(AnnotationServer.BENCH_DONE_HEADER)) {
                        done = v;
                    }
                }
            }
        }
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        if (chunked) {
            for (long n; (n = Long.parseLong(line().split(";")[0].trim(), 16)) > 0; ) {
                copy(n, b);
                line();
            }
            while (!line().isEmpty()) {
                // trailers
            }
        } else if (length >= 0) {
            copy(length, b);
        } else {
            close = true; // body until the server closes: read what there is
            in.transferTo(b);
        }
        return new Answer(code, b.toString(StandardCharsets.UTF_8), done, close);
    }

    private void copy(long n, ByteArrayOutputStream b) throws IOException {
        for (long i = 0; i < n; i++) {
            int x = in.read();
            if (x < 0) {
                throw new EOFException("connection closed inside a body");
            }
            b.write(x);
        }
    }

    private String line() throws IOException {
        StringBuilder sb = new StringBuilder(64);
        for (int x; (x = in.read()) != '\n'; ) {
            if (x < 0) {
                throw new EOFException("connection closed by the server");
            }
            if (x != '\r') {
                sb.append((char) x);
            }
        }
        return sb.toString();
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }
}
