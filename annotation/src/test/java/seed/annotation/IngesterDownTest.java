package seed.annotation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import seed.annotation.cli.AnnotateCommand;
import seed.annotation.core.EventCodec;
import seed.annotation.infra.InfraConfig;
import seed.annotation.ingest.Ingester;
import seed.annotation.web.AnnotationServer;

/**
 * An ingester that hits an error it cannot handle (here: its table is gone) stops loudly: /health says so with the
 * cause, the API stops answering 202 (the ranking would not be stored), and {@code seed annotate ingest} exits
 * non-zero so a supervisor restarts it. Also the response headers every answer carries.
 */
class IngesterDownTest {

    @TempDir
    Path dir;

    static HttpResponse<String> call(HttpClient http, String base, String method, String path, String token, String body)
            throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(30));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void fatalIngesterErrorIsVisibleAndStopsAcknowledgements() throws Exception {
        try (Annotation a = Annotation.start(InfraConfig.embedded(dir.resolve("data")))) {
            Ingester ing = a.startIngester(Ingester.Options.defaults());
            List<Long> items = a.loadCandidates(Fixtures.candidates(dir, 3, 2, null), 1).itemIds();
            String token = a.addAnnotator("down-1", "annotator").token();
            HttpClient http = HttpClient.newHttpClient();
            try (AnnotationServer server = new AnnotationServer(a.catalog(), a.submissions(),
                    AnnotationServer.Options.defaults().withIngester(ing::health))) {
                String base = "http://127.0.0.1:" + server.start("127.0.0.1", 0);
                HttpResponse<String> health = call(http, base, "GET", "/health", null, null);
                assertEquals(200, health.statusCode(), health.body());
                assertEquals("no-store", health.headers().firstValue("Cache-Control").orElse(""));
                assertEquals("nosniff", health.headers().firstValue("X-Content-Type-Options").orElse(""));
                assertTrue(health.headers().firstValue("Content-Security-Policy").orElse("").contains("frame-ancestors 'none'"));

                try (Connection c = a.infra().ownerDataSource().getConnection(); Statement st = c.createStatement()) {
                    st.execute("ALTER TABLE ranking_events RENAME TO ranking_events_moved");
                }
                long item = EventCodec.JSON.readTree(call(http, base, "GET", "/api/items/next", token, null).body()).get("item_id").longValue();
                assertEquals(202, call(http, base, "POST", "/api/submissions", token, "{\"item_id\": " + item + ", \"ranking\": [1,0]}").statusCode());
                long deadline = System.currentTimeMillis() + 30_000;
                while (ing.health().state() != Ingester.State.FAILED && System.currentTimeMillis() < deadline) {
                    Thread.sleep(50);
                }
                assertEquals(Ingester.State.FAILED, ing.health().state(), "a missing table is not retried forever");

                health = call(http, base, "GET", "/health", null, null);
                assertEquals(503, health.statusCode());
                JsonNode h = EventCodec.JSON.readTree(health.body());
                assertEquals("failed", h.get("ingester").get("state").asText());
                assertTrue(h.get("ingester").get("last_error").asText().contains("ranking_events"), health.body());

                long item2 = EventCodec.JSON.readTree(call(http, base, "GET", "/api/items/next", token, null).body()).get("item_id").longValue();
                HttpResponse<String> refused = call(http, base, "POST", "/api/submissions", token, "{\"item_id\": " + item2 + ", \"ranking\": [1,0]}");
                assertEquals(503, refused.statusCode(), refused.body());
                assertTrue(refused.body().contains("cannot be stored right now"), refused.body());
                assertTrue(!refused.body().contains("Exception"), "no internals in the answer: " + refused.body());
            }

            // the standalone ingester exits non-zero on the same failure, so a supervisor restarts it
            InfraConfig shared = a.infra().sharedConfig();
            List<String> args = new ArrayList<>(List.of("ingest", "--kafka-bootstrap", shared.kafkaBootstrap(), "--jdbc-url",
                    shared.jdbcUrl(), "--jdbc-user", shared.jdbcUser(), "--jdbc-password", shared.jdbcPassword(),
                    "--data-dir", dir.resolve("cli").toString(),
                    "--group", "down-cli"));
            StringWriter err = new StringWriter();
            CommandLine cl = new CommandLine(new AnnotateCommand());
            cl.setErr(new PrintWriter(err, true));
            cl.setOut(new PrintWriter(new StringWriter(), true));
            int code = CompletableFuture.supplyAsync(() -> cl.execute(args.toArray(String[]::new))).get(90, TimeUnit.SECONDS);
            assertEquals(1, code, err.toString());
            assertTrue(err.toString().contains("ingester failed"), err.toString());

            try (Connection c = a.infra().ownerDataSource().getConnection(); Statement st = c.createStatement()) {
                st.execute("ALTER TABLE ranking_events_moved RENAME TO ranking_events");
            }
        }
    }
}
