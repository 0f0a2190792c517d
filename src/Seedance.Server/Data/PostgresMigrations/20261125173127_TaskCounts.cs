using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Seedance.Server.Data.PostgresMigrations
{
    /// <inheritdoc />
    public partial class TaskCounts : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<int>(
                name: "tasks_cancelled",
                table: "api_keys",
                type: "integer",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<int>(
                name: "tasks_completed",
                table: "api_keys",
                type: "integer",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<int>(
                name: "tasks_expired",
                table: "api_keys",
                type: "integer",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<int>(
                name: "tasks_failed",
                table: "api_keys",
                type: "integer",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<int>(
                name: "tasks_pending",
                table: "api_keys",
                type: "integer",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<int>(
                name: "tasks_processing",
                table: "api_keys",
                type: "integer",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<int>(
                name: "tasks_queued",
                table: "api_keys",
                type: "integer",
                nullable: false,
                defaultValue: 0);
            // The key's task counts, kept by the database in the transaction that inserts, moves or deletes a task.
            migrationBuilder.Sql("""
                UPDATE api_keys SET tasks_pending = (SELECT count(*) FROM video_tasks t WHERE t.key_id = api_keys.id AND t.status = 'pending'), tasks_queued = (SELECT count(*) FROM video_tasks t WHERE t.key_id = api_keys.id AND t.status = 'queued'), tasks_processing = (SELECT count(*) FROM video_tasks t WHERE t.key_id = api_keys.id AND t.status = 'processing'), tasks_completed = (SELECT count(*) FROM video_tasks t WHERE t.key_id = api_keys.id AND t.status = 'completed'), tasks_failed = (SELECT count(*) FROM video_tasks t WHERE t.key_id = api_keys.id AND t.status = 'failed'), tasks_cancelled = (SELECT count(*) FROM video_tasks t WHERE t.key_id = api_keys.id AND t.status = 'cancelled'), tasks_expired = (SELECT count(*) FROM video_tasks t WHERE t.key_id = api_keys.id AND t.status = 'expired');
                """);
            migrationBuilder.Sql("""
                CREATE FUNCTION count_video_tasks() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                IF TG_OP = 'INSERT' THEN
                UPDATE api_keys SET
                tasks_pending = tasks_pending + (NEW.status = 'pending')::int,
                tasks_queued = tasks_queued + (NEW.status = 'queued')::int,
                tasks_processing = tasks_processing + (NEW.status = 'processing')::int,
                tasks_completed = tasks_completed + (NEW.status = 'completed')::int,
                tasks_failed = tasks_failed + (NEW.status = 'failed')::int,
                tasks_cancelled = tasks_cancelled + (NEW.status = 'cancelled')::int,
                tasks_expired = tasks_expired + (NEW.status = 'expired')::int
                WHERE id = NEW.key_id;
                ELSIF TG_OP = 'DELETE' THEN
                UPDATE api_keys SET
                tasks_pending = tasks_pending - (OLD.status = 'pending')::int,
                tasks_queued = tasks_queued - (OLD.status = 'queued')::int,
                tasks_processing = tasks_processing - (OLD.status = 'processing')::int,
                tasks_completed = tasks_completed - (OLD.status = 'completed')::int,
                tasks_failed = tasks_failed - (OLD.status = 'failed')::int,
                tasks_cancelled = tasks_cancelled - (OLD.status = 'cancelled')::int,
                tasks_expired = tasks_expired - (OLD.status = 'expired')::int
                WHERE id = OLD.key_id;
                ELSE
                UPDATE api_keys SET
                tasks_pending = tasks_pending + (NEW.status = 'pending')::int - (OLD.status = 'pending')::int,
                tasks_queued = tasks_queued + (NEW.status = 'queued')::int - (OLD.status = 'queued')::int,
                tasks_processing = tasks_processing + (NEW.status = 'processing')::int - (OLD.status = 'processing')::int,
                tasks_completed = tasks_completed + (NEW.status = 'completed')::int - (OLD.status = 'completed')::int,
                tasks_failed = tasks_failed + (NEW.status = 'failed')::int - (OLD.status = 'failed')::int,
                tasks_cancelled = tasks_cancelled + (NEW.status = 'cancelled')::int - (OLD.status = 'cancelled')::int,
                tasks_expired = tasks_expired + (NEW.status = 'expired')::int - (OLD.status = 'expired')::int
                WHERE id = NEW.key_id;
                END IF;
                RETURN NULL;
                END
                $$;
                """);
            migrationBuilder.Sql("CREATE TRIGGER video_tasks_count AFTER INSERT OR DELETE ON video_tasks FOR EACH ROW EXECUTE FUNCTION count_video_tasks();");
            migrationBuilder.Sql("CREATE TRIGGER video_tasks_count_update AFTER UPDATE OF status ON video_tasks FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION count_video_tasks();");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("DROP TRIGGER video_tasks_count ON video_tasks;");
            migrationBuilder.Sql("DROP TRIGGER video_tasks_count_update ON video_tasks;");
            migrationBuilder.Sql("DROP FUNCTION count_video_tasks();");

            migrationBuilder.DropColumn(
                name: "tasks_cancelled",
                table: "api_keys");

            migrationBuilder.DropColumn(
                name: "tasks_completed",
                table: "api_keys");

            migrationBuilder.DropColumn(
                name: "tasks_expired",
                table: "api_keys");

            migrationBuilder.DropColumn(
                name: "tasks_failed",
                table: "api_keys");

            migrationBuilder.DropColumn(
                name: "tasks_pending",
                table: "api_keys");

            migrationBuilder.DropColumn(
                name: "tasks_processing",
                table: "api_keys");

            migrationBuilder.DropColumn(
                name: "tasks_queued",
                table: "api_keys");
        }
    }
}
