using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Seedance.Server.Data.PostgresMigrations
{
    /// <inheritdoc />
    public partial class LimitsThumbnailsRetention : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<DateTime>(
                name: "results_removed_at",
                table: "video_tasks",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "thumbnail_file",
                table: "video_tasks",
                type: "text",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "daily_credit_limit",
                table: "api_keys",
                type: "bigint",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "monthly_credit_limit",
                table: "api_keys",
                type: "bigint",
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "result_retention_days",
                table: "api_keys",
                type: "integer",
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "spend_day",
                table: "api_keys",
                type: "integer",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<long>(
                name: "spend_day_credits",
                table: "api_keys",
                type: "bigint",
                nullable: false,
                defaultValue: 0L);

            migrationBuilder.AddColumn<int>(
                name: "spend_month",
                table: "api_keys",
                type: "integer",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<long>(
                name: "spend_month_credits",
                table: "api_keys",
                type: "bigint",
                nullable: false,
                defaultValue: 0L);

            migrationBuilder.CreateIndex(
                name: "ix_video_tasks_results_updated_at",
                table: "video_tasks",
                column: "updated_at",
                filter: "video_file IS NOT NULL");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_video_tasks_results_updated_at",
                table: "video_tasks");

            migrationBuilder.DropColumn(
                name: "results_removed_at",
                table: "video_tasks");

            migrationBuilder.DropColumn(
                name: "thumbnail_file",
                table: "video_tasks");

            migrationBuilder.DropColumn(
                name: "daily_credit_limit",
                table: "api_keys");

            migrationBuilder.DropColumn(
                name: "monthly_credit_limit",
                table: "api_keys");

            migrationBuilder.DropColumn(
                name: "result_retention_days",
                table: "api_keys");

            migrationBuilder.DropColumn(
                name: "spend_day",
                table: "api_keys");

            migrationBuilder.DropColumn(
                name: "spend_day_credits",
                table: "api_keys");

            migrationBuilder.DropColumn(
                name: "spend_month",
                table: "api_keys");

            migrationBuilder.DropColumn(
                name: "spend_month_credits",
                table: "api_keys");
        }
    }
}
