using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Seedance.Server.Data.PostgresMigrations
{
    /// <summary>
    /// The key's task counts change at commit: the counting triggers become deferred constraint triggers, so a
    /// transaction that inserts or moves a task locks the key's row (which every writer of that key waits on) only
    /// when it commits, and a submission can take that lock last with its reservation (see
    /// <c>SqlDialect.CountsTasksAtCommit</c>). The function and the counts are unchanged.
    /// </summary>
    public partial class TaskCountsAtCommit : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("DROP TRIGGER video_tasks_count ON video_tasks;");
            migrationBuilder.Sql("DROP TRIGGER video_tasks_count_update ON video_tasks;");
            migrationBuilder.Sql("CREATE CONSTRAINT TRIGGER video_tasks_count AFTER INSERT OR DELETE ON video_tasks DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION count_video_tasks();");
            migrationBuilder.Sql("CREATE CONSTRAINT TRIGGER video_tasks_count_update AFTER UPDATE OF status ON video_tasks DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION count_video_tasks();");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("DROP TRIGGER video_tasks_count ON video_tasks;");
            migrationBuilder.Sql("DROP TRIGGER video_tasks_count_update ON video_tasks;");
            migrationBuilder.Sql("CREATE TRIGGER video_tasks_count AFTER INSERT OR DELETE ON video_tasks FOR EACH ROW EXECUTE FUNCTION count_video_tasks();");
            migrationBuilder.Sql("CREATE TRIGGER video_tasks_count_update AFTER UPDATE OF status ON video_tasks FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION count_video_tasks();");
        }
    }
}
