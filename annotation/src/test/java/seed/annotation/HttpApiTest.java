package seed.annotation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import seed.annotation.core.EventCodec;
import seed.annotation.infra.InfraConfig;
import seed.annotation.web.AnnotationServer;

/**
 * The JSON API over real HTTP, Kafka and PostgreSQL: authentication, own assignments only, and every bad input
 * (malformed JSON, unknown item, non-permutation, duplicate, forged annotator, oversized body) answered with a 4xx
 * and the reason, with nothing stored.
 */
class HttpApiTest {

    @TempDir
    static Path dir;
    static Annotation a;
    static AnnotationServer server;
    static String base;
    static final HttpClient http = HttpClient.newHttpClient();

    @BeforeAll
    static void start() {
        a = Annotation.start(InfraConfig.embedded(dir.resolve("data")));
        server = new AnnotationServer(a.catalog(), a.submissions());
        base = "http://127.0.0.1:" + server.start("127.0.0.1", 0);
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
        if (a != null) {
            a.close();
        }
    }

    /**
     * Issue 19: items served stayed cached forever ({@code serve}'s old generation grew with every item shown). The
     * cache keeps at most its limit and still answers every item, evicted or not, with its content.
     */
    @Test
    void itemCacheStaysWithinItsLimit() throws Exception {
        java.util.List<Long> ids = a.loadCandidates(Fixtures.candidates(dir, 12, 3, null), 1).itemIds();
        seed.annotation.core.Catalog small = new seed.annotation.core.Catalog(a.infra().dataSource(), null, 5);
        for (int round = 0; round < 2; round++) {
            for (long id : ids) {
                seed.annotation.core.Item it = small.item(id).orElseThrow();
                assertEquals(id, it.id());
                assertEquals(3, it.k());
                assertTrue(small.cachedItems() <= 5, small.cachedItems() + " items cached, limit 5");
            }
        }
        assertTrue(small.cachedItems() >= 1);
        assertEquals(small.item(ids.get(0)).orElseThrow(), a.catalog().item(ids.get(0)).orElseThrow());
    }

    static HttpResponse<String> call(String method, String path, String token, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/json");
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static void assertError(HttpResponse<String> r, int status, String reasonPart) throws Exception {
        assertEquals(status, r.statusCode(), r.body());
        String err = EventCodec.JSON.readTree(r.body()).path("error").asText();
        assertTrue(err.contains(reasonPart), "reason '" + err + "' should mention '" + reasonPart + "'");
    }

    @Test
    void rankingThroughTheApiAndEveryBadInputRefused() throws Exception {
        a.loadCandidates(Fixtures.candidates(dir, 2, 3, null), 1);
        String token = a.addAnnotator(Fixtures.uniqueName("ann"), "annotator").token();
        var other = a.addAnnotator(Fixtures.uniqueName("other"), "annotator");
        var ds = a.infra().dataSource();
        long before = Fixtures.count(ds, "SELECT count(*) FROM ranking_events");

        assertError(call("GET", "/api/items/next", null, null), 401, "Authorization");
        assertError(call("GET", "/api/items/next", "seed_not-a-token", null), 401, "unknown token");
        assertError(call("POST", "/api/login", null, "{\"token\": \"nope\"}"), 401, "unknown token");
        assertEquals(200, call("POST", "/api/login", null, "{\"token\": \"" + token + "\"}").statusCode());

        HttpResponse<String> next = call("GET", "/api/items/next", token, null);
        assertEquals(200, next.statusCode(), next.body());
        JsonNode item = EventCodec.JSON.readTree(next.body());
        long id = item.get("item_id").longValue();
        assertEquals(3, item.get("responses").size());
        // the other annotator cannot read or submit my item
        assertError(call("GET", "/api/items/" + id, other.token(), null), 403, "not assigned");
        assertError(call("POST", "/api/submissions", other.token(), "{\"item_id\": " + id + ", \"ranking\": [0,1,2]}"), 403, "not assigned");

        HttpResponse<String> cut = call("POST", "/api/submissions", token, "{\"item_id\": " + id + ", \"ranking\": [0,1");
        assertError(cut, 400, "malformed JSON");
        // the reason is for a person: no parser internals (issue 19 saw "[Source: REDACTED (`StreamReadFeature...")
        for (String bad : new String[] {"{\"item_id\": " + id + ", \"ranking\": [0,1", "{\"item_id\": 1,, }", "{'item_id': 1}", "{\"a\": tru}"}) {
            String body = call("POST", "/api/submissions", token, bad).body();
            for (String leak : new String[] {"Source", "StreamReadFeature", "REDACTED", "fasterxml", "(code ", "java."}) {
                assertTrue(!body.contains(leak), bad + " -> " + body);
            }
            assertTrue(body.contains("line 1, column"), bad + " -> " + body);
        }
        assertError(call("POST", "/api/submissions", token, "[1,2]"), 400, "JSON object");
        // strict JSON: nothing after the object, no repeated key (the second "ranking" would silently win)
        assertError(call("POST", "/api/submissions", token, "{\"item_id\": " + id + ", \"ranking\": [2,0,1]} }}not json{{"), 400, "malformed JSON");
        assertError(call("POST", "/api/submissions", token, "{\"item_id\": " + id + ", \"ranking\": [2,0,1], \"ranking\": [0,1,2]}"), 400, "Duplicate field");
        assertError(call("POST", "/api/login", null, "{\"token\": \"" + token + "\"} trailing"), 400, "malformed JSON");
        assertError(call("POST", "/api/submissions", token, "{\"item_id\": 987654321, \"ranking\": [0,1,2]}"), 404, "unknown item");
        assertError(call("POST", "/api/submissions", token, "{\"item_id\": " + id + ", \"ranking\": [0,1,1]}"), 400, "permutation");
        assertError(call("POST", "/api/submissions", token, "{\"item_id\": " + id + ", \"ranking\": [0,1]}"), 400, "permutation");
        assertError(call("POST", "/api/submissions", token, "{\"item_id\": " + id + ", \"ranking\": [0,1,5]}"), 400, "out of range");
        assertError(call("POST", "/api/submissions", token, "{\"item_id\": " + id + ", \"ranking\": [0,1,2], \"ties\": [[0,0]]}"), 400, "itself");
        assertError(call("POST", "/api/submissions", token, "{\"item_id\": " + id + ", \"ranking\": [0,1,2], \"ties\": [[0,2]]}"), 400,
                "tied responses must be next to each other");
        assertError(call("POST", "/api/submissions", token, "{\"item_id\": " + id + ", \"ranking\": [0,1,2], \"annotator_id\": "
                + other.annotator().id() + "}"), 403, "does not match");
        assertError(call("POST", "/api/submissions", token, "{\"item_id\": " + id + ", \"ranking\": [0,1,2], \"admin\": true}"), 400, "unknown field");
        String huge = "{\"item_id\": " + id + ", \"ranking\": [0,1,2], \"pad\": \"" + "x".repeat(AnnotationServer.MAX_BODY_BYTES) + "\"}";
        assertEquals(413, call("POST", "/api/submissions", token, huge).statusCode());

        assertError(call("POST", "/api/submissions", token, "{\"item_id\": " + id + ", \"ranking\": [2,0,1], \"comment\": \""
                + "x".repeat(2001) + "\"}"), 400, "at most 2000");
        assertError(call("POST", "/api/submissions", token, "{\"item_id\": " + id + ", \"ranking\": [2,0,1], \"comment\": \"a\\u0000b\"}"),
                400, "control character");
        HttpResponse<String> ok = call("POST", "/api/submissions", token, "{\"item_id\": " + id + ", \"ranking\": [2,0,1], \"ties\": [[0,1]],"
                + " \"comment\": \"tab\\there, a \\\\ backslash\\nand a line\"}");
        assertEquals(202, ok.statusCode(), ok.body());
        // not stored yet (or stored already, if the ingester was quick): either way a second ranking is refused
        HttpResponse<String> second = call("POST", "/api/submissions", token, "{\"item_id\": " + id + ", \"ranking\": [0,1,2]}");
        assertEquals(409, second.statusCode(), second.body());

        // skip the second item; then nothing is left
        long id2 = EventCodec.JSON.readTree(call("GET", "/api/items/next", token, null).body()).get("item_id").longValue();
        assertEquals(202, call("POST", "/api/submissions", token, "{\"item_id\": " + id2 + ", \"skip\": true, \"unsafe\": [1]}").statusCode());
        assertEquals(204, call("GET", "/api/items/next", token, null).statusCode());

        a.ingestUntilCaughtUp(Duration.ofSeconds(60));
        assertEquals(before + 2, Fixtures.count(ds, "SELECT count(*) FROM ranking_events"), "only the two accepted submissions are stored");
        assertEquals(1, Fixtures.count(ds, "SELECT count(*) FROM ranking_events WHERE item_id = ? AND ranking = '{2,0,1}'"
                + " AND comment = E'tab\\there, a \\\\ backslash\\nand a line'", id));
        assertEquals(1, Fixtures.count(ds, "SELECT count(*) FROM ranking_events WHERE item_id = ? AND skip AND unsafe = '{1}'", id2));
        assertEquals(0, Fixtures.count(ds, "SELECT count(*) FROM rejected_events"));

        // once stored: another ranking is 409 for good, and the very same one (a client retrying after a lost answer
        // or a 503) is answered 202 with the stored event, so the page is never stuck on an item it did submit
        assertError(call("POST", "/api/submissions", token, "{\"item_id\": " + id + ", \"ranking\": [0,1,2]}"), 409,
                "already submitted by annotator");
        HttpResponse<String> again = call("POST", "/api/submissions", token, "{\"item_id\": " + id + ", \"ranking\": [2,0,1],"
                + " \"ties\": [[1,0]], \"comment\": \"tab\\there, a \\\\ backslash\\nand a line\"}");
        assertEquals(202, again.statusCode(), again.body());
        JsonNode first = EventCodec.JSON.readTree(ok.body());
        JsonNode repeat = EventCodec.JSON.readTree(again.body());
        assertEquals(first.get("event_id").asText(), repeat.get("event_id").asText());
        assertEquals(first.get("offset").asLong(), repeat.get("offset").asLong());
        assertTrue(repeat.path("resubmission").asBoolean(), again.body());
        a.ingestUntilCaughtUp(Duration.ofSeconds(60));
        assertEquals(before + 2, Fixtures.count(ds, "SELECT count(*) FROM ranking_events"), "the resubmission stored nothing");
    }

    /**
     * Issue 19, revisit and edit: an edit is a new signed event that supersedes the stored one; both stay in
     * ranking_events (the record keeps every version), the snapshot and the history take the latest, an edit of a
     * version that is no longer current is refused, and an edit whose event never arrives gives the claim back to the
     * ranking it was to replace (not to "not submitted").
     */
    @Test
    void anEditSupersedesTheStoredRankingAndSnapshotsTakeTheLatest() throws Exception {
        long id = a.loadCandidates(Fixtures.candidates(dir, 1, 3, null), 1).itemIds().get(0);
        var ann = a.addAnnotator(Fixtures.uniqueName("editor"), "annotator");
        a.catalog().assign(id, ann.annotator().id());
        var ds = a.infra().dataSource();
        HttpResponse<String> first = call("POST", "/api/submissions", ann.token(), "{\"item_id\": " + id + ", \"ranking\": [0,1,2]}");
        assertEquals(202, first.statusCode(), first.body());
        String v1 = EventCodec.JSON.readTree(first.body()).get("event_id").asText();
        a.ingestUntilCaughtUp(Duration.ofSeconds(60));
        HttpResponse<String> edit = call("POST", "/api/submissions", ann.token(), "{\"item_id\": " + id
                + ", \"ranking\": [2,1,0], \"ties\": [[1,0]], \"comment\": \"second thoughts\", \"supersedes\": \"" + v1 + "\"}");
        assertEquals(202, edit.statusCode(), edit.body());
        String v2 = EventCodec.JSON.readTree(edit.body()).get("event_id").asText();
        assertTrue(!v1.equals(v2));
        // while the edit is on its way, another edit waits ("in progress"); once stored, an edit of the old version
        // with other content is refused: it is no longer the current ranking
        assertError(call("POST", "/api/submissions", ann.token(), "{\"item_id\": " + id + ", \"ranking\": [1,0,2],"
                + " \"supersedes\": \"" + v1 + "\"}"), 409, "");
        a.ingestUntilCaughtUp(Duration.ofSeconds(60));
        assertError(call("POST", "/api/submissions", ann.token(), "{\"item_id\": " + id + ", \"ranking\": [1,0,2],"
                + " \"supersedes\": \"" + v1 + "\"}"), 409, "is not the current ranking");
        assertEquals(2, Fixtures.count(ds, "SELECT count(*) FROM ranking_events WHERE item_id = ?", id), "both versions on record");
        assertEquals(1, Fixtures.count(ds, "SELECT count(*) FROM ranking_events WHERE event_id = ?::uuid AND supersedes = ?::uuid"
                + " AND ranking = '{2,1,0}' AND comment = 'second thoughts'", v2, v1));
        // the snapshot holds the latest version only; the history shows it
        var snap = a.snapshot(seed.annotation.snapshot.SnapshotScope.all());
        String lines = java.nio.file.Files.readString(snap.path());
        assertTrue(lines.contains(v2) && !lines.contains(v1), "snapshot has v2, not v1");
        JsonNode hist = EventCodec.JSON.readTree(call("GET", "/api/me/submissions", ann.token(), null).body());
        assertEquals(1, hist.size());
        assertEquals(v2, hist.get(0).get("event_id").asText());
        assertEquals("[2,1,0]", hist.get(0).get("stored").get("ranking").toString());

        // an edit claimed but never produced (a crash): the reconciler gives the claim back to v2, not to nothing
        java.util.UUID lost = seed.annotation.core.EventIds.next();
        assertEquals(seed.annotation.core.Catalog.Claim.CLAIMED,
                a.catalog().claimEdit(id, ann.annotator().id(), java.util.UUID.fromString(v2), lost));
        String before = System.getProperty("seed.claims.release-after-ms");
        System.setProperty("seed.claims.release-after-ms", "0");
        try {
            Thread.sleep(50);
            assertTrue(a.ingester().reconciler().runOnce() >= 1);
        } finally {
            if (before == null) {
                System.clearProperty("seed.claims.release-after-ms");
            } else {
                System.setProperty("seed.claims.release-after-ms", before);
            }
        }
        assertEquals(1, Fixtures.count(ds, "SELECT count(*) FROM assignments WHERE item_id = ? AND annotator_id = ?"
                + " AND submitted_event_id = ?::uuid AND superseded_event_id IS NULL", id, ann.annotator().id(), v2));
    }

    /**
     * Issue 19, preference strength (Llama 2): one grade per neighbouring pair, stored with the ranking, carried into
     * the snapshot and exported as TRL's "margin" (the sum of the pairs' margins between chosen and rejected).
     */
    @Test
    void strengthsAreStoredAndExportedAsMargins() throws Exception {
        long id = a.loadCandidates(Fixtures.candidates(dir, 1, 3, null), 1).itemIds().get(0);
        var ann = a.addAnnotator(Fixtures.uniqueName("grader"), "annotator");
        a.catalog().assign(id, ann.annotator().id());
        String base = "{\"item_id\": " + id + ", \"ranking\": [2,0,1], \"ties\": [[0,1]], \"strengths\": ";
        assertError(call("POST", "/api/submissions", ann.token(), base + "[4]}"), 400, "one per pair or none");
        assertError(call("POST", "/api/submissions", ann.token(), base + "[4,3]}"), 400, "but the pair is tied");
        HttpResponse<String> ok = call("POST", "/api/submissions", ann.token(), base + "[4,0]}");
        assertEquals(202, ok.statusCode(), ok.body());
        a.ingestUntilCaughtUp(Duration.ofSeconds(60));
        assertEquals(1, Fixtures.count(a.infra().dataSource(), "SELECT count(*) FROM ranking_events WHERE item_id = ?"
                + " AND strengths = '{4,0}'", id));
        var snap = a.snapshot(seed.annotation.snapshot.SnapshotScope.all());
        java.nio.file.Path trl = dir.resolve("trl-" + snap.id() + ".jsonl");
        seed.annotation.snapshot.Snapshots.exportTrl(snap.path(), trl, seed.annotation.snapshot.Snapshots.TrlFormat.PAIRS);
        int pairs = 0;
        for (String l : java.nio.file.Files.readAllLines(trl)) {
            JsonNode p = EventCodec.JSON.readTree(l);
            if (p.get("item_id").asLong() != id) {
                continue;
            }
            pairs++;
            assertEquals(1.0, p.get("margin").asDouble(), 1e-9, l); // 2 > 0 (significantly), 2 > 1 (significantly + tie)
            assertTrue(p.get("chosen").asText().startsWith("response 2"), l);
        }
        assertEquals(2, pairs, "the tied pair 0 = 1 gives no pair");
    }

    /**
     * A claim whose event never arrived (a crash between the claim and Kafka's ack) is not "already submitted":
     * the answer says it is in progress and when to retry (Retry-After), and it stays so until the reconciler frees it.
     */
    @Test
    void strandedClaimSaysInProgressAndWhenToRetry() throws Exception {
        long id = a.loadCandidates(Fixtures.candidates(dir, 1, 2, null), 1).itemIds().get(0);
        var ann = a.addAnnotator(Fixtures.uniqueName("stranded"), "annotator");
        a.catalog().assign(id, ann.annotator().id());
        // what a process killed after its claim leaves behind: a claim and no record
        assertEquals(seed.annotation.core.Catalog.Claim.CLAIMED,
                a.catalog().claim(id, ann.annotator().id(), seed.annotation.core.EventIds.next()));
        HttpResponse<String> r = call("POST", "/api/submissions", ann.token(), "{\"item_id\": " + id + ", \"ranking\": [1,0]}");
        assertError(r, 409, "is in progress");
        assertTrue(EventCodec.JSON.readTree(r.body()).path("error").asText().contains("retry in"), r.body());
        long retryAfter = Long.parseLong(r.headers().firstValue("Retry-After").orElseThrow());
        assertTrue(retryAfter >= 1 && retryAfter <= 120, "Retry-After " + retryAfter);
        assertEquals(0, Fixtures.count(a.infra().dataSource(), "SELECT count(*) FROM ranking_events WHERE item_id = ?", id));
    }

    @Test
    void statsAreForOperators() throws Exception {
        String ann = a.addAnnotator(Fixtures.uniqueName("plain"), "annotator").token();
        String op = a.addAnnotator(Fixtures.uniqueName("op"), "operator").token();
        assertError(call("GET", "/api/stats", ann, null), 403, "operators");
        HttpResponse<String> r = call("GET", "/api/stats", op, null);
        assertEquals(200, r.statusCode(), r.body());
        assertTrue(EventCodec.JSON.readTree(r.body()).has("items"));
        assertError(call("GET", "/api/nothing-here", op, null), 404, "no such endpoint");
    }

    /** Every role over the real server: what each may do, and a 403 with the reason for what it may not. */
    @Test
    void rolesAreEnforced() throws Exception {
        a.loadCandidates(Fixtures.candidates(dir, 1, 3, null), 1);
        String ann = a.addAnnotator(Fixtures.uniqueName("ranker"), "annotator").token();
        String op = a.addAnnotator(Fixtures.uniqueName("operator"), "operator").token();
        String aud = a.addAnnotator(Fixtures.uniqueName("auditor"), "auditor").token();
        String jsonl = "{\"prompt\": \"p-" + Fixtures.uniqueName("roles") + "\", \"responses\": [\"a\", \"b\"],"
                + " \"checkpoint\": \"c\"}\n";

        // an operator manages but does not rank
        assertError(call("GET", "/api/items/next", op, null), 403, "operators manage annotation and do not rank");
        assertError(call("POST", "/api/submissions", op, "{\"item_id\": 1, \"ranking\": [0,1,2]}"), 403, "do not rank");
        assertEquals(201, call("POST", "/api/items?annotators=1", op, jsonl).statusCode());
        assertEquals(200, call("GET", "/api/stats", op, null).statusCode());
        HttpResponse<String> progress = call("GET", "/api/progress", op, null);
        assertEquals(200, progress.statusCode(), progress.body());
        assertTrue(EventCodec.JSON.readTree(progress.body()).isArray());

        // an auditor reads statistics and changes nothing
        assertEquals(200, call("GET", "/api/stats", aud, null).statusCode());
        assertEquals(200, call("GET", "/api/progress", aud, null).statusCode());
        assertError(call("POST", "/api/items?annotators=1", aud, jsonl), 403, "auditors read and change nothing");
        assertError(call("GET", "/api/items/next", aud, null), 403, "auditors read statistics and change nothing");
        assertError(call("POST", "/api/submissions", aud, "{\"item_id\": 1, \"ranking\": [0,1,2]}"), 403, "change nothing");

        // an annotator ranks and cannot read statistics, others' progress, or load
        assertError(call("GET", "/api/stats", ann, null), 403, "operators and auditors");
        assertError(call("GET", "/api/progress", ann, null), 403, "operators and auditors");
        assertError(call("POST", "/api/items?annotators=1", ann, jsonl), 403, "for operators");
        HttpResponse<String> next = call("GET", "/api/items/next", ann, null);
        assertEquals(200, next.statusCode(), next.body());
        long id = EventCodec.JSON.readTree(next.body()).get("item_id").longValue();
        int k = EventCodec.JSON.readTree(next.body()).get("responses").size();
        String order = k == 3 ? "[2,1,0]" : "[1,0]";
        assertEquals(202, call("POST", "/api/submissions", ann, "{\"item_id\": " + id + ", \"ranking\": " + order + "}").statusCode());
        JsonNode mine = EventCodec.JSON.readTree(call("GET", "/api/me/progress", ann, null).body());
        assertEquals(1, mine.get("done").asLong());
        // issue 19: one definition of progress; the operator's row for this annotator says exactly the same
        long annId = EventCodec.JSON.readTree(call("POST", "/api/login", null, "{\"token\": \"" + ann + "\"}").body())
                .get("annotator_id").asLong();
        JsonNode row = null;
        for (JsonNode n : EventCodec.JSON.readTree(call("GET", "/api/progress", op, null).body())) {
            if (n.get("annotator_id").asLong() == annId) {
                row = n;
            }
        }
        assertTrue(row != null);
        for (String f : new String[] {"done", "skipped", "in_progress", "left", "assigned", "open"}) {
            assertEquals(mine.get(f).asLong(), row.get(f).asLong(), f + ": mine " + mine + " vs operator's " + row);
        }
        assertEquals(mine.get("left").asLong(), mine.get("in_progress").asLong() + Fixtures.count(a.infra().dataSource(),
                "SELECT count(*) FROM annotation_items i WHERE i.assigned_count < i.annotators_needed AND NOT EXISTS"
                + " (SELECT 1 FROM assignments x WHERE x.item_id = i.id AND x.annotator_id = ?)", annId));

        // Basic auth with the token as password and a lower-case bearer both work; login reports the role
        String basic = java.util.Base64.getEncoder().encodeToString(("x:" + aud).getBytes(java.nio.charset.StandardCharsets.UTF_8));
        HttpResponse<String> viaBasic = http.send(HttpRequest.newBuilder(URI.create(base + "/api/stats"))
                .header("Authorization", "Basic " + basic).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, viaBasic.statusCode(), viaBasic.body());
        HttpResponse<String> lower = http.send(HttpRequest.newBuilder(URI.create(base + "/api/stats"))
                .header("Authorization", "bearer " + op).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, lower.statusCode(), lower.body());
        HttpResponse<String> login = call("POST", "/api/login", null, "{\"token\": \"" + aud + "\"}");
        assertEquals("auditor", EventCodec.JSON.readTree(login.body()).get("role").asText());
    }

    @Test
    void pageIsServed() throws Exception {
        HttpResponse<String> r = call("GET", "/", null, null);
        assertEquals(200, r.statusCode());
        assertTrue(r.body().contains("id=\"responses\""));
        assertEquals(200, call("GET", "/app.js", null, null).statusCode());
    }
}
