using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Seedance.Server.Data.SqliteMigrations
{
    /// <inheritdoc />
    public partial class Initial : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "api_keys",
                columns: table => new
                {
                    id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    name = table.Column<string>(type: "TEXT", maxLength: 200, nullable: false),
                    key_hash = table.Column<byte[]>(type: "BLOB", nullable: false),
                    key_prefix = table.Column<string>(type: "TEXT", maxLength: 32, nullable: false),
                    enabled = table.Column<bool>(type: "INTEGER", nullable: false),
                    total_credits = table.Column<long>(type: "INTEGER", nullable: false),
                    used_credits = table.Column<long>(type: "INTEGER", nullable: false),
                    reserved_credits = table.Column<long>(type: "INTEGER", nullable: false),
                    max_concurrent = table.Column<int>(type: "INTEGER", nullable: false),
                    max_pending = table.Column<int>(type: "INTEGER", nullable: false),
                    rate_limit_per_second = table.Column<int>(type: "INTEGER", nullable: false),
                    created_at = table.Column<DateTime>(type: "TEXT", nullable: false),
                    updated_at = table.Column<DateTime>(type: "TEXT", nullable: false),
                    auth_changed_at = table.Column<DateTime>(type: "TEXT", nullable: false),
                    webhook_secret = table.Column<string>(type: "TEXT", maxLength: 64, nullable: true),
                    previous_webhook_secret = table.Column<string>(type: "TEXT", maxLength: 64, nullable: true),
                    previous_webhook_secret_until = table.Column<DateTime>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_api_keys", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "credit_ledger",
                columns: table => new
                {
                    id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    key_id = table.Column<long>(type: "INTEGER", nullable: false),
                    task_id = table.Column<string>(type: "TEXT", nullable: true),
                    kind = table.Column<string>(type: "TEXT", nullable: false),
                    amount = table.Column<long>(type: "INTEGER", nullable: false),
                    note = table.Column<string>(type: "TEXT", nullable: true),
                    created_at = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_credit_ledger", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "idempotency_records",
                columns: table => new
                {
                    key_id = table.Column<long>(type: "INTEGER", nullable: false),
                    idempotency_key = table.Column<string>(type: "TEXT", nullable: false),
                    request_hash = table.Column<byte[]>(type: "BLOB", nullable: false),
                    response_status = table.Column<int>(type: "INTEGER", nullable: false),
                    response_body = table.Column<string>(type: "TEXT", nullable: false),
                    created_at = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_idempotency_records", x => new { x.key_id, x.idempotency_key });
                });

            migrationBuilder.CreateTable(
                name: "uploaded_files",
                columns: table => new
                {
                    id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    key_id = table.Column<long>(type: "INTEGER", nullable: false),
                    file_path = table.Column<string>(type: "TEXT", nullable: false),
                    content_type = table.Column<string>(type: "TEXT", nullable: false),
                    size = table.Column<long>(type: "INTEGER", nullable: true),
                    created_at = table.Column<DateTime>(type: "TEXT", nullable: false),
                    expires_at = table.Column<DateTime>(type: "TEXT", nullable: false),
                    uploaded_at = table.Column<DateTime>(type: "TEXT", nullable: true),
                    referenced_at = table.Column<DateTime>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_uploaded_files", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "video_tasks",
                columns: table => new
                {
                    seq = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    task_id = table.Column<string>(type: "TEXT", maxLength: 32, nullable: false),
                    key_id = table.Column<long>(type: "INTEGER", nullable: false),
                    model = table.Column<string>(type: "TEXT", nullable: false),
                    status = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    resolution = table.Column<string>(type: "TEXT", nullable: false),
                    ratio = table.Column<string>(type: "TEXT", nullable: false),
                    duration = table.Column<int>(type: "INTEGER", nullable: false),
                    generate_audio = table.Column<bool>(type: "INTEGER", nullable: false),
                    seed = table.Column<long>(type: "INTEGER", nullable: true),
                    watermark = table.Column<bool>(type: "INTEGER", nullable: false),
                    return_last_frame = table.Column<bool>(type: "INTEGER", nullable: false),
                    callback_url = table.Column<string>(type: "TEXT", maxLength: 512, nullable: true),
                    submitted_base_url = table.Column<string>(type: "TEXT", nullable: true),
                    content_json = table.Column<string>(type: "TEXT", nullable: false),
                    credit_cost = table.Column<long>(type: "INTEGER", nullable: false),
                    error_code = table.Column<string>(type: "TEXT", nullable: true),
                    error_message = table.Column<string>(type: "TEXT", nullable: true),
                    provider = table.Column<string>(type: "TEXT", nullable: true),
                    provider_task_id = table.Column<string>(type: "TEXT", nullable: true),
                    video_file = table.Column<string>(type: "TEXT", nullable: true),
                    last_frame_file = table.Column<string>(type: "TEXT", nullable: true),
                    created_at = table.Column<DateTime>(type: "TEXT", nullable: false),
                    updated_at = table.Column<DateTime>(type: "TEXT", nullable: false),
                    expires_at = table.Column<DateTime>(type: "TEXT", nullable: false),
                    retry_at = table.Column<DateTime>(type: "TEXT", nullable: true),
                    dispatch_attempts = table.Column<int>(type: "INTEGER", nullable: false),
                    failed_checks = table.Column<int>(type: "INTEGER", nullable: false),
                    lease_owner = table.Column<string>(type: "TEXT", maxLength: 64, nullable: true),
                    lease_expires_at = table.Column<DateTime>(type: "TEXT", nullable: true),
                    hand_over_started_at = table.Column<DateTime>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_video_tasks", x => x.seq);
                });

            migrationBuilder.CreateTable(
                name: "webhook_deliveries",
                columns: table => new
                {
                    id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    webhook_id = table.Column<string>(type: "TEXT", maxLength: 40, nullable: false),
                    task_id = table.Column<string>(type: "TEXT", maxLength: 32, nullable: false),
                    key_id = table.Column<long>(type: "INTEGER", nullable: false),
                    url = table.Column<string>(type: "TEXT", maxLength: 512, nullable: false),
                    payload = table.Column<string>(type: "TEXT", nullable: false),
                    status = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    attempts = table.Column<int>(type: "INTEGER", nullable: false),
                    next_attempt_at = table.Column<DateTime>(type: "TEXT", nullable: false),
                    lease_owner = table.Column<string>(type: "TEXT", maxLength: 64, nullable: true),
                    lease_expires_at = table.Column<DateTime>(type: "TEXT", nullable: true),
                    last_status = table.Column<int>(type: "INTEGER", nullable: true),
                    last_error = table.Column<string>(type: "TEXT", maxLength: 500, nullable: true),
                    created_at = table.Column<DateTime>(type: "TEXT", nullable: false),
                    delivered_at = table.Column<DateTime>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_webhook_deliveries", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "webhook_attempts",
                columns: table => new
                {
                    id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    delivery_id = table.Column<long>(type: "INTEGER", nullable: false),
                    number = table.Column<int>(type: "INTEGER", nullable: false),
                    attempted_at = table.Column<DateTime>(type: "TEXT", nullable: false),
                    http_status = table.Column<int>(type: "INTEGER", nullable: true),
                    error = table.Column<string>(type: "TEXT", maxLength: 500, nullable: true),
                    duration_ms = table.Column<int>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_webhook_attempts", x => x.id);
                    table.ForeignKey(
                        name: "FK_webhook_attempts_webhook_deliveries_delivery_id",
                        column: x => x.delivery_id,
                        principalTable: "webhook_deliveries",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "ix_api_keys_auth_changed_at",
                table: "api_keys",
                column: "auth_changed_at");

            migrationBuilder.CreateIndex(
                name: "ix_api_keys_key_hash",
                table: "api_keys",
                column: "key_hash",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_credit_ledger_key_id_id",
                table: "credit_ledger",
                columns: new[] { "key_id", "id" });

            migrationBuilder.CreateIndex(
                name: "ix_credit_ledger_task_id",
                table: "credit_ledger",
                column: "task_id");

            migrationBuilder.CreateIndex(
                name: "ix_idempotency_records_created_at",
                table: "idempotency_records",
                column: "created_at");

            migrationBuilder.CreateIndex(
                name: "ix_uploaded_files_file_path",
                table: "uploaded_files",
                column: "file_path",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_video_tasks_key_id_seq",
                table: "video_tasks",
                columns: new[] { "key_id", "seq" });

            migrationBuilder.CreateIndex(
                name: "ix_video_tasks_key_id_status_seq",
                table: "video_tasks",
                columns: new[] { "key_id", "status", "seq" });

            migrationBuilder.CreateIndex(
                name: "ix_video_tasks_lease_owner",
                table: "video_tasks",
                column: "lease_owner");

            migrationBuilder.CreateIndex(
                name: "ix_video_tasks_status_expires_at",
                table: "video_tasks",
                columns: new[] { "status", "expires_at" });

            migrationBuilder.CreateIndex(
                name: "ix_video_tasks_status_key_id_seq",
                table: "video_tasks",
                columns: new[] { "status", "key_id", "seq" });

            migrationBuilder.CreateIndex(
                name: "ix_video_tasks_task_id",
                table: "video_tasks",
                column: "task_id",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_webhook_attempts_delivery_id_number",
                table: "webhook_attempts",
                columns: new[] { "delivery_id", "number" });

            migrationBuilder.CreateIndex(
                name: "ix_webhook_deliveries_lease_owner",
                table: "webhook_deliveries",
                column: "lease_owner");

            migrationBuilder.CreateIndex(
                name: "ix_webhook_deliveries_status_next_attempt_at",
                table: "webhook_deliveries",
                columns: new[] { "status", "next_attempt_at" });

            migrationBuilder.CreateIndex(
                name: "ix_webhook_deliveries_task_id_id",
                table: "webhook_deliveries",
                columns: new[] { "task_id", "id" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "api_keys");

            migrationBuilder.DropTable(
                name: "credit_ledger");

            migrationBuilder.DropTable(
                name: "idempotency_records");

            migrationBuilder.DropTable(
                name: "uploaded_files");

            migrationBuilder.DropTable(
                name: "video_tasks");

            migrationBuilder.DropTable(
                name: "webhook_attempts");

            migrationBuilder.DropTable(
                name: "webhook_deliveries");
        }
    }
}
