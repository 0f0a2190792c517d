using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Seedance.Server.Data.PostgresMigrations
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
                    name = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    provider = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    base_url = table.Column<string>(type: "character varying(500)", maxLength: 500, nullable: true),
                    api_key_sealed = table.Column<string>(type: "character varying(2000)", maxLength: 2000, nullable: true),
                    api_key_prefix = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: true),
                    models_json = table.Column<string>(type: "text", nullable: false),
                    enabled = table.Column<bool>(type: "boolean", nullable: false),
                    draining = table.Column<bool>(type: "boolean", nullable: false),
                    priority = table.Column<int>(type: "integer", nullable: false),
                    weight = table.Column<int>(type: "integer", nullable: false),
                    max_concurrent = table.Column<int>(type: "integer", nullable: false),
                    poll_interval_seconds = table.Column<double>(type: "double precision", nullable: false),
                    max_parallel_polls = table.Column<int>(type: "integer", nullable: false),
                    timeout_seconds = table.Column<double>(type: "double precision", nullable: false),
                    inline_images = table.Column<bool>(type: "boolean", nullable: false),
                    allow_private_networks = table.Column<bool>(type: "boolean", nullable: false),
                    failures_before_cooldown = table.Column<int>(type: "integer", nullable: false),
                    cooldown_seconds = table.Column<double>(type: "double precision", nullable: false),
                    version = table.Column<long>(type: "bigint", nullable: false),
                    created_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    updated_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false)
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
