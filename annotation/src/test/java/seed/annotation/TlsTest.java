package seed.annotation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import seed.annotation.web.AnnotationServer;

/** The optional TLS listener: HTTPS with the configured keystore, HSTS, and no plain-HTTP listener beside it. */
class TlsTest {

    @TempDir
    Path dir;

    @Test
    void servesHttpsOnly() throws Exception {
        Path ks = dir.resolve("server.p12");
        Process kt = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(), "-genkeypair",
                "-alias", "seed", "-keyalg", "EC", "-dname", "CN=localhost", "-ext", "SAN=ip:127.0.0.1,dns:localhost",
                "-validity", "2", "-storetype", "PKCS12", "-keystore", ks.toString(), "-storepass", "changeit")
                .redirectErrorStream(true).start();
        kt.getInputStream().transferTo(java.io.OutputStream.nullOutputStream());
        assertTrue(kt.waitFor(60, TimeUnit.SECONDS) && kt.exitValue() == 0, "keytool");

        KeyStore trust = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(ks)) {
            trust.load(in, "changeit".toCharArray());
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);

        // no Kafka or PostgreSQL needed for the page and the headers
        try (AnnotationServer server = new AnnotationServer(null, null,
                AnnotationServer.Options.defaults().withTls(ks, "changeit"))) {
            int port = server.start("127.0.0.1", 0);
            HttpClient https = HttpClient.newBuilder().sslContext(ctx).connectTimeout(Duration.ofSeconds(5)).build();
            HttpResponse<String> r = https.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + port + "/")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode());
            assertTrue(r.headers().firstValue("Strict-Transport-Security").isPresent());
            assertTrue(!server.toString().contains("changeit"));
            // plain HTTP on the same port is not served
            HttpClient plain = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
            assertThrows(java.io.IOException.class, () -> plain.send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + port + "/")).timeout(Duration.ofSeconds(5)).build(),
                    HttpResponse.BodyHandlers.ofString()));
            assertTrue(!AnnotationServer.Options.defaults().withTls(ks, "changeit").toString().contains("changeit"));
        }
    }
}
