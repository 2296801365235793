package seed.annotation.web;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Locale;
import java.util.Optional;

/**
 * Reads a personal token out of an HTTP {@code Authorization} header value, for every Seed HTTP server (annotator
 * page, operator API, auditor page) so they all accept the same forms: {@code Bearer TOKEN} (scheme
 * case-insensitive, as RFC 9110 says) and {@code Basic base64(user:TOKEN)} (the token as the password; the user name
 * is ignored), which lets browsers' and curl's built-in Basic auth carry a token. Pass the result to
 * {@code Catalog.authenticate}.
 */
public final class AuthHeader {

    /** Longest header value looked at; real tokens are ~50 characters. */
    static final int MAX_LENGTH = 1024;

    private AuthHeader() {
    }

    /** The token in the header value, or empty when the value is missing, malformed or of another scheme. */
    public static Optional<String> token(String headerValue) {
        if (headerValue == null || headerValue.length() > MAX_LENGTH) {
            return Optional.empty();
        }
        String v = headerValue.strip();
        int sp = v.indexOf(' ');
        if (sp <= 0) {
            return Optional.empty();
        }
        String scheme = v.substring(0, sp).toLowerCase(Locale.ROOT);
        String rest = v.substring(sp + 1).strip();
        if (rest.isEmpty()) {
            return Optional.empty();
        }
        switch (scheme) {
            case "bearer" -> {
                return rest.indexOf(' ') >= 0 ? Optional.empty() : Optional.of(rest);
            }
            case "basic" -> {
                String decoded;
                try {
                    decoded = new String(Base64.getDecoder().decode(rest), StandardCharsets.UTF_8);
                } catch (IllegalArgumentException e) {
                    return Optional.empty();
                }
                int colon = decoded.indexOf(':');
                String token = colon < 0 ? decoded : decoded.substring(colon + 1);
                return token.isBlank() ? Optional.empty() : Optional.of(token);
            }
            default -> {
                return Optional.empty();
            }
        }
    }
}
