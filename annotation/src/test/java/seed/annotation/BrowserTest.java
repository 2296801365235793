package seed.annotation;

import static org.junit.jupiter.api.Assertions.assertEquals;
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

    static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");

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
        server = new AnnotationServer(a.catalog(), a.submissions());
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

    @Test
    void annotatorRanksInTheBrowserAndTheRowLandsInPostgres() throws Exception {
        Path cands = dir.resolve("cands.jsonl");
        Files.writeString(cands, "{\"prompt\": \"Write a haiku about autumn.\", \"responses\": ["
                + "\"Leaves drift on cold wind / the maple lets go of red / evening comes early\", "
                + "\"Autumn is a season.\", \"Pumpkin spice everything, forever and ever.\"], \"checkpoint\": \"runs/sft/ckpt-3\"}\n");
        long item = a.loadCandidates(cands, 1).itemIds().get(0);
        String token = a.addAnnotator("browser-ann", "annotator").token();

        WebDriverWait wait = new WebDriverWait(driver, Duration.ofSeconds(20));
        driver.get(base + "/");
        driver.findElement(By.id("token")).sendKeys(token);
        driver.findElement(By.id("login")).click();
        wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("item-view")));
        assertEquals("Write a haiku about autumn.", driver.findElement(By.id("prompt")).getText());
        assertEquals(List.of(0, 1, 2), order());

        // drag and drop: the last response onto the first
        List<WebElement> lis = driver.findElements(By.cssSelector("#responses li"));
        new Actions(driver).dragAndDrop(lis.get(2), lis.get(0)).perform();
        wait.until(d -> order().equals(List.of(2, 0, 1)));
        // keyboard: focus the now-first response (2) and move it down once -> [0, 2, 1]
        WebElement first = driver.findElements(By.cssSelector("#responses li")).get(0);
        first.click();
        first.sendKeys(Keys.ARROW_DOWN);
        wait.until(d -> order().equals(List.of(0, 2, 1)));
        // button: response 1 is last; its up button moves it above 2 -> [0, 1, 2]
        driver.findElement(By.cssSelector("#responses li[data-index='1'] button.up")).click();
        wait.until(d -> order().equals(List.of(0, 1, 2)));
        // tie: response 2 (last) with the one above (1); unsafe: response 2
        driver.findElement(By.cssSelector("#responses li[data-index='2'] input.tie")).click();
        driver.findElement(By.cssSelector("#responses li[data-index='2'] input.unsafe")).click();
        Path shot = Path.of("target", "annotator-page.png");
        Files.createDirectories(shot.getParent());
        Files.copy(driver.getScreenshotAs(OutputType.FILE).toPath(), shot, StandardCopyOption.REPLACE_EXISTING);

        driver.findElement(By.id("submit")).click();
        wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("done-view")));
        assertTrue(driver.findElement(By.id("status")).getText().contains("Submitted item " + item),
                driver.findElement(By.id("status")).getText());

        a.ingestUntilCaughtUp(Duration.ofSeconds(60));
        assertEquals(1, Fixtures.count(a.infra().dataSource(), "SELECT count(*) FROM ranking_events r JOIN annotators a"
                + " ON a.id = r.annotator_id WHERE a.name = 'browser-ann' AND r.item_id = ? AND r.ranking = '{0,1,2}'"
                + " AND r.ties = '{1,2}' AND r.unsafe = '{2}' AND NOT r.skip AND r.source = 'web'", item));
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
}
