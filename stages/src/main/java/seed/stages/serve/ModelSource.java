package seed.stages.serve;

import java.nio.file.Path;
import java.util.Optional;

/**
 * Where {@code seed serve --alias NAME} learns which checkpoint to serve: the model registry (in {@code workflows},
 * on PostgreSQL) implements it, so serving never imports JDBC. {@link ModelWatcher} polls it and swaps the model when
 * what it names changes.
 */
public interface ModelSource extends AutoCloseable {

    /** A checkpoint the source names: the id clients see ({@code production@3f2a9c0b1d4e}) and its folder. */
    record Ref(String id, Path dir) {
    }

    /** What the source names now; empty while it names nothing. */
    Optional<Ref> current();

    /** A description for messages ("alias production of the registry at jdbc:..."). */
    String describe();

    @Override
    default void close() {
    }

    /** Opens the source of an alias ({@code seed serve --alias}); the command line wires the registry in. */
    @FunctionalInterface
    interface Resolver {
        ModelSource open(String alias) throws Exception;
    }
}
