using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Seedance.Server.Data.PostgresMigrations
{
    /// <inheritdoc />
    public partial class ChannelNames : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.RenameColumn(
                name: "provider_task_id",
                table: "video_tasks",
                newName: "upstream_task_id");

            migrationBuilder.RenameColumn(
                name: "provider",
                table: "video_tasks",
                newName: "channel_name");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.RenameColumn(
                name: "upstream_task_id",
                table: "video_tasks",
                newName: "provider_task_id");

            migrationBuilder.RenameColumn(
                name: "channel_name",
                table: "video_tasks",
                newName: "provider");
        }
    }
}
