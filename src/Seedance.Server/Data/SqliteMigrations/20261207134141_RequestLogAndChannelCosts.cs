using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Seedance.Server.Data.SqliteMigrations
{
    /// <inheritdoc />
    public partial class RequestLogAndChannelCosts : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<long>(
                name: "cost_per_million_tokens",
                table: "upstream_channels",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "request_log",
                columns: table => new
                {
                    id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    at = table.Column<DateTime>(type: "TEXT", nullable: false),
                    key_id = table.Column<long>(type: "INTEGER", nullable: true),
                    method = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    route = table.Column<string>(type: "TEXT", maxLength: 200, nullable: true),
                    path = table.Column<string>(type: "TEXT", maxLength: 300, nullable: false),
                    status = table.Column<int>(type: "INTEGER", nullable: false),
                    code = table.Column<string>(type: "TEXT", maxLength: 64, nullable: true),
                    latency_ms = table.Column<double>(type: "REAL", nullable: false),
                    request_id = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_request_log", x => x.id);
                });

            migrationBuilder.CreateIndex(
                name: "ix_request_log_at",
                table: "request_log",
                column: "at");

            migrationBuilder.CreateIndex(
                name: "ix_request_log_key_id_id",
                table: "request_log",
                columns: new[] { "key_id", "id" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "request_log");

            migrationBuilder.DropColumn(
                name: "cost_per_million_tokens",
                table: "upstream_channels");
        }
    }
}
