using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Seedance.Server.Data.SqliteMigrations
{
    /// <inheritdoc />
    public partial class Channels : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "upstream_channels",
                columns: table => new
                {
                    name = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    provider = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    base_url = table.Column<string>(type: "TEXT", maxLength: 500, nullable: true),
                    api_key_sealed = table.Column<string>(type: "TEXT", maxLength: 2000, nullable: true),
                    api_key_prefix = table.Column<string>(type: "TEXT", maxLength: 16, nullable: true),
                    models_json = table.Column<string>(type: "TEXT", nullable: false),
                    enabled = table.Column<bool>(type: "INTEGER", nullable: false),
                    draining = table.Column<bool>(type: "INTEGER", nullable: false),
                    priority = table.Column<int>(type: "INTEGER", nullable: false),
                    weight = table.Column<int>(type: "INTEGER", nullable: false),
                    max_concurrent = table.Column<int>(type: "INTEGER", nullable: false),
                    poll_interval_seconds = table.Column<double>(type: "REAL", nullable: false),
                    max_parallel_polls = table.Column<int>(type: "INTEGER", nullable: false),
                    timeout_seconds = table.Column<double>(type: "REAL", nullable: false),
                    inline_images = table.Column<bool>(type: "INTEGER", nullable: false),
                    allow_private_networks = table.Column<bool>(type: "INTEGER", nullable: false),
                    failures_before_cooldown = table.Column<int>(type: "INTEGER", nullable: false),
                    cooldown_seconds = table.Column<double>(type: "REAL", nullable: false),
                    version = table.Column<long>(type: "INTEGER", nullable: false),
                    created_at = table.Column<DateTime>(type: "TEXT", nullable: false),
                    updated_at = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_upstream_channels", x => x.name);
                });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "upstream_channels");
        }
    }
}
