using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace Seedance.Server.Data.PostgresMigrations
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
                type: "bigint",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "request_log",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    key_id = table.Column<long>(type: "bigint", nullable: true),
                    method = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    route = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: true),
                    path = table.Column<string>(type: "character varying(300)", maxLength: 300, nullable: false),
                    status = table.Column<int>(type: "integer", nullable: false),
                    code = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: true),
                    latency_ms = table.Column<double>(type: "double precision", nullable: false),
                    request_id = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false)
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
