package seed.annotation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.Keys;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.interactions.Actions;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;
import seed.annotation.infra.InfraConfig;
import seed.annotation.web.AnnotationServer;

/**
 * A person's path end to end in headless Chromium (Debian's chromium + chromedriver): sign in with the token,
 * reorder by drag and drop and by keyboard, mark a tie and an unsafe response, submit, and find exactly that row in
 * PostgreSQL after Kafka. When the browser is missing the test is skipped locally but FAILS under CI=true.
 */
class BrowserTest {

    /** Debian's binaries; SEED_CHROMIUM / SEED_CHROMEDRIVER point elsewhere. */
    static final Path CHROMIUM = Path.of(System.getenv().getOrDefault("SEED_CHROMIUM", "/usr/bin/chromium"));
    static final Path CHROMEDRIVER = Path.of(System.getenv().getOrDefault("SEED_CHROMEDRIVER", "/usr/bin/chromedriver"));

    @TempDir
    static Path dir;
    static Annotation a;
    static AnnotationServer server;
    static String base;
    ChromeDriver driver;
    Path profile;

    @BeforeAll
    static void start() {
        if (!browserPresent()) {
            return;
        }
        a = Annotation.start(InfraConfig.embedded(dir.resolve("data")));
        a.startIngester(seed.annotation.ingest.Ingester.Options.defaults());
        server = new AnnotationServer(a.catalog(), a.submissions(), AnnotationServer.Options.defaults()
                .withIngester(a.ingester()::health)
                .withGuidelines("## What best means\n\n**Helpful** first, then `correct`.\n\n- kind\n- short"));
        base = "http://127.0.0.1:" + server.start("127.0.0.1", 0);
    }

    static boolean browserPresent() {
        return Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER);
    }

    @BeforeEach
    void openBrowser() throws IOException {
        if (!browserPresent()) {
            String msg = "headless Chromium missing: install with apt-get install -y --no-install-recommends chromium chromium-driver";
            if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                fail(msg + " (CI=true: the browser test must run)");
            }
            Assumptions.abort(msg);
        }
        profile = Files.createTempDirectory("seed-chromium-");
        ChromeOptions o = new ChromeOptions();
        o.setBinary(CHROMIUM.toFile());
        o.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
                "--no-default-browser-check", "--disable-extensions", "--window-size=1100,1000",
                "--user-data-dir=" + profile, "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1");
        ChromeDriverService svc = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile())
                .usingAnyFreePort().build();
        driver = new ChromeDriver(svc, o);
    }

    @AfterEach
    void closeBrowser() throws IOException {
        if (driver != null) {
            driver.quit();
        }
        if (profile != null) {
            try (Stream<Path> s = Files.walk(profile)) {
                s.sorted(Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
            }
        }
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

    private List<Integer> order() {
        return driver.findElements(By.cssSelector("#responses li")).stream()
                .map(li -> Integer.parseInt(li.getAttribute("data-index"))).toList();
    }

    /** Moves response {@code index} to position {@code pos} with its arrow buttons. */
    private void place(int index, int pos) {
        while (order().indexOf(index) > pos) {
            driver.findElement(By.cssSelector("#responses li[data-index='" + index + "'] button.up")).click();
        }
    }

    @Test
    void annotatorRanksInTheBrowserAndTheRowLandsInPostgres() throws Exception {
        Path cands = dir.resolve("cands.jsonl");
        Files.writeString(cands, "{\"prompt\": \"Write a haiku about **autumn**.\", \"responses\": ["
                + "\"Leaves drift on cold wind / the maple lets go of red / evening comes early\", "
                + "\"Autumn is a season. <img src=x onerror=alert(1)><script>alert(2)</script>\", "
                + "\"```\\nprint('pumpkin spice')\\n```\"], \"checkpoint\": \"runs/sft/ckpt-3\"}\n");
        long item = a.loadCandidates(cands, 1).itemIds().get(0);
        String token = a.addAnnotator("browser-ann", "annotator").token();

        WebDriverWait wait = new WebDriverWait(driver, Duration.ofSeconds(20));
        driver.get(base + "/?undo_ms=1000");
        driver.findElement(By.id("token")).sendKeys(token);
        driver.findElement(By.id("login")).click();
        wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("item-view")));
        // markdown rendered safely: bold and code become elements, HTML stays text
        assertEquals("autumn", driver.findElement(By.cssSelector("#prompt strong")).getText());
        assertEquals("print('pumpkin spice')", driver.findElement(By.cssSelector("#responses pre code")).getText());
        assertEquals(0, driver.findElements(By.cssSelector("#responses img, #responses script")).size());
        assertTrue(driver.findElement(By.cssSelector("#responses li[data-index='1']")).getText().contains("<img src=x"));
        // guidelines and progress
        new Actions(driver).sendKeys("g").perform(); // opens the guidelines
        wait.until(d -> "Helpful".equals(d.findElement(By.cssSelector("#guidelines strong")).getText()));
        wait.until(d -> d.findElement(By.id("progress")).getText().contains("0 done"));
        // responses in a per-annotator order, and no submit before a deliberate action
        List<Integer> shown = order();
        assertEquals(java.util.Set.of(0, 1, 2), java.util.Set.copyOf(shown));
        assertFalse(driver.findElement(By.id("submit")).isEnabled(), "an untouched order cannot be submitted");

        // drag and drop: the last response onto the first
        List<WebElement> lis = driver.findElements(By.cssSelector("#responses li"));
        new Actions(driver).dragAndDrop(lis.get(2), lis.get(0)).perform();
        List<Integer> dragged = List.of(shown.get(2), shown.get(0), shown.get(1));
        wait.until(d -> order().equals(dragged));
        assertTrue(driver.findElement(By.id("submit")).isEnabled());
        // keyboard: focus the first response and move it down once
        WebElement first = driver.findElements(By.cssSelector("#responses li")).get(0);
        first.click();
        first.sendKeys(Keys.ARROW_DOWN);
        wait.until(d -> order().equals(List.of(dragged.get(1), dragged.get(0), dragged.get(2))));
        // buttons: into the order 0, 1, 2
        place(0, 0);
        place(1, 1);
        wait.until(d -> order().equals(List.of(0, 1, 2)));
        // tie: response 2 (last) with the one above (1) by its box; unsafe: response 2 by the u key
        driver.findElement(By.cssSelector("#responses li[data-index='2'] input.tie")).click();
        driver.findElement(By.cssSelector("#responses li[data-index='2']")).sendKeys("u");
        assertTrue(driver.findElement(By.cssSelector("#responses li[data-index='2'] input.unsafe")).isSelected());
        // the help overlay opens with ? and closes with Esc
        driver.findElement(By.cssSelector("#responses li[data-index='0']")).sendKeys("?");
        wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("help")));
        driver.findElement(By.id("help-close")).sendKeys(Keys.ESCAPE);
        wait.until(ExpectedConditions.invisibilityOfElementLocated(By.id("help")));
        Path shot = Path.of("target", "annotator-page.png");
        Files.createDirectories(shot.getParent());
        Files.copy(driver.getScreenshotAs(OutputType.FILE).toPath(), shot, StandardCopyOption.REPLACE_EXISTING);

        // submit, then undo within the window: nothing leaves, the item stays as it was
        driver.findElement(By.id("submit")).click();
        wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("undo-bar")));
        new Actions(driver).keyDown(Keys.CONTROL).sendKeys("z").keyUp(Keys.CONTROL).perform();
        wait.until(d -> d.findElement(By.id("status")).getText().contains("Undone"));
        Thread.sleep(1500); // longer than the test's undo window: had it not been undone, it would be sent by now
        assertEquals(List.of(0, 1, 2), order());
        assertEquals(0, Fixtures.count(a.infra().dataSource(), "SELECT count(*) FROM assignments s JOIN annotators a"
                + " ON a.id = s.annotator_id WHERE a.name = 'browser-ann' AND s.submitted_event_id IS NOT NULL"));
        // a comment (the c key focuses the box), then submit with Ctrl+Enter from inside it
        driver.findElement(By.cssSelector("#responses li[data-index='0']")).sendKeys("c");
        new Actions(driver).sendKeys("first one scans best").perform();
        new Actions(driver).keyDown(Keys.CONTROL).sendKeys(Keys.ENTER).keyUp(Keys.CONTROL).perform();
        wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("done-view")));
        assertTrue(driver.findElement(By.id("status")).getText().contains("Submitted item " + item),
                driver.findElement(By.id("status")).getText());

        a.ingestUntilCaughtUp(Duration.ofSeconds(60));
        assertEquals(1, Fixtures.count(a.infra().dataSource(), "SELECT count(*) FROM ranking_events r JOIN annotators a"
                + " ON a.id = r.annotator_id WHERE a.name = 'browser-ann' AND r.item_id = ? AND r.ranking = '{0,1,2}'"
                + " AND r.ties = '{1,2}' AND r.unsafe = '{2}' AND NOT r.skip AND r.source = 'web'"
                + " AND r.comment = 'first one scans best'", item));

        // the operator's view: annotators' progress, and no ranking controls
        String op = a.addAnnotator("browser-op", "operator").token();
        driver.executeScript("sessionStorage.clear()");
        driver.get(base + "/");
        driver.findElement(By.id("token")).sendKeys(op);
        driver.findElement(By.id("login")).click();
        wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("operator-view")));
        wait.until(d -> d.findElement(By.id("progress-table")).getText().contains("browser-ann"));
        assertFalse(driver.findElement(By.id("item-view")).isDisplayed());
    }

    /** At phone width the response text gets the width, the controls go below it. */
    @Test
    void phoneWidthKeepsTextReadable() throws Exception {
        Path cands = dir.resolve("phone.jsonl");
        Files.writeString(cands, "{\"prompt\": \"Say hi.\", \"responses\": [\"Hello there, nice to meet you today.\","
                + " \"Hi.\"], \"checkpoint\": \"c\"}\n");
        a.loadCandidates(cands, 1);
        String token = a.addAnnotator("browser-phone", "annotator").token();
        driver.manage().window().setSize(new org.openqa.selenium.Dimension(390, 844));
        WebDriverWait wait = new WebDriverWait(driver, Duration.ofSeconds(20));
        driver.get(base + "/");
        driver.findElement(By.id("token")).sendKeys(token);
        driver.findElement(By.id("login")).click();
        wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("item-view")));
        int width = driver.findElement(By.cssSelector("#responses li .text")).getSize().getWidth();
        assertTrue(width > 220, "response text column is " + width + " px wide at 390 px");
    }

    @Test
    void wrongTokenShowsAnError() {
        WebDriverWait wait = new WebDriverWait(driver, Duration.ofSeconds(20));
        driver.get(base + "/");
        driver.findElement(By.id("token")).sendKeys("seed_wrong");
        driver.findElement(By.id("login")).click();
        wait.until(d -> d.findElement(By.id("status")).getText().contains("unknown token"));
        assertTrue(driver.findElement(By.id("login-view")).isDisplayed());
    }

    /**
     * Issue 19's annotator workflow in a real Chromium: long responses side by side (columns, not stacked), a tie shown
     * as a shared rank, a half-made order that survives a reload (draft), a skip that asks for its reason (stored with
     * the event), a "try again" answer retried by the page itself, the summary at "All done", and sign out.
     */
    @Test
    void draftsSkipReasonsSideBySideRetryAndSignOut() throws Exception {
        String lorem = "This response goes on at length about the question, with detail after detail. ".repeat(8);
        Path cands = dir.resolve("flow.jsonl");
        Files.writeString(cands, "{\"prompt\": \"Explain tides.\", \"responses\": [\"A: " + lorem + "\", \"B: " + lorem
                + "\", \"C: " + lorem + "\"], \"checkpoint\": \"c\"}\n"
                + "{\"prompt\": \"Say hi.\", \"responses\": [\"Hi.\", \"Hello!\"], \"checkpoint\": \"c\"}\n");
        List<Long> items = a.loadCandidates(cands, 1).itemIds();
        var ann = a.addAnnotator("browser-flow", "annotator");
        for (long it : items) {
            a.catalog().assign(it, ann.annotator().id());
        }
        WebDriverWait wait = new WebDriverWait(driver, Duration.ofSeconds(20));
        driver.get(base + "/?undo_ms=300");
        driver.findElement(By.id("token")).sendKeys(ann.token());
        driver.findElement(By.id("login")).click();
        wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("item-view")));
        wait.until(d -> d.findElement(By.id("item-id")).getText().equals("item " + items.get(0)));

        // side by side: the long responses sit in one row of columns
        assertTrue(driver.findElement(By.id("responses")).getAttribute("class").contains("columns"));
        List<WebElement> lis = driver.findElements(By.cssSelector("#responses li"));
        assertEquals(lis.get(0).getLocation().getY(), lis.get(1).getLocation().getY(), "columns share a row");
        assertTrue(lis.get(1).getLocation().getX() > lis.get(0).getLocation().getX() + 200);

        // order 0, 1, 2; tie 2 with 1: both show rank 2
        place(0, 0);
        place(1, 1);
        wait.until(d -> order().equals(List.of(0, 1, 2)));
        driver.findElement(By.cssSelector("#responses li[data-index='2'] input.tie")).click();
        assertEquals(List.of("1", "2", "2"), driver.findElements(By.cssSelector("#responses li")).stream()
                .map(li -> li.getAttribute("data-rank")).toList());
        driver.findElement(By.id("comment")).sendKeys("half done");

        // a reload keeps the half-made order, the tie and the comment
        driver.navigate().refresh();
        wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("item-view")));
        wait.until(d -> d.findElement(By.id("status")).getText().contains("Draft restored"));
        assertEquals(List.of(0, 1, 2), order());
        assertTrue(driver.findElement(By.cssSelector("#responses li[data-index='2'] input.tie")).isSelected());
        assertEquals("half done", driver.findElement(By.id("comment")).getAttribute("value"));
        assertTrue(driver.findElement(By.id("submit")).isEnabled(), "the draft was touched, so it can be submitted");

        // skip asks why; no reason, no skip
        driver.findElement(By.id("skip")).click();
        wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("skip-box")));
        driver.findElement(By.id("skip-confirm")).click();
        wait.until(d -> d.findElement(By.id("status")).getText().contains("Choose why"));
        new org.openqa.selenium.support.ui.Select(driver.findElement(By.id("skip-reason"))).selectByValue("prompt");
        driver.findElement(By.id("skip-text")).sendKeys("it asks two things");
        driver.findElement(By.id("skip-confirm")).click();
        wait.until(d -> d.findElement(By.id("item-id")).getText().equals("item " + items.get(1)));
        assertFalse(driver.findElement(By.id("responses")).getAttribute("class").contains("columns"), "short ones stack");

        // a claim left by a crash: the page is told "in progress, retry in 2 s" and retries by itself
        java.util.UUID stranded = seed.annotation.core.EventIds.next();
        assertEquals(seed.annotation.core.Catalog.Claim.CLAIMED, a.catalog().claim(items.get(1), ann.annotator().id(), stranded));
        driver.findElement(By.id("keep")).click();
        // preference strength of the one pair: the response above is significantly better
        WebElement second = driver.findElements(By.cssSelector("#responses li")).get(1);
        new org.openqa.selenium.support.ui.Select(second.findElement(By.cssSelector("select.strength"))).selectByValue("4");
        driver.findElement(By.id("submit")).click();
        wait.until(d -> d.findElement(By.id("status")).getText().contains("trying again in"));
        a.catalog().releaseClaim(items.get(1), ann.annotator().id(), stranded); // what the reconciler does
        wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("done-view")));
        wait.until(d -> d.findElement(By.id("done-summary")).getText().contains("You submitted 2 items"));

        a.ingestUntilCaughtUp(Duration.ofSeconds(60));
        var ds = a.infra().dataSource();
        assertEquals(1, Fixtures.count(ds, "SELECT count(*) FROM ranking_events WHERE item_id = ? AND skip"
                + " AND comment = E'skipped: The prompt is unclear or broken: it asks two things\\nhalf done'", items.get(0)));
        assertEquals(1, Fixtures.count(ds, "SELECT count(*) FROM ranking_events WHERE item_id = ? AND NOT skip"
                + " AND strengths = '{4}'", items.get(1)));
        driver.findElement(By.id("refresh")).click();
        wait.until(d -> d.findElement(By.id("done-summary")).getText().contains("(1 skipped)"));
        // no draft is left behind for submitted items
        assertEquals(0L, ((Number) driver.executeScript("return Object.keys(localStorage).filter(k => k.startsWith('seed.draft.')"
                + " && (k.endsWith('." + items.get(0) + "') || k.endsWith('." + items.get(1) + "'))).length")).longValue());

        // history: both submissions, newest first, each shown read-only with Previous / Next
        driver.findElement(By.id("history-open-done")).click();
        wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("history-view")));
        List<WebElement> entries = driver.findElements(By.cssSelector("#history-list button"));
        assertEquals(2, entries.size());
        assertTrue(entries.get(0).getText().startsWith("item " + items.get(1) + " · #"), entries.get(0).getText());
        assertTrue(entries.get(1).getText().startsWith("item " + items.get(0) + " · skipped"), entries.get(1).getText());
        entries.get(1).click();
        wait.until(d -> d.findElement(By.id("history-outcome")).getText().equals("Skipped."));
        assertTrue(driver.findElement(By.id("history-comment")).getText().contains("The prompt is unclear or broken"));
        assertFalse(driver.findElement(By.id("history-prev")).isEnabled(), "the oldest has no previous");
        driver.findElement(By.id("history-next")).click();
        wait.until(d -> d.findElement(By.id("history-outcome")).getText().startsWith("Your ranking, best first: #"));
        assertEquals(2, driver.findElements(By.cssSelector("#history-responses li")).size());
        // edit it: the stored order comes back, one move, submit; the edit supersedes the stored event
        List<Integer> before = driver.findElements(By.cssSelector("#history-responses li")).stream()
                .map(li -> Integer.parseInt(li.getAttribute("data-index"))).toList();
        driver.findElement(By.id("history-edit")).click();
        wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("item-view")));
        assertTrue(driver.findElement(By.id("editing")).getText().contains("Editing your submitted ranking of item " + items.get(1)));
        assertEquals(before, order());
        driver.findElement(By.cssSelector("#responses li[data-index='" + before.get(0) + "'] button.down")).click();
        driver.findElement(By.id("submit")).click();
        wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("done-view")));
        assertTrue(driver.findElement(By.id("status")).getText().startsWith("Edited item " + items.get(1)),
                driver.findElement(By.id("status")).getText());
        a.ingestUntilCaughtUp(Duration.ofSeconds(60));
        assertEquals(2, Fixtures.count(ds, "SELECT count(*) FROM ranking_events WHERE item_id = ?", items.get(1)));
        assertEquals(1, Fixtures.count(ds, "SELECT count(*) FROM ranking_events r WHERE item_id = ? AND supersedes IS NOT NULL"
                + " AND ranking = ?::int[]", items.get(1), "{" + before.get(1) + "," + before.get(0) + "}"));

        // sign out: back to the sign-in form, the token forgotten
        driver.findElement(By.id("signout")).click();
        wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("login-view")));
        assertEquals(null, driver.executeScript("return sessionStorage.getItem('seed.token')"));
    }
}
