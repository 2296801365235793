package seed.workflows.cli;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.JarOutputStream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code seed plugin package}: the one jar a Kestra cluster's workers put in their plugins folder to run Seed's tasks:
 * Seed's modules and the libraries they need that Kestra does not already provide (DJL with libtorch, the Kafka
 * client, the PostgreSQL driver, ...), with {@code META-INF/services} files merged so Kestra finds every task.
 */
@Command(name = "plugin", mixinStandardHelpOptions = true, description = "Kestra plugin jar for Seed's tasks.")
public final class PluginCommand implements Runnable {

    @Override
    public void run() {
        new picocli.CommandLine(this).usage(System.out);
    }

    /** Libraries the Kestra worker already has (or that tasks never touch and would only clash there). */
    static final List<String> PROVIDED_PREFIXES = List.of("core-", "model-", "tests-", "processor-", "script-",
            "repository-", "runner-", "storage-", "jdbc-", "executor-", "scheduler-", "worker-", "micronaut-",
            "jackson-", "slf4j-", "logback-", "reactor-", "reactive-streams-", "lombok-", "h2-", "kestra-api-client-",
            "javalin-", "jetty-", "websocket-", "swagger-", "jakarta.", "jul-to-slf4j-", "log4j-", "netty-", "guava-",
            "junit-", "opentest4j-", "apiguardian-");

    /** Builds the plugin jar. */
    @Command(name = "package", mixinStandardHelpOptions = true,
            description = "Build the plugin jar Kestra workers load (prints plugin=PATH).")
    public static final class Package implements Callable<Integer> {

        @Option(names = "--out", defaultValue = "target/plugins", description = "folder (default: ${DEFAULT-VALUE})")
        Path out;

        @Override
        public Integer call() throws Exception {
            List<Path> jars = new ArrayList<>();
            for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
                Path p = Path.of(entry);
                String name = p.getFileName().toString();
                if (Files.isRegularFile(p) && name.endsWith(".jar")
                        && (name.startsWith("seed") || PROVIDED_PREFIXES.stream().noneMatch(name::startsWith))) {
                    jars.add(p);
                }
            }
            if (jars.stream().noneMatch(j -> j.getFileName().toString().equals("seed.jar"))) {
                throw new IllegalStateException("run through bin/seed: seed.jar is not on the class path");
            }
            Files.createDirectories(out);
            Path target = out.resolve("seed-kestra-plugin.jar");
            Path tmp = out.resolve(".seed-kestra-plugin.jar.tmp");
            long entries = merge(jars, tmp);
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            System.out.println("jars=" + jars.size());
            System.out.println("entries=" + entries);
            System.out.println("size_mib=" + Files.size(target) / (1 << 20));
            System.out.println("plugin=" + target.toAbsolutePath());
            return 0;
        }
    }

    /** Copies every jar's entries once (first wins), merging service files and dropping signatures. */
    static long merge(List<Path> jars, Path target) throws IOException {
        Set<String> seen = new HashSet<>();
        Map<String, StringBuilder> services = new LinkedHashMap<>();
        long n = 0;
        try (OutputStream fos = Files.newOutputStream(target); JarOutputStream jar = new JarOutputStream(fos)) {
            for (Path p : jars) {
                try (JarFile in = new JarFile(p.toFile())) {
                    for (JarEntry e : java.util.Collections.list(in.entries())) {
                        String name = e.getName();
                        if (e.isDirectory() || name.equals("META-INF/MANIFEST.MF") || name.endsWith("module-info.class")
                                || name.matches("META-INF/[^/]+\\.(SF|RSA|DSA|EC)")) {
                            continue;
                        }
                        if (name.startsWith("META-INF/services/")) {
                            try (InputStream s = in.getInputStream(e)) {
                                services.computeIfAbsent(name, k -> new StringBuilder())
                                        .append(new String(s.readAllBytes(), StandardCharsets.UTF_8)).append('\n');
                            }
                            continue;
                        }
                        if (seen.add(name)) {
                            jar.putNextEntry(new JarEntry(name));
                            try (InputStream s = in.getInputStream(e)) {
                                s.transferTo(jar);
                            }
                            jar.closeEntry();
                            n++;
                        }
                    }
                }
            }
            for (Map.Entry<String, StringBuilder> s : services.entrySet()) {
                jar.putNextEntry(new JarEntry(s.getKey()));
                jar.write(s.getValue().toString().getBytes(StandardCharsets.UTF_8));
                jar.closeEntry();
                n++;
            }
        }
        return n;
    }
}
