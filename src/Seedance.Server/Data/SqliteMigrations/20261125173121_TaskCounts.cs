using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Seedance.Server.Data.SqliteMigrations
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
                type: "INTEGER",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<int>(
                name: "tasks_completed",
                table: "api_keys",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<int>(
                name: "tasks_expired",
                table: "api_keys",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<int>(
                name: "tasks_failed",
                table: "api_keys",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<int>(
                name: "tasks_pending",
                table: "api_keys",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<int>(
                name: "tasks_processing",
                table: "api_keys",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<int>(
                name: "tasks_queued",
                table: "api_keys",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0);
            // The key's task counts, kept by the database in the transaction that inserts, moves or deletes a task.
            migrationBuilder.Sql("""
                UPDATE api_keys SET tasks_pending = (SELECT count(*) FROM video_tasks t WHERE t.key_id = api_keys.id AND t.status = 'pending'), tasks_queued = (SELECT count(*) FROM video_tasks t WHERE t.key_id = api_keys.id AND t.status = 'queued'), tasks_processing = (SELECT count(*) FROM video_tasks t WHERE t.key_id = api_keys.id AND t.status = 'processing'), tasks_completed = (SELECT count(*) FROM video_tasks t WHERE t.key_id = api_keys.id AND t.status = 'completed'), tasks_failed = (SELECT count(*) FROM video_tasks t WHERE t.key_id = api_keys.id AND t.status = 'failed'), tasks_cancelled = (SELECT count(*) FROM video_tasks t WHERE t.key_id = api_keys.id AND t.status = 'cancelled'), tasks_expired = (SELECT count(*) FROM video_tasks t WHERE t.key_id = api_keys.id AND t.status = 'expired');
                """);
            migrationBuilder.Sql("""
                CREATE TRIGGER video_tasks_count_insert AFTER INSERT ON video_tasks BEGIN
                UPDATE api_keys SET
                tasks_pending = tasks_pending + (NEW.status = 'pending'),
                tasks_queued = tasks_queued + (NEW.status = 'queued'),
                tasks_processing = tasks_processing + (NEW.status = 'processing'),
                tasks_completed = tasks_completed + (NEW.status = 'completed'),
                tasks_failed = tasks_failed + (NEW.status = 'failed'),
                tasks_cancelled = tasks_cancelled + (NEW.status = 'cancelled'),
                tasks_expired = tasks_expired + (NEW.status = 'expired')
                WHERE id = NEW.key_id;
                END;
                """);
            migrationBuilder.Sql("""
                CREATE TRIGGER video_tasks_count_update AFTER UPDATE OF status ON video_tasks WHEN OLD.status IS NOT NEW.status BEGIN
                UPDATE api_keys SET
                tasks_pending = tasks_pending + (NEW.status = 'pending') - (OLD.status = 'pending'),
                tasks_queued = tasks_queued + (NEW.status = 'queued') - (OLD.status = 'queued'),
                tasks_processing = tasks_processing + (NEW.status = 'processing') - (OLD.status = 'processing'),
                tasks_completed = tasks_completed + (NEW.status = 'completed') - (OLD.status = 'completed'),
                tasks_failed = tasks_failed + (NEW.status = 'failed') - (OLD.status = 'failed'),
                tasks_cancelled = tasks_cancelled + (NEW.status = 'cancelled') - (OLD.status = 'cancelled'),
                tasks_expired = tasks_expired + (NEW.status = 'expired') - (OLD.status = 'expired')
                WHERE id = NEW.key_id;
                END;
                """);
            migrationBuilder.Sql("""
                CREATE TRIGGER video_tasks_count_delete AFTER DELETE ON video_tasks BEGIN
                UPDATE api_keys SET
                tasks_pending = tasks_pending - (OLD.status = 'pending'),
                tasks_queued = tasks_queued - (OLD.status = 'queued'),
                tasks_processing = tasks_processing - (OLD.status = 'processing'),
                tasks_completed = tasks_completed - (OLD.status = 'completed'),
                tasks_failed = tasks_failed - (OLD.status = 'failed'),
                tasks_cancelled = tasks_cancelled - (OLD.status = 'cancelled'),
                tasks_expired = tasks_expired - (OLD.status = 'expired')
                WHERE id = OLD.key_id;
                END;
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("DROP TRIGGER video_tasks_count_insert;");
            migrationBuilder.Sql("DROP TRIGGER video_tasks_count_update;");
            migrationBuilder.Sql("DROP TRIGGER video_tasks_count_delete;");

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
