package seed.stages.curate;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Replaces personal data with placeholders: e-mail addresses, phone numbers (North-American and international
 * forms: "+44 20 7946 0958", "(555) 123-4567", "555.123.4567") and IPv4 addresses. The patterns only run on documents
 * that can hold a match (an "@" for e-mail, seven digits for phones and addresses), so most text costs one scan.
 */
final class PiiScrub {

    /** The placeholders; empty settings turn a kind off. */
    record Settings(String email, String phone, String ip) {
        static Settings from(SettingValues v) {
            return new Settings(v.text("pii_email", "<EMAIL>"), v.text("pii_phone", "<PHONE>"),
                    v.text("pii_ip", "<IP>"));
        }
    }

    /** A scrubbed text and how many of each kind were replaced. */
    record Result(String text, int emails, int phones, int ips) {
        int total() {
            return emails + phones + ips;
        }
    }

    private static final Pattern EMAIL = Pattern.compile(
            "[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,}");
    private static final Pattern IPV4 = Pattern.compile(
            "(?<![\\d.])(?:(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.){3}(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(?![\\d.]\\d)");
    private static final Pattern PHONE = Pattern.compile(
            "(?<![\\w+])(?:\\+\\d{1,3}[ .-]?(?:\\(?\\d{1,4}\\)?[ .-]?)?\\d{2,4}[ .-]?\\d{3,4}(?:[ .-]?\\d{2,4})?"
                    + "|(?:\\(\\d{3}\\) ?|\\d{3}[ .-])\\d{3}[ .-]\\d{4})(?!\\w)");

    private final Settings s;

    PiiScrub(Settings settings) {
        this.s = settings;
    }

    Result apply(String text) {
        int digits = 0;
        boolean at = false;
        for (int i = 0, n = text.length(); i < n; i++) {
            char c = text.charAt(i);
            if (c >= '0' && c <= '9') {
                digits++;
            } else if (c == '@') {
                at = true;
            }
        }
        int[] counts = new int[3];
        String out = text;
        if (at && !s.email().isEmpty()) {
            out = replace(EMAIL, out, s.email(), counts, 0);
        }
        if (digits >= 4 && !s.ip().isEmpty()) {
            out = replace(IPV4, out, s.ip(), counts, 2);
        }
        if (digits >= 7 && !s.phone().isEmpty()) {
            out = replace(PHONE, out, s.phone(), counts, 1);
        }
        return new Result(out, counts[0], counts[1], counts[2]);
    }

    private static String replace(Pattern p, String text, String placeholder, int[] counts, int kind) {
        Matcher m = p.matcher(text);
        if (!m.find()) {
            return text;
        }
        StringBuilder sb = new StringBuilder(text.length());
        do {
            counts[kind]++;
            m.appendReplacement(sb, Matcher.quoteReplacement(placeholder));
        } while (m.find());
        m.appendTail(sb);
        return sb.toString();
    }
}
