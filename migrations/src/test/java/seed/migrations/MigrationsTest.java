package seed.migrations;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Applies the schema to a real PostgreSQL 17 and checks the guarantees the schema itself must give. */
class MigrationsTest {

    static EmbeddedPostgres pg;
    static DataSource ds;

    @BeforeAll
    static void start() throws Exception {
        pg = EmbeddedPostgres.builder().start();
        ds = pg.getPostgresDatabase();
    }

    @AfterAll
    static void stop() throws Exception {
        if (pg != null) {
            pg.close();
        }
    }

    @Test
    void appliesOnceThenIsCurrent() throws SQLException {
        assertTrue(Migrations.apply(ds) >= 1);
        assertEquals(0, Migrations.apply(ds), "second apply must find nothing to do");
        try (Connection c = ds.getConnection(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT count(*) FROM information_schema.tables WHERE table_schema='public'"
                     + " AND table_name IN ('prompts','candidate_sets','annotation_items','annotators','assignments',"
                     + "'ranking_events','rejected_events','preference_snapshots','snapshot_members')")) {
            rs.next();
            assertEquals(9, rs.getInt(1));
        }
    }

    @Test
    void snapshotsAndDuplicatesAreRefusedByTheDatabase() throws SQLException {
        Migrations.apply(ds);
        try (Connection c = ds.getConnection(); Statement st = c.createStatement()) {
            st.execute("INSERT INTO prompts(text, sha256) VALUES ('p', repeat('a', 64))");
            st.execute("INSERT INTO candidate_sets(prompt_id, responses, checkpoint) SELECT id, ARRAY['x','y'], 'ck' FROM prompts");
            st.execute("INSERT INTO annotation_items(candidate_set_id, k, annotators_needed, assigned_count) SELECT id, 2, 1, 1 FROM candidate_sets");
            st.execute("INSERT INTO annotators(name, role, token_sha256) VALUES ('ann', 'annotator', repeat('b', 64))");
            st.execute("INSERT INTO assignments(item_id, annotator_id) SELECT i.id, a.id FROM annotation_items i, annotators a");
            String row = "INSERT INTO ranking_events(event_id, item_id, annotator_id, ranking, ties, skip, unsafe, source,"
                    + " submitted_at, kafka_partition, kafka_offset) SELECT '%s', i.id, a.id, '{1,0}', '{}', false, '{}',"
                    + " 'api', now(), 0, %d FROM annotation_items i, annotators a";
            st.execute(String.format(row, "00000000-0000-0000-0000-000000000001", 0));
            // same item and annotator with another event id: refused (never twice by the same person)
            assertThrows(SQLException.class, () -> st.execute(String.format(row, "00000000-0000-0000-0000-000000000002", 1)));
            st.execute("INSERT INTO preference_snapshots(watermark, count, sha256, path) VALUES (1, 1, repeat('c', 64), '/x')");
            SQLException e = assertThrows(SQLException.class, () -> st.execute("UPDATE preference_snapshots SET count = 2"));
            assertTrue(e.getMessage().contains("immutable"), e.getMessage());
            assertThrows(SQLException.class, () -> st.execute("DELETE FROM preference_snapshots"));
        }
    }
}
