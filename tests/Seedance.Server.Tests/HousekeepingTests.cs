using Microsoft.EntityFrameworkCore;
using Seedance.Server.Data;
using Seedance.Server.Operations;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests;

public sealed class HousekeepingTests
{
    [Fact]
    public async Task StaleIdempotencyAnswersAndUnusedExpiredUploadSlotsAreForgottenWhileLiveOnesStay()
    {
        await using var server = await RunningServer.StartAsync();
        using var client = await server.CreateKeyAsync();
        var now = DateTime.UtcNow;
        await server.WriteDirectlyAsync(async db =>
        {
            IdempotencyRecord Answer(string key, DateTime at) => new()
            {
                KeyId = client.KeyId, IdempotencyKey = key, RequestHash = [1], ResponseBody = "{}", ResponseStatus = 200, CreatedAt = at,
            };
            UploadedFile Slot(string name, DateTime expires, DateTime? uploaded) => new()
            {
                KeyId = client.KeyId, FilePath = $"api/uploads/{client.KeyId}/{name}", ContentType = "image/png",
                CreatedAt = now, ExpiresAt = expires, UploadedAt = uploaded,
            };
            db.IdempotencyRecords.AddRange(Answer("stale", now.AddHours(-25)), Answer("live", now.AddHours(-23)));
            db.Uploads.AddRange(Slot("expired-unused.png", now.AddMinutes(-1), null), Slot("pending.png", now.AddMinutes(30), null),
                Slot("expired-uploaded.png", now.AddMinutes(-1), now.AddMinutes(-2)));
            return await db.SaveChangesAsync();
        });

        await server.Services.GetRequiredService<Housekeeping>().RunOnceAsync(CancellationToken.None);

        await using (var scope = server.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<SeedanceDb>();
            Assert.Equal(["live"], await db.IdempotencyRecords.Select(r => r.IdempotencyKey).ToListAsync());
            var slots = await db.Uploads.Select(f => f.FilePath).OrderBy(p => p).ToListAsync();
            Assert.Equal([$"api/uploads/{client.KeyId}/expired-uploaded.png", $"api/uploads/{client.KeyId}/pending.png"], slots);
        }
    }
}
