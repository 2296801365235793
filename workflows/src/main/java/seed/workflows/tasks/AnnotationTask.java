package seed.workflows.tasks;

import io.kestra.core.models.property.Property;
import io.kestra.core.models.tasks.Output;
import io.kestra.core.runners.RunContext;
import io.swagger.v3.oas.annotations.media.Schema;
import java.nio.file.Path;
import lombok.Builder;
import lombok.EqualsAndHashCode;
import lombok.Getter;
import lombok.NoArgsConstructor;
import lombok.ToString;
import lombok.experimental.SuperBuilder;
import seed.annotation.Annotation;
import seed.annotation.infra.InfraConfig;

/**
 * A task that reads or writes the annotation store: it connects to the Kafka and PostgreSQL the engine was given
 * (embedded ones started by {@code seed run}/{@code seed server}, or external ones), never starts its own.
 */
@SuperBuilder
@ToString
@EqualsAndHashCode(callSuper = true)
@Getter
@NoArgsConstructor
public abstract class AnnotationTask<O extends Output> extends SeedTask<O> {

    @Schema(title = "PostgreSQL JDBC URL of the annotation store")
    @Builder.Default
    protected Property<String> jdbcUrl = Property.ofExpression("{{ globals.jdbc.url }}");

    @Schema(title = "PostgreSQL user")
    @Builder.Default
    protected Property<String> jdbcUser = Property.ofExpression("{{ globals.jdbc.user }}");

    @Schema(title = "PostgreSQL password")
    @Builder.Default
    protected Property<String> jdbcPassword = Property.ofExpression("{{ globals.jdbc.password }}");

    @Schema(title = "Kafka bootstrap servers of the rankings topic")
    @Builder.Default
    protected Property<String> kafkaBootstrap = Property.ofExpression("{{ globals.kafka.bootstrap }}");

    @Schema(title = "Folder for snapshot files")
    @Builder.Default
    protected Property<String> annotationData = Property.ofExpression("{{ globals.annotation.data }}");

    /** Connects to the configured services (migrating the schema if needed). */
    protected Annotation connect(RunContext rc) throws Exception {
        InfraConfig config = new InfraConfig(required(rc, kafkaBootstrap, "kafkaBootstrap"),
                required(rc, jdbcUrl, "jdbcUrl"), optional(rc, jdbcUser, String.class, null),
                optional(rc, jdbcPassword, String.class, null), Path.of(required(rc, annotationData, "annotationData")),
                InfraConfig.DEFAULT_TOPIC, 1);
        return Annotation.start(config);
    }
}
