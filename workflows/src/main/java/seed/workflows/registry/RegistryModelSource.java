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
     * The source of {@code alias} in the registry Seed's other commands use: SEED_JDBC_URL (and _USER, _PASSWORD)
     * when set, else the embedded services under SEED_DATA_DIR (default {@code .seed/annotation}).
     */
    public static RegistryModelSource open(String alias) {
        InfraConfig config = InfraConfig.fromEnv(System.getenv(), Path.of(".seed/annotation"));
        Infra infra = Infra.start(config);
        return new RegistryModelSource(infra.dataSource(), alias, config.jdbcUrl() != null ? config.jdbcUrl()
                : "the embedded PostgreSQL under " + config.dataDir(), infra);
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
