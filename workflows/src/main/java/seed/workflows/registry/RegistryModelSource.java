package seed.workflows.registry;

import java.nio.file.Path;
import java.util.Optional;
import javax.sql.DataSource;
import seed.annotation.infra.Infra;
import seed.annotation.infra.InfraConfig;
import seed.stages.serve.ModelSource;

/**
 * What a registry alias names, for {@code seed serve --alias}: the registry implements the serving side's
 * {@link ModelSource}, so {@code stages} never imports JDBC. Each {@link #current} is one small query; the server's
 * watcher polls it.
 */
public final class RegistryModelSource implements ModelSource {

    private final ModelRegistry registry;
    private final String alias;
    private final String where;
    private final AutoCloseable owned;

    public RegistryModelSource(DataSource ds, String alias, String where, AutoCloseable owned) {
        this.registry = new ModelRegistry(ds);
        this.alias = ModelRegistry.checkAlias(alias);
        this.where = where;
        this.owned = owned;
    }

    /**
     * The source of {@code alias} in the registry Seed's other commands use. When a {@code seed server} owns it
     * (SEED_SERVER=URL, or a live server.json in SEED_WORK, default the data dir's parent) its operator API is asked
     * ({@link ServerModelSource}, token from SEED_TOKEN or the work folder's operator.token): the server's PostgreSQL
     * and Kafka cannot be started a second time. Otherwise SEED_JDBC_URL (and _USER, _PASSWORD) when set, else the
     * embedded services under SEED_DATA_DIR (default {@code .seed/annotation}).
     */
    public static ModelSource open(String alias) throws Exception {
        InfraConfig config = InfraConfig.fromEnv(System.getenv(), Path.of(".seed/annotation"));
        String work = System.getenv("SEED_WORK");
        Path owner = work != null && !work.isBlank() ? Path.of(work)
                : config.dataDir().toAbsolutePath().normalize().getParent();
        Optional<seed.workflows.cli.OperatorClient> server = seed.workflows.cli.OperatorClient.live(
                blankToNull(System.getenv("SEED_SERVER")), blankToNull(System.getenv("SEED_TOKEN")), owner);
        if (server.isPresent()) {
            return new ServerModelSource(server.get(), alias);
        }
        Infra infra = Infra.start(config);
        return new RegistryModelSource(infra.dataSource(), alias, config.jdbcUrl() != null ? config.jdbcUrl()
                : "the embedded PostgreSQL under " + config.dataDir(), infra);
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s;
    }

    @Override
    public Optional<Ref> current() {
        return registry.current(alias).map(e -> new Ref(e.modelId(), Path.of(e.path())));
    }

    @Override
    public String describe() {
        return "registry alias " + alias + " (" + where + ")";
    }

    @Override
    public void close() {
        if (owned != null) {
            try {
                owned.close();
            } catch (Exception e) {
                throw new IllegalStateException("closing " + describe() + ": " + e.getMessage(), e);
            }
        }
    }
}
