package seed.migrations;

import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.output.MigrateResult;

/**
 * The one call that brings a PostgreSQL database to Seed's current schema. The SQL lives in plain numbered files
 * under {@code classpath:seed/db/migration} (its own folder, so it never mixes with Kestra's Flyway files).
 */
public final class Migrations {

    /** Classpath location of Seed's SQL migrations. */
    public static final String LOCATION = "classpath:seed/db/migration";

    private Migrations() {
    }

    /**
     * Applies every pending migration and validates the applied ones (checksums): safe to call at every start.
     *
     * @return how many migrations this call applied (0 when the schema was already current)
     */
    public static int apply(DataSource dataSource) {
        MigrateResult result = Flyway.configure()
                .dataSource(dataSource)
                .locations(LOCATION)
                .table("seed_schema_history")
                .load()
                .migrate();
        return result.migrationsExecuted;
    }
}
