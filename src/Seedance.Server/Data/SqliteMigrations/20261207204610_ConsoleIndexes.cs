using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Seedance.Server.Data.SqliteMigrations
{
    /// <inheritdoc />
    public partial class ConsoleIndexes : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            // Tasks that ended before their end was recorded (migration TaskTimings) take their last change as their end, so that
            // the index of ended tasks, the reports of a period's ends and an operator's search by an end status hold them too.
            migrationBuilder.Sql("UPDATE video_tasks SET finished_at = updated_at WHERE finished_at IS NULL AND status IN ('completed', 'failed', 'cancelled', 'expired')");

            migrationBuilder.CreateIndex(
                name: "ix_video_tasks_created_at",
                table: "video_tasks",
                column: "created_at");

            migrationBuilder.CreateIndex(
                name: "ix_video_tasks_ended",
                table: "video_tasks",
                columns: new[] { "status", "finished_at", "created_at", "duration" },
                filter: "finished_at IS NOT NULL");

            migrationBuilder.CreateIndex(
                name: "ix_video_tasks_key_id_created_at",
                table: "video_tasks",
                columns: new[] { "key_id", "created_at" });

            migrationBuilder.CreateIndex(
                name: "ix_credit_ledger_captures",
                table: "credit_ledger",
                columns: new[] { "kind", "created_at", "key_id", "amount" },
                filter: "kind = 'capture'");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_video_tasks_created_at",
                table: "video_tasks");

            migrationBuilder.DropIndex(
                name: "ix_video_tasks_ended",
                table: "video_tasks");

            migrationBuilder.DropIndex(
                name: "ix_video_tasks_key_id_created_at",
                table: "video_tasks");

            migrationBuilder.DropIndex(
                name: "ix_credit_ledger_captures",
                table: "credit_ledger");
        }
    }
}
