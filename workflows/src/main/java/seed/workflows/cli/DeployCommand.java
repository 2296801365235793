package seed.workflows.cli;

import io.kestra.sdk.KestraClient;
import io.kestra.sdk.internal.ApiException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import seed.workflows.engine.SeedEngine;

/**
 * {@code seed deploy}: pushes Seed's flows to an external Kestra with Kestra's own Java SDK (validate all first,
 * then update each flow, creating it when the cluster does not have it yet). The cluster's workers need Seed's
 * plugin jar ({@code seed plugin package}) to run the tasks.
 */
@Command(name = "deploy", mixinStandardHelpOptions = true,
        description = "Validate and push Seed's flows to a Kestra server with Kestra's Java API client.")
public final class DeployCommand implements Callable<Integer> {

    @Option(names = "--kestra-url", required = true, description = "Kestra's base URL, e.g. http://kestra:8080")
    String url;

    @Option(names = "--namespace", defaultValue = "seed", description = "namespace to deploy into (default: "
            + "${DEFAULT-VALUE})")
    String namespace;

    @Option(names = "--tenant", defaultValue = "main", description = "tenant (default: ${DEFAULT-VALUE})")
    String tenant;

    @Option(names = "--token", description = "API token (default: KESTRA_TOKEN)")
    String token;

    @Option(names = "--user", description = "basic-auth user (with --password) instead of a token")
    String user;

    @Option(names = "--password", description = "basic-auth password")
    String password;

    @Override
    public Integer call() throws Exception {
        KestraClient.KestraClientBuilder b = KestraClient.builder().url(url.replaceAll("/+$", ""));
        String tok = token != null ? token : System.getenv("KESTRA_TOKEN");
        if (user != null) {
            b.basicAuth(user, password == null ? "" : password);
        } else if (tok != null) {
            b.tokenAuth(tok);
        }
        KestraClient client = b.build();
        Map<String, String> flows = flows(namespace);
        try {
            var problems = client.flows().validateFlows(tenant, String.join("\n---\n", flows.values()));
            for (var v : problems) {
                if (v.getConstraints() != null && !v.getConstraints().isBlank()) {
                    System.err.println("seed deploy: Kestra refuses flow " + v.getFlow() + ": " + v.getConstraints());
                    return 1;
                }
            }
            for (Map.Entry<String, String> f : flows.entrySet()) {
                String verb;
                try {
                    client.flows().updateFlow(namespace, f.getKey(), tenant, f.getValue()); // (namespace, id, tenant, yaml)
                    verb = "updated";
                } catch (ApiException e) {
                    if (e.getCode() != 404) {
                        throw e;
                    }
                    client.flows().createFlow(tenant, f.getValue());
                    verb = "created";
                }
                System.out.println(verb + " " + namespace + "." + f.getKey());
            }
        } catch (ApiException e) {
            System.err.println("seed deploy: Kestra at " + url + " answered " + e.getCode() + ": " + e.getMessage());
            return 1;
        }
        System.out.println("deployed=" + flows.size());
        return 0;
    }

    private static final Pattern ID = Pattern.compile("(?m)^id:\\s*(\\S+)\\s*$");

    /** Seed's flows by id, moved into {@code namespace} (their subflow calls too). */
    static Map<String, String> flows(String namespace) throws IOException {
        Map<String, String> out = new LinkedHashMap<>();
        for (String file : SeedEngine.FLOW_FILES) {
            try (InputStream in = DeployCommand.class.getResourceAsStream("/flows/" + file)) {
                if (in == null) {
                    throw new IOException("flow " + file + " missing from the jar");
                }
                String yaml = new String(in.readAllBytes(), StandardCharsets.UTF_8)
                        .replaceAll("(?m)^(\\s*)namespace: seed\\s*$", "$1namespace: " + namespace);
                Matcher m = ID.matcher(yaml);
                if (!m.find()) {
                    throw new IOException("flow " + file + " has no top-level id");
                }
                out.put(m.group(1), yaml);
            }
        }
        return out;
    }
}
