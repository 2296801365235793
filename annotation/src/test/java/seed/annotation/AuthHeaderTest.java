package seed.annotation;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import seed.annotation.web.AuthHeader;

/** The header forms every Seed HTTP server accepts, and the malformed ones it must not mistake for a token. */
class AuthHeaderTest {

    static String basic(String userColonPassword) {
        return "Basic " + Base64.getEncoder().encodeToString(userColonPassword.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void bearerAndBasicForms() {
        assertEquals(Optional.of("seed_abc"), AuthHeader.token("Bearer seed_abc"));
        assertEquals(Optional.of("seed_abc"), AuthHeader.token("bearer seed_abc"));
        assertEquals(Optional.of("seed_abc"), AuthHeader.token("BEARER   seed_abc  "));
        assertEquals(Optional.of("seed_abc"), AuthHeader.token(basic("alice:seed_abc")));
        assertEquals(Optional.of("seed_abc"), AuthHeader.token(basic(":seed_abc")));
        assertEquals(Optional.of("seed:abc"), AuthHeader.token(basic("alice:seed:abc")), "only the first colon splits");
        assertEquals(Optional.of("seed_abc"), AuthHeader.token("basic " + basic("u:seed_abc").substring(6)));
    }

    @Test
    void malformedIsEmpty() {
        assertEquals(Optional.empty(), AuthHeader.token(null));
        assertEquals(Optional.empty(), AuthHeader.token(""));
        assertEquals(Optional.empty(), AuthHeader.token("Bearer"));
        assertEquals(Optional.empty(), AuthHeader.token("Bearer "));
        assertEquals(Optional.empty(), AuthHeader.token("Bearer a b"));
        assertEquals(Optional.empty(), AuthHeader.token("seed_abc"));
        assertEquals(Optional.empty(), AuthHeader.token("Digest seed_abc"));
        assertEquals(Optional.empty(), AuthHeader.token("Basic not-base64!"));
        assertEquals(Optional.empty(), AuthHeader.token(basic("alice:")));
        assertEquals(Optional.empty(), AuthHeader.token("Bearer " + "x".repeat(2000)));
    }
}
